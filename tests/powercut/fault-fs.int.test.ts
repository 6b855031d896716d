// The power-cut fault file system (scripts/powercut, built by scripts/powercut-fs.sh): its Go tests, then
// the binary driven from Node. A SIGKILL of the daemon is the power cut: what was fsynced is on the
// backing directory, what was only written is gone, and the dead mount fails every call.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(300_000);

const repo = join(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'smartmeter-powercut-'));
const backing = join(dir, 'backing');
const mnt = join(dir, 'mnt');
const daemonLog = join(dir, 'daemon.log');
let binary = '';
let daemon: ChildProcess | undefined;

const log = () => readFileSync(daemonLog, 'utf8').slice(-2000);

/** Mounts a new daemon on the backing directory ("power on") and waits for its "mounted" line. */
async function powerOn(): Promise<void> {
  // Its stderr goes to a file: the tests block the event loop in synchronous fs calls, so a pipe could fill.
  const stderr = openSync(daemonLog, 'a');
  const child = spawn(binary, [backing, mnt], { stdio: ['ignore', 'pipe', stderr] });
  closeSync(stderr);
  daemon = child;
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no mount after 20 s: ${log()}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        if (out === `mounted ${mnt}\n`) resolve();
        else reject(new Error(`daemon said ${JSON.stringify(out)}: ${log()}`));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited (${code ?? signal}) before mounting: ${log()}`));
    });
  });
}

/** Closes a descriptor on the dead mount, which may fail the close too. */
function closeDead(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // ENOTCONN: the daemon is gone
  }
}

const mounted = () => readFileSync('/proc/self/mounts', 'utf8').includes(` ${mnt} `);

/** The power cut: SIGKILL the daemon, then lazily detach its dead mount. */
async function cut(): Promise<void> {
  const child = daemon;
  daemon = undefined;
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  if (!mounted()) return;
  try {
    execFileSync('fusermount3', ['-u', '-z', mnt], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
  }
}

beforeAll(() => {
  binary = execFileSync('bash', [join(repo, 'scripts/powercut-fs.sh')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop() as string;
  mkdirSync(backing);
  mkdirSync(mnt);
});

afterAll(async () => {
  await cut();
  rmSync(dir, { recursive: true, force: true });
});

test('passes its Go tests, which cut the power under each kind of write', () => {
  let out: string;
  try {
    out = execFileSync('go', ['test', '-count=1', './...'], {
      cwd: join(repo, 'scripts/powercut'),
      env: { ...process.env, POWERCUT_FS_BIN: binary },
      encoding: 'utf8',
      stdio: 'pipe',
      timeout: 240_000,
    });
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`go test failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: e });
  }
  expect(out).toMatch(/^ok\s+smartmeter\/powercut\s/m);
});

test('keeps what Node fsynced and loses what it only wrote when the daemon is killed', async () => {
  await powerOn();
  const file = join(mnt, 'ledger');
  const fd = openSync(file, 'w');
  writeSync(fd, 'synced;');
  fsyncSync(fd);
  writeSync(fd, 'unsynced;');
  expect(readFileSync(file, 'utf8')).toBe('synced;unsynced;');
  expect(statSync(file).size).toBe(16);
  expect(readFileSync(join(backing, 'ledger'), 'utf8')).toBe('synced;');

  await cut();
  expect(() => fsyncSync(fd)).toThrow(/ENOTCONN/);
  closeDead(fd);

  await powerOn();
  expect(readFileSync(file, 'utf8')).toBe('synced;');
  expect(statSync(file).size).toBe(7);
});

test('after a cut in the middle of a log, holds exactly the records up to the last fsync', async () => {
  if (!daemon) await powerOn();
  const file = join(mnt, 'records');
  const fd = openSync(file, 'a');
  let synced = '';
  let written = '';
  for (let i = 0; i < 500; i++) {
    const record = `record ${i}\n`;
    writeSync(fd, record);
    written += record;
    if (i % 10 === 9 && i < 490) {
      fsyncSync(fd);
      synced = written;
    }
  }
  expect(readFileSync(file, 'utf8')).toBe(written);
  await cut();
  closeDead(fd);
  await powerOn();
  expect(readFileSync(file, 'utf8')).toBe(synced);
  expect(synced.endsWith('record 489\n')).toBe(true);
});
