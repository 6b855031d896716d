// A test's own nats-server (the release scripts/nats-server.sh builds, as the backing services run), for
// tests that stop, kill or restart the broker without disturbing the shared one: JetStream on file storage
// in a directory of the test's, synced before every acknowledgement unless told otherwise, as deployed.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './backing';

export interface NatsServerOptions {
  /** JetStream's store directory (a fault filesystem's mount in the power-cut test). */
  storeDir: string;
  /** JetStream `sync_interval`: `always` (the stack's default) or a duration such as `2m`. */
  sync?: string;
  /** JetStream `max_file_store` in bytes, as the stack sets it; unset: the server's own (75 % of free disk). */
  maxFileStore?: number;
  /** More configuration, appended as it is (an `authorization` block). */
  extraConfig?: string;
}

export class NatsServer {
  private child?: ChildProcess;
  private log = '';

  private constructor(
    private readonly binary: string,
    private readonly configFile: string,
    readonly port: number,
    readonly monitorPort: number,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Writes the configuration (fixed ports, so clients reconnect to a restarted server) and starts it. */
  static async start(opts: NatsServerOptions): Promise<NatsServer> {
    const binary = execFileSync('bash', [join(__dirname, '../../../scripts/nats-server.sh')], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .pop() as string;
    const [port, monitorPort] = [await freePort(), await freePort()];
    mkdirSync(opts.storeDir, { recursive: true });
    const configFile = join(opts.storeDir, '..', `nats-${port}.conf`);
    writeFileSync(
      configFile,
      `listen: 127.0.0.1:${port}\nhttp: 127.0.0.1:${monitorPort}\nserver_name: test-${port}\n` +
        `jetstream {\n  store_dir: "${opts.storeDir}"\n  sync_interval: ${opts.sync ?? 'always'}\n` +
        (opts.maxFileStore === undefined ? '' : `  max_file_store: ${opts.maxFileStore}\n`) +
        '}\n' +
        (opts.extraConfig ?? ''),
    );
    const server = new NatsServer(binary, configFile, port, monitorPort);
    await server.restart();
    return server;
  }

  /** Starts the process again (after stop or kill) and waits until JetStream answers. */
  async restart(): Promise<void> {
    this.log = '';
    const child = spawn(this.binary, ['-c', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${this.monitorPort}/healthz?js-enabled-only=true`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`nats-server did not start (exit ${child.exitCode}): ${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM (a clean stop) or SIGKILL (a crash); resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  get output(): string {
    return this.log;
  }
}
