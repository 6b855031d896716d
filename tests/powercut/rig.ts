// The power-cut rig: a real nats-server and a real Cassandra (scripts/backing-services.sh, a set of their
// own: own state directory and ports) whose data directories are on one fault disk (fault-disk.ts), a real
// ingest process (`main.js ingest`) beside them, and a real injector (`main.js inject`) outside, as a
// head-end is, writing its delivery ledger to the ordinary disk. `cut()` is the power going off in the data
// centre: the disk loses every write not yet fsynced and nats-server, Cassandra and ingest are SIGKILLed at
// the same instant; `powerOn()` brings the disk back as it was synced and restarts the three. The injector
// rides it out with its store-and-forward buffer. `verdict()` judges every reading of the ledger.
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { auth, Client } from 'cassandra-driver';
import { connect, NatsConnection } from 'nats';
import { RAW_STREAM } from '../../services/src/lib/jetstream';
import { readLedgers } from '../../services/src/simulator/ledger';
import { migrate } from '../../services/src/storage/migrate';
import { freePort, quietLog } from '../../services/test/support/backing';
import {
  judge,
  rawDataKeys,
  streamIdCounts,
  temperatureEpochs,
  Verdict,
} from '../../services/test/support/reconcile';
import { FaultDisk, FaultDiskMode, faultFsBinary } from './fault-disk';

const REPO = join(__dirname, '../..');
const MAIN = join(REPO, 'services/dist/main.js');
const KEYSPACE = 'smartmeter';
const run = promisify(execFile);

export type Durability = 'synced' | 'relaxed';

export interface RigOptions {
  /** The rig's own directory: state, fault disk, ledger. */
  dir: string;
  /** `synced` (the stack's default) or `relaxed` (both engines' periodic sync). */
  durability: Durability;
  /** The injector's readings per second. */
  rate: number;
  /** How the fault disk orders metadata after data (fault-disk.ts). */
  disk: FaultDiskMode;
}

export class PowerCutRig {
  private readonly disk: FaultDisk;
  private readonly state: string;
  private readonly ledgerDir: string;
  private ports: Record<string, string> = {};
  private env: Record<string, string> = {};
  private ingest?: ChildProcess;
  private injector?: ChildProcess;
  private migrated = false;
  private settled = false;

  constructor(private readonly opts: RigOptions) {
    this.disk = new FaultDisk(join(opts.dir, 'platters'), join(opts.dir, 'disk'), faultFsBinary(), opts.disk);
    this.state = join(opts.dir, 'state');
    this.ledgerDir = join(opts.dir, 'ledger');
    mkdirSync(this.ledgerDir, { recursive: true });
  }

  /** The disk back as it was synced; nats-server and Cassandra started on it, then ingest. */
  async powerOn(): Promise<void> {
    if (Object.keys(this.ports).length === 0) {
      const names = ['NATS_PORT', 'NATS_MONITOR_PORT', 'CASSANDRA_PORT', 'CASSANDRA_STORAGE_PORT'];
      for (const name of [...names, 'CASSANDRA_JMX_PORT', 'PROMETHEUS_PORT'])
        this.ports[name] = String(await freePort());
    }
    await this.disk.powerOn();
    await this.backing('up', 'nats', 'cassandra');
    this.env = readEnv(join(this.state, 'backing.env'));
    if (!this.migrated) {
      const cql = this.cassandra();
      const settings = {
        contactPoints: [this.env.CASSANDRA_CONTACT_POINTS],
        localDataCenter: this.env.CASSANDRA_LOCAL_DC,
        keyspace: KEYSPACE,
        tokenAware: false,
      };
      await migrate(cql, settings, { replicationFactor: 1 }, quietLog);
      await cql.shutdown();
      this.migrated = true;
    }
    this.ingest = this.role('ingest', { INGEST_ACK_WAIT_MS: '10000' });
    if (!this.settled) await this.settle();
  }

