// A disk that can lose power: powercut-fs (scripts/powercut, built by scripts/powercut-fs.sh) mounted over
// a backing directory. Data written and not yet fsynced lives in the daemon's memory; `cut()` kills the
// daemon (SIGKILL) and detaches its dead mount, which loses exactly those writes; `powerOn()` mounts a new
// daemon over what was synced.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(__dirname, '../..');

/** Builds the binary once into the project cache and returns its path. */
export function faultFsBinary(): string {
  return execFileSync('bash', [join(REPO, 'scripts/powercut-fs.sh')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop() as string;
}

/**
 * `ordered` (the default): a metadata change (create, rename, unlink, …) first writes back the unsynced
 * data, the order ext4's data=ordered journal keeps; `strict`: metadata goes through at once and data only
 * on fsync, stricter than any real disk (LazyFS's model). scripts/powercut/README.md says why both.
 */
export type FaultDiskMode = 'ordered' | 'strict';

export function faultDiskMode(value = process.env.POWER_CUT_FS ?? 'ordered'): FaultDiskMode {
  if (value !== 'ordered' && value !== 'strict')
    throw new Error(`POWER_CUT_FS must be ordered or strict, got "${value}"`);
  return value;
}

export class FaultDisk {
  private daemon?: ChildProcess;
  private readonly log: string;

  /** `backing` keeps what was synced (a real disk's platters); programs use `mountpoint`. */
  constructor(
    readonly backing: string,
    readonly mountpoint: string,
    private readonly binary = faultFsBinary(),
    readonly mode: FaultDiskMode = 'strict',
  ) {
    mkdirSync(backing, { recursive: true });
    mkdirSync(mountpoint, { recursive: true });
    this.log = `${mountpoint}.daemon.log`;
  }

  get powered(): boolean {
    return this.daemon !== undefined;
  }

  /** Mounts a new daemon over the synced state and waits for its "mounted" line. */
  async powerOn(): Promise<void> {
    // Its stderr goes to a file: a test blocking the event loop in synchronous fs calls could fill a pipe.
    const stderr = openSync(this.log, 'a');
    const flags = this.mode === 'ordered' ? ['-ordered'] : [];
    const child = spawn(this.binary, [...flags, this.backing, this.mountpoint], {
      stdio: ['ignore', 'pipe', stderr],
    });
    closeSync(stderr);
    this.daemon = child;
    const tail = () => readFileSync(this.log, 'utf8').slice(-2000);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no mount after 20 s: ${tail()}`)), 20_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (!out.includes('\n')) return;
        clearTimeout(timer);
        if (out === `mounted ${this.mountpoint}\n`) resolve();
        else reject(new Error(`daemon said ${JSON.stringify(out)}: ${tail()}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`daemon exited (${code ?? signal}) before mounting: ${tail()}`));
      });
    });
  }

  /** The power cut: SIGKILL the daemon (its unsynced writes die with it), then detach the dead mount. */
  async cut(): Promise<void> {
    const child = this.daemon;
    this.daemon = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    if (!readFileSync('/proc/self/mounts', 'utf8').includes(` ${this.mountpoint} `)) return;
    try {
      execFileSync('fusermount3', ['-u', '-z', this.mountpoint], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', this.mountpoint], { stdio: 'ignore' });
    }
  }
}