  /**
   * Makes the set-up durable in either mode, as it is on a stack that has run for a while before its power
   * goes: Cassandra's schema and roles flushed to SSTables, and nats-server restarted cleanly once ingest
   * has created the raw stream and its consumer (a clean stop writes its files out). The cuts then judge
   * what is acknowledged under load, not the first minute of a deployment.
   */
  private async settle(): Promise<void> {
    const nc = await this.nats();
    try {
      const jsm = await nc.jetstreamManager();
      const deadline = Date.now() + 60_000;
      while (!(await jsm.consumers.info(RAW_STREAM, 'ingest').catch(() => undefined))) {
        if (Date.now() > deadline) throw new Error('ingest did not create the raw stream and its consumer');
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await nc.close();
    }
    await this.backing('nodetool', 'flush');
    await this.backing('stop', 'nats');
    await this.backing('up', 'nats');
    this.settled = true;
  }

  /** The power cut: the disk loses what was not synced, and everything on it dies at that instant. */
  async cut(): Promise<void> {
    await this.disk.cut();
    const pids = ['nats', 'cassandra']
      .map((svc) => join(this.state, svc, 'pid'))
      .filter(existsSync)
      .map((f) => Number(readFileSync(f, 'utf8')));
    for (const pid of pids) kill(pid, 'SIGKILL');
    this.ingest?.kill('SIGKILL');
    await Promise.all([...pids.map(gone), exited(this.ingest)]);
  }

  /** The injector, outside the data centre: its ledger is what the broker acknowledged to it. */
  startInjector(): void {
    this.injector = this.role('inject', {
      INJECT_RATE: String(this.opts.rate),
      INJECT_LEDGER_DIR: this.ledgerDir,
      INJECT_SEED: '7',
    });
  }

  /** SIGTERM: it stops producing and waits (up to 15 s) for what it holds to be acknowledged. */
  async stopInjector(): Promise<void> {
    this.injector?.kill('SIGTERM');
    await exited(this.injector);
  }

  /**
   * Waits until ingest has at most `backlog` messages left to acknowledge (0: everything the stream holds).
   * It fails when ingest's acknowledgements stop advancing for `stallMs`, or after `capMs` in all: a slow
   * machine drains slowly, a stuck ingest does not drain at all.
   */
  async drained(backlog = 0, stallMs = 120_000, capMs = 900_000): Promise<void> {
    const nc = await this.nats();
    try {
      const jsm = await nc.jetstreamManager();
      const start = Date.now();
      let floor = -1;
      let progressAt = start;
      for (;;) {
        const info = await jsm.consumers.info(RAW_STREAM, 'ingest').catch(() => undefined);
        if (info && info.num_pending + info.num_ack_pending <= backlog) return;
        if (info && info.ack_floor.stream_seq > floor)
          [floor, progressAt] = [info.ack_floor.stream_seq, Date.now()];
        const now = Date.now();
        if (now - progressAt > stallMs || now - start > capMs)
          throw new Error(
            `ingest did not drain to ${backlog} in ${Math.round((now - start) / 1000)} s ` +
              `(last progress ${Math.round((now - progressAt) / 1000)} s ago): ${JSON.stringify(info)}`,
          );
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await nc.close();
    }
  }

  /** Every reading of the ledger against Cassandra's rows and the raw stream. */
  async verdict(): Promise<Verdict> {
    const cql = this.cassandra();
    const nc = await this.nats();
    try {
      return judge(
        readLedgers(this.ledgerDir),
        await rawDataKeys(cql, KEYSPACE),
        await temperatureEpochs(cql, KEYSPACE),
        await streamIdCounts(nc, RAW_STREAM),
      );
    } finally {
      await cql.shutdown();
      await nc.close();
    }
  }

  /** Stops everything; removes the services' state unless `keep` (for inspection). The caller removes `dir`. */
  async destroy(keep = false): Promise<void> {
    this.injector?.kill('SIGKILL');
    this.ingest?.kill('SIGKILL');
    await Promise.all([exited(this.injector), exited(this.ingest)]);
    await this.backing(...(keep ? ['stop', 'nats', 'cassandra'] : ['down'])).catch(() => undefined);
    await this.disk.cut();
  }

  private async backing(...args: string[]): Promise<void> {
    await run('bash', [join(REPO, 'scripts/backing-services.sh'), ...args], {
      env: {
        ...process.env,
        ...this.ports,
        SMARTMETER_STATE: this.state,
        NATS_STORE_DIR: join(this.disk.mountpoint, 'nats'),
        CASSANDRA_DATA_DIR: join(this.disk.mountpoint, 'cassandra'),
        CASSANDRA_HEAP: '768M',
        DURABILITY: this.opts.durability,
      },
      timeout: 240_000,
    });
  }

  private role(role: string, extra: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, [MAIN, role], {
      env: {
        PATH: process.env.PATH,
        NATS_URL: this.env.NATS_URL,
        NATS_USER: this.env.NATS_USER,
        NATS_PASSWORD: this.env.NATS_PASSWORD,
        CASSANDRA_CONTACT_POINTS: this.env.CASSANDRA_CONTACT_POINTS,
        CASSANDRA_LOCAL_DC: this.env.CASSANDRA_LOCAL_DC,
        CASSANDRA_USERNAME: this.env.CASSANDRA_USERNAME,
        CASSANDRA_PASSWORD: this.env.CASSANDRA_PASSWORD,
        CASSANDRA_KEYSPACE: KEYSPACE,
        CASSANDRA_TOKEN_AWARE: 'false',
        METRICS_PORT: '0',
        LOG_LEVEL: 'warn',
        ...extra,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return child;
  }

  private cassandra(): Client {
    return new Client({
      contactPoints: [this.env.CASSANDRA_CONTACT_POINTS],
      localDataCenter: this.env.CASSANDRA_LOCAL_DC,
      authProvider: new auth.PlainTextAuthProvider(this.env.CASSANDRA_USERNAME, this.env.CASSANDRA_PASSWORD),
      socketOptions: { readTimeout: 120_000 },
      // cassandra-driver 4.10 misreads large result pages in protocol v5 frames (RangeError in FrameReader).
      protocolOptions: { maxVersion: 4 },
    });
  }

  private nats(): Promise<NatsConnection> {
    return connect({ servers: this.env.NATS_URL, user: this.env.NATS_USER, pass: this.env.NATS_PASSWORD });
  }
}

/** `KEY=value` lines of the rig's backing.env. */
function readEnv(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** Resolves once a process that is not our child has gone (polled). */
async function gone(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function exited(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
