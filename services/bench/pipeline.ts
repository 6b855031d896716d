// `npm run bench`: the pipeline's figures measured in one run on this machine, against the backing
// services of scripts/backing-services.sh (reused when running, started otherwise). Loopback only;
// every phase is bounded in count and time. Prints, and saves as JSON (figures.ts):
//   (a) nats.js publish→subscribe rate, separate connections, 56-byte payloads
//   warm-up: passes of the raw insert loop over several concurrency levels until two passes in a row
//       agree, so Cassandra's JIT is steady before any ceiling counts; the last pass's best level is
//       the one (b) uses
//   (b) Cassandra insert ceiling: raw_data rows with cassandra-driver's executeConcurrent: the very rows
//       of (c)'s backlog, into a fresh keyspace as (c) gets, so both make Cassandra do the same work
//   (c) the pipeline: a backlog of readings in a JetStream stream, drained by one ingest process
//       (`main.js ingest`, as deployed); rows/s from the first acknowledged row to the last (the ack
//       floor is polled, so the measurement adds no per-row work), rows checked against the backlog
//   (a′) the raw JetStream loop: this process pulls a backlog as ingest does (same consumer settings,
//       fetches of ingest's batch, messages to a callback) and acks each one, doing nothing else: with
//       (b)'s driver loop, the floor of what ingest's two libraries cost per row
//   (b) and (c) interleaved, b a′ c b a′ c … b, so that a change of the machine's load moves both: each (c)
//   is compared with the mean of the (b) before and after it, and every figure is a median with its
//   spread. Beside the rates, CPU time per stored row from the processes' own counters (cpu.ts).
//   The price of durability: (b) and (c) first with relaxed stores (the backing NATS and Cassandra
//   restarted with DURABILITY=relaxed: both engines' periodic sync), then with synced ones (the stack's
//   default, restarted with DURABILITY=synced; everything after runs on them): synced/relaxed pipeline.
//   (f) the stream role draining the same backlog, readings/s
//   ingest replicas 1, 2 and 4 on one Cassandra
//   (e) p50/p99 latency from publish to row, at half the pipeline's rate
//   (d) one injector's rate (services/src/simulator): acknowledged delivery into a synced stream, and core
//       NATS publishing (what it did before, unacknowledged) beside it
//   storage: raw_data bytes on disk per row (after a flush) and JetStream bytes per message
//   then the ML section (services/bench/model.ts).
// Backlogs go in as the injectors deliver them (acknowledged atomic batches: core publishing into a synced
// stream loses what the server cannot keep up with). Ingest acknowledges a message only after Cassandra
// accepted its row, and acks are NATS messages on
// `$JS.ACK.<stream>.…<stream seq>…`: for (e) the bench subscribes to them, so it sees when each
// reading's row was written without polling Cassandra. Any figure that cannot be measured (a timeout,
// a lost row) fails the run with exit code 1 and says which.
import { ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, concurrent } from 'cassandra-driver';
import { ConsumeCallback, connect, FetchMessages, JetStreamManager, NatsConnection } from 'nats';
import { createCassandraClient } from '../src/lib/cassandra';
import { ensureRawStream } from '../src/lib/jetstream';
import { createLogger } from '../src/lib/log';
import { sleep } from '../src/lib/retry';
import { ensureIngestConsumer } from '../src/ingest/consumer';
import { FETCH_EXPIRES_MS } from '../src/ingest/ingest';
import { rawDataInsert, rawDataParams } from '../src/ingest/rows';
import { ingestSettings } from '../src/ingest/settings';
import { EnvReader } from '../src/lib/config';
import { createSimulator, Simulator, topologyFromRate } from '../src/simulator';
import { Delivery } from '../src/simulator/delivery';
import { LedgerWriter, readingId } from '../src/simulator/ledger';
import { coreSink, runInjector } from '../src/simulator/publisher';
import { migrate } from '../src/storage/migrate';
import { decodeVoltage, encodeVoltage, parseVoltageSubject } from '../src/wire/codec';
import { underRoot } from '../src/wire/subjects';
import { backingEnv, BackingEnv, requireService, cassandraSettingsFor } from '../test/support/backing';
import { cassandraCommitLogSync, natsSync } from '../test/support/durability';
import { processCpuUs, totalCpuUs } from './cpu';
import { BENCH_FIGURES_VERSION, BenchFigures, writeFigures } from './figures';
import { runModelBench } from './model';
import { runOutageBench } from './outage';
import { counterSum, startRole, stopAll } from './roles';
import { freePort } from '../test/support/backing';
import { fmt, fmtSpread, percentile, spread } from './stats';

/**
 * How often a drain polls for its end. Each consumer info costs nats-server about 0.3 ms of CPU with a
 * 120,000-message backlog (measured), which at 25 ms was near 1 µs per row charged to (c); 50 ms halves
 * that and bounds the drain's timing error at 50 ms of a drain of several seconds.
 */
const DRAIN_POLL_MS = 50;
const log = createLogger({ role: 'bench' }, 'warn');
const now = () => Number(process.hrtime.bigint()) / 1e9;
const id = Date.now().toString(36);
const intEnv = (name: string, fallback: number, min: number, max: number) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be in ${min}..${max}`);
  return n;
};
/** (c) rounds; (b) runs one more time than (c), before and after each. */
const ROUNDS = intEnv('BENCH_ROUNDS', 3, 2, 10);
/** Readings in each backlog that (c), (f) and the replica runs drain. */
const BACKLOG = intEnv('BENCH_BACKLOG', 120_000, 10_000, 1_000_000);
/**
 * Readings a fresh ingest (or stream) process drains before its measured backlog, from earlier simulated
 * minutes: (b)'s driver loop runs in this long-warm process, and a deployed ingest runs for weeks, while
 * each (c) starts a new one, whose first readings cost it 2-3 times the CPU of its later ones (measured,
 * one 120,000 backlog: 54-70 µs/row over the first 12,000, 15-25 µs/row from 30,000 on, while its rate
 * ramped from 11,000 to 25,000-31,000 rows/s). Their cost and rate are printed apart, not counted in (c).
 */
const INGEST_WARMUP = intEnv('BENCH_INGEST_WARMUP', 60_000, 0, 1_000_000);
/** Rows per (b) run: by default the backlog's, the same rows (c) writes. */
const CEILING_ROWS = intEnv('BENCH_CEILING_ROWS', BACKLOG, 10_000, 1_000_000);
/**
 * Each stream's disk budget: room for (d)'s million readings or a backlog at 512 B a reading (about 2.5
 * times what one takes with its headers), no more. Every stream of the run lives until the end and
 * JetStream reserves each budget out of the server's max_file_store (8 GB for the backing NATS); 512 MiB
 * each ran out ("insufficient storage resources") in (d).
 */
const STREAM_MAX_BYTES = Math.max(256 * 1024 ** 2, (BACKLOG + INGEST_WARMUP) * 512);
/** Warm-up: rows per level, the levels tried, and when two passes' best rates count as agreeing. */
const WARMUP = { rows: 40_000, levels: [128, 256, 512, 1024], agree: 0.1, maxPasses: 6 };
/** BENCH_QUICK=1: only (b), (a′) and (c), for trying an ingest change; nothing is saved. */
const QUICK = process.env.BENCH_QUICK === '1';

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'scripts/backing-services.sh'))) {
    if (dirname(dir) === dir) throw new Error('scripts/backing-services.sh not found above ' + __dirname);
    dir = dirname(dir);
  }
  return dir;
}

async function backing(): Promise<BackingEnv> {
  try {
    const env = backingEnv();
    await requireService('nats', env.natsUrl);
    await requireService('cassandra', env.cassandraContactPoints[0]);
    console.log(`backing services: reusing ${env.stateDir}`);
    return env;
  } catch (err) {
    console.log(`backing services: ${(err as Error).message.split(';')[0]}; starting them`);
    execFileSync('bash', [join(repoRoot(), 'scripts/backing-services.sh'), 'up', 'nats', 'cassandra'], {
      stdio: 'inherit',
    });
    return backingEnv();
  }
}

/** The pid of a backing service, for its CPU counters (undefined when not readable). */
function backingPid(env: BackingEnv, service: 'nats' | 'cassandra'): number | undefined {
  try {
    return Number(readFileSync(join(env.stateDir, service, 'pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

function commit(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  try {
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain') ? '-dirty' : '');
  } catch {
    return 'unknown';
  }
}

// The readings every phase uses: the simulator's meters and model, one reading per meter per
// simulated minute, so each is a distinct raw_data row.
interface Reading {
  subject: string; // smartmeter.raw.voltage.data.<line>.<transformer>.<usagepoint>
  data: Uint8Array;
  /** Its Nats-Msg-Id, as an injector sends it. */
  id: string;
}
function makeReadings(sim: Simulator, count: number, firstMinute: number): Reading[] {
  const out: Reading[] = [];
  const start = Date.UTC(2025, 0, 6) / 1000;
  for (let k = 0; out.length < count; k++) {
    const epoch = start + (firstMinute + Math.floor(k / sim.meters.length)) * 60;
    const i = k % sim.meters.length;
    const m = sim.meters[i];
    out.push({
      subject: sim.subjects[i],
      data: encodeVoltage(sim.voltageAt(i, epoch, 12).reading),
      id: readingId('voltage', `${m.line}.${m.transformer}.${m.usagePoint}`, epoch),
    });
  }
  return out;
}

/** The injectors' acknowledged delivery of `readings` under `root`; a recorder hears every acknowledgement. */
function delivery(nc: NatsConnection, count: number, recorder?: LedgerWriter): Delivery {
  return new Delivery(nc, { bufferReadings: count + 1000, name: `bench${id}` }, { ledger: recorder });
}

/** The backing NATS and Cassandra restarted with `mode` (scripts/backing-services.sh DURABILITY), read back. */
async function setDurability(env: BackingEnv, mode: 'synced' | 'relaxed'): Promise<void> {
  const script = join(repoRoot(), 'scripts/backing-services.sh');
  execFileSync('bash', [script, 'stop', 'nats', 'cassandra'], { stdio: 'inherit' });
  execFileSync('bash', [script, 'up', 'nats', 'cassandra'], {
    stdio: 'inherit',
    env: { ...process.env, DURABILITY: mode },
  });
  const cql = createCassandraClient(cassandraSettingsFor(env, 'system'));
  try {
    await cql.connect();
    const [nats, cassandra] = [await natsSync(env.natsMonitorUrl), await cassandraCommitLogSync(cql)];
    const synced = nats.always && cassandra.mode === 'batch';
    const periodic = !nats.always && cassandra.mode === 'periodic';
    if (mode === 'synced' ? !synced : !periodic)
      throw new Error(`asked for ${mode} stores, got ${JSON.stringify({ nats, cassandra })}`);
    console.log(
      `  stores ${mode}: JetStream sync_always ${nats.always}, Cassandra commitlog_sync ${cassandra.mode}`,
    );
  } finally {
    await cql.shutdown();
  }
}

async function natsConnect(env: BackingEnv, name: string): Promise<NatsConnection> {
  return connect({ servers: env.natsUrl, user: env.natsUser, pass: env.natsPassword, name });
}

// (a) ------------------------------------------------------------------------------------------
async function natsPubSub(env: BackingEnv, count: number, timeoutS: number): Promise<number> {
  const subject = `bench_${id}.pubsub`;
  const pub = await natsConnect(env, 'bench-pub');
  const sub = await natsConnect(env, 'bench-sub');
  const payload = new Uint8Array(56).fill(7);
  let received = 0;
  let last = 0;
  const done = new Promise<void>((res) => {
    sub.subscribe(subject, {
      callback: () => {
        if (++received === count) res();
        last = now();
      },
    });
  });
  await sub.flush();
  const t0 = now();
  for (let i = 0; i < count && now() - t0 < timeoutS; i++) {
    pub.publish(subject, payload);
    if (i % 10_000 === 9_999) await pub.flush(); // bounds the client's buffer
  }
  await pub.flush();
  await Promise.race([done, sleep(5000)]);
  await pub.close();
  await sub.close();
  if (received < count)
    console.log(`  (a) note: ${count - received} of ${count} not received (slow consumer)`);
  return received / (last - t0);
}

// (a′) -----------------------------------------------------------------------------------------
interface FetchAckRun {
  rate: number;
  /** This process's CPU per message: pull, receive, ack. */
  rawUs: number;
  natsServerUs?: number;
}
/** Pulls stream sequences 1..count with ingest's consumer settings and pull shape, acking each at once. */
async function rawFetchAck(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  count: number,
  natsPid: number | undefined,
  timeoutS: number,
): Promise<FetchAckRun> {
  const settings = ingestSettings(new EnvReader(process.env)); // ingest's defaults, or the INGEST_* set
  await ensureIngestConsumer(jsm, { ...settings, stream, consumer: 'raw' });
  const consumer = await nc.jetstream().consumers.get(stream, 'raw');
  let acked = 0;
  const self0 = processCpuUs(process.pid);
  const nats0 = processCpuUs(natsPid);
  const t0 = now();
  while (acked < count) {
    if (now() - t0 > timeoutS) throw new Error(`(a′) ${acked} of ${count} acked in ${timeoutS} s`);
    const pull: FetchMessages & ConsumeCallback = {
      max_messages: Math.min(settings.batch, count - acked),
      expires: FETCH_EXPIRES_MS,
      callback: (msg) => {
        msg.ack();
        acked++;
      },
    };
    const err = await (await consumer.fetch(pull)).closed();
    if (err) throw err;
  }
  await nc.flush(); // the last acks are on the wire
  const seconds = now() - t0;
  const nats1 = processCpuUs(natsPid);
  return {
    rate: count / seconds,
    rawUs: ((processCpuUs(process.pid) ?? NaN) - (self0 ?? NaN)) / count,
    natsServerUs: nats0 !== undefined && nats1 !== undefined ? (nats1 - nats0) / count : undefined,
  };
}

// (b) ------------------------------------------------------------------------------------------
interface CeilingRun {
  rate: number;
  /** This process's CPU per row: the raw driver loop, bind values built beforehand. */
  rawUs: number;
  cassandraUs?: number;
}
function ceilingParams(sim: Simulator, count: number, firstMinute: number) {
  return makeReadings(sim, count, firstMinute).map((r) =>
    rawDataParams(parseVoltageSubject(r.subject), decodeVoltage(r.data)),
  );
}
async function ceilingRun(
  client: Client,
  keyspace: string,
  params: number[][],
  level: number,
  cassandraPid: number | undefined,
): Promise<CeilingRun> {
  // This process's counters read from /proc like the ingest processes', so both sides count alike.
  const self0 = processCpuUs(process.pid);
  const cass0 = processCpuUs(cassandraPid);
  const t0 = now();
  await concurrent.executeConcurrent(client, rawDataInsert(keyspace), params, { concurrencyLevel: level });
  const seconds = now() - t0;
  const cass1 = processCpuUs(cassandraPid);
  return {
    rate: params.length / seconds,
    rawUs: ((processCpuUs(process.pid) ?? NaN) - (self0 ?? NaN)) / params.length,
    cassandraUs: cass0 !== undefined && cass1 !== undefined ? (cass1 - cass0) / params.length : undefined,
  };
}

// (c), (f) and the replica runs ---------------------------------------------------------------------
interface Backlog {
  root: string;
  stream: string;
  keyspace: string;
  count: number;
  /** Of `count`, the first readings an ingest drain does not measure (INGEST_WARMUP). */
  warmup: number;
  /** JetStream's bytes for the backlog, over its messages. */
  bytesPerMessage: number;
}

/**
 * Delivers at `rate` as an injector does (acknowledged batches), recording when each reading was handed to
 * the delivery, by the stream sequence its acknowledgement names.
 */
async function publishAt(nc: NatsConnection, readings: Reading[], root: string, rate: number) {
  const sentAt = new Map<string, number>();
  const publishedAt = new Map<number, number>();
  const sink = delivery(nc, readings.length, {
    record: (ids, seqs) =>
      ids.forEach((readingId, k) => {
        const seq = seqs[k];
        if (seq !== undefined) publishedAt.set(seq, sentAt.get(readingId) ?? NaN);
      }),
  });
  const t0 = now();
  let i = 0;
  while (i < readings.length) {
    const due = Math.min(readings.length, Math.floor((now() - t0) * rate) + 1);
    for (; i < due; i++) {
      sentAt.set(readings[i].id, now());
      sink.send({
        subject: underRoot(root, readings[i].subject),
        payload: readings[i].data,
        id: readings[i].id,
      });
    }
    await sleep(1);
  }
  const left = await sink.drain(120_000);
  if (left) throw new Error(`(e) ${left} readings not acknowledged`);
  return { publishedAt, seconds: now() - t0 };
}

interface Drain {
  rate: number;
  /** The first `INGEST_WARMUP` readings of an ingest drain, not counted in `rate` and `cpuUs`. */
  warmup?: { rate: number; roleUs?: number };
  rows: number;
  /** CPU µs per row of the draining processes, nats-server and Cassandra over the same interval. */
  cpuUs: { role?: number; nats?: number; cassandra?: number };
  redelivered: number;
}

/** CPU counters of the draining processes and the two servers, read together. */
function cpuSample(procs: ChildProcess[], env: BackingEnv) {
  return {
    t: now(),
    role: totalCpuUs(procs.map((p) => p.pid)),
    nats: processCpuUs(backingPid(env, 'nats')),
    cassandra: processCpuUs(backingPid(env, 'cassandra')),
  };
}
type CpuSample = ReturnType<typeof cpuSample>;

function drainFigures(from: CpuSample, to: CpuSample, rows: number, redelivered: number): Drain {
  const per = (a?: number, b?: number) => (a !== undefined && b !== undefined ? (b - a) / rows : undefined);
  return {
    rate: rows / (to.t - from.t),
    rows,
    cpuUs: {
      role: per(from.role, to.role),
      nats: per(from.nats, to.nats),
      cassandra: per(from.cassandra, to.cassandra),
    },
    redelivered,
  };
}

/**
 * Times the ingest consumer's drain of stream sequences 1..lastSeq by polling its ack floor: from the
 * first poll that sees the warm-up readings acknowledged (any reading, without one) to the one that sees
 * every one, with the CPU counters read at both. Fails if that takes over timeoutS.
 */
async function timeIngestDrain(
  jsm: JetStreamManager,
  backlog: Backlog,
  procs: ChildProcess[],
  env: BackingEnv,
  timeoutS: number,
): Promise<Drain> {
  const deadline = now() + timeoutS;
  let started: { sample: CpuSample; floor: number } | undefined;
  let first: { sample: CpuSample; floor: number } | undefined;
  for (;;) {
    const info = await jsm.consumers.info(backlog.stream, 'ingest').catch(() => undefined);
    const floor = info?.ack_floor.stream_seq ?? 0;
    if (!started && floor > 0) started = { sample: cpuSample(procs, env), floor };
    if (!first && floor > 0 && floor >= backlog.warmup) first = { sample: cpuSample(procs, env), floor };
    if (first && info && floor >= backlog.count && info.num_ack_pending === 0) {
      if (floor === first.floor) throw new Error('backlog drained before the first poll: make it larger');
      const drain = drainFigures(
        first.sample,
        cpuSample(procs, env),
        floor - first.floor,
        info.num_redelivered,
      );
      if (started && first.floor > started.floor) {
        const w = drainFigures(started.sample, first.sample, first.floor - started.floor, 0);
        drain.warmup = { rate: w.rate, roleUs: w.cpuUs.role };
      }
      return drain;
    }
    if (now() > deadline)
      throw new Error(`not drained in ${timeoutS} s: ack floor ${floor} of ${backlog.count}`);
    await sleep(DRAIN_POLL_MS);
  }
}

/** Counts rows by paging through the keys: COUNT(*) over a few 100,000 rows can time out. */
async function countRows(client: Client, keyspace: string): Promise<number> {
  let n = 0;
  let pageState: string | undefined;
  do {
    const rs = await client.execute(`SELECT line FROM ${keyspace}.raw_data`, [], {
      fetchSize: 10_000,
      pageState,
      readTimeout: 60_000,
    });
    n += rs.rowLength;
    pageState = rs.pageState ?? undefined;
  } while (pageState);
  return n;
}

// (d) ------------------------------------------------------------------------------------------
/**
 * One injector at `rate` (asked), for at most `seconds` and `maxReadings`: with core NATS publishes, or
 * delivering acknowledged batches into `stream` (created by the caller under `root`), where the rate is
 * what was acknowledged over the run, its final wait for acknowledgements included.
 */
async function injectorRate(
  env: BackingEnv,
  how: { root: string; acked: boolean },
  rate: number,
  maxReadings: number,
  seconds: number,
) {
  const nc = await natsConnect(env, 'bench-inject');
  try {
    const sim = createSimulator({ seed: 42, topology: topologyFromRate(rate) });
    const sink = how.acked ? delivery(nc, maxReadings) : coreSink(nc);
    const stats = await runInjector(sink, sim, {
      rate,
      start: Date.UTC(2025, 0, 6) / 1000,
      acceleration: 900,
      maxReadings,
      durationSeconds: seconds,
      subjectRoot: how.root,
      drainTimeoutMs: 120_000,
    });
    if (stats.undelivered) throw new Error(`(d) ${stats.undelivered} readings not acknowledged`);
    return { rate: stats.total / stats.elapsedSeconds, total: stats.total };
  } finally {
    await nc.close();
  }
}

/** Stream sequence → time its ack (row written) was seen, from `$JS.ACK.<stream>.>`. */
function watchAcks(nc: NatsConnection, stream: string) {
  const ackedAt = new Map<number, number>();
  nc.subscribe(`$JS.ACK.${stream}.>`, {
    callback: (_err, msg) => {
      if (msg.data.length !== 4 || msg.data[1] !== 65) return; // "+ACK" only (not +WPI, -NAK, +TERM)
      const tokens = msg.subject.split('.');
      const seq = Number(tokens.length === 9 ? tokens[5] : tokens[7]);
      if (!ackedAt.has(seq)) ackedAt.set(seq, now());
    },
  });
  return ackedAt;
}

async function waitAcked(ackedAt: Map<number, number>, lastSeq: number, count: number, timeoutS: number) {
  const deadline = now() + timeoutS;
  while (!ackedAt.has(lastSeq) && now() < deadline) await sleep(100);
  // The last one may overtake an earlier one: wait until the count matches too.
  while (ackedAt.size < count && now() < deadline) await sleep(100);
}

/** raw_data's live SSTable bytes per row, after a flush (nodetool over the backing services' JMX). */
function cassandraBytesPerRow(keyspace: string, rows: number): number {
  const nodetool = (...args: string[]) =>
    execFileSync('bash', [join(repoRoot(), 'scripts/backing-services.sh'), 'nodetool', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }).toString();
  nodetool('flush', keyspace, 'raw_data');
  const stats = nodetool('tablestats', `${keyspace}.raw_data`);
  const live = /Space used \(live\): (\d+)/.exec(stats);
  if (!live) throw new Error(`no "Space used (live)" in nodetool tablestats ${keyspace}.raw_data`);
  return Number(live[1]) / rows;
}

async function main() {
  const t = (name: string) => console.log(`\n${name}`);
  const env = await backing();
  const loadStart = loadAverage();
  console.log(
    `node ${process.version}; load average at start: ${loadStart} (the machine may be shared: the CPU figures move least)`,
  );
  const keyspace = `bench_${id}`;
  const settings = cassandraSettingsFor(env, keyspace);
  // Replaced when the backing services restart with other durability settings.
  let cassandra!: Client;
  let nc!: NatsConnection;
  let jsm!: JetStreamManager;
  let cassandraPid: number | undefined;
  let durability: 'synced' | 'relaxed' | undefined; // as the bench last set it
  const connectAll = async () => {
    cassandra = createCassandraClient(settings);
    await cassandra.connect();
    nc = await natsConnect(env, 'bench');
    jsm = await nc.jetstreamManager();
    cassandraPid = backingPid(env, 'cassandra');
  };
  const restartWith = async (mode: 'synced' | 'relaxed') => {
    await cassandra.shutdown();
    await nc.close();
    durability = mode;
    await setDurability(env, mode);
    await connectAll();
  };
  await connectAll();
  await migrate(cassandra, settings, { replicationFactor: 1 }, log);
  const keyspaces = [keyspace];
  const sim = createSimulator({ seed: 7, topology: topologyFromRate(10_000) });
  const streams: string[] = [];
  const procs: ChildProcess[] = [];
  const failures: string[] = [];
  let minute = 0; // the warm-up's rows take fresh simulated minutes, so each pass inserts new rows

  /** A fresh keyspace with the smartmeter schema, dropped at the end. */
  async function freshKeyspace(name: string): Promise<string> {
    keyspaces.push(name);
    await migrate(cassandra, cassandraSettingsFor(env, name), { replicationFactor: 1 }, log);
    return name;
  }

  /** A fresh subject root with its stream and its keyspace (both named after it), removed at the end. */
  async function freshRoot(tag: string) {
    const root = await freshKeyspace(`bench_${id}_${tag}`);
    const stream = root.toUpperCase();
    streams.push(stream);
    await ensureRawStream(jsm, {
      name: stream,
      subjects: [`${root}.raw.>`],
      maxAgeSeconds: 3600,
      maxBytes: STREAM_MAX_BYTES,
    });
    return { root, stream };
  }

  /**
   * A backlog in a fresh stream, for a fresh keyspace: `warmup` readings from the minutes before minute 0,
   * then `measured` from minute 0 on (the rows of (b)); waits until all are stored.
   */
  async function backlog(tag: string, measured: number, warmup = 0): Promise<Backlog> {
    const { root, stream } = await freshRoot(tag);
    const warmupMinutes = Math.ceil(warmup / sim.meters.length);
    const readings = [...makeReadings(sim, warmup, -warmupMinutes), ...makeReadings(sim, measured, 0)];
    const count = readings.length;
    const sink = delivery(nc, count);
    for (const r of readings) sink.send({ subject: underRoot(root, r.subject), payload: r.data, id: r.id });
    const left = await sink.drain(120_000);
    const state = (await jsm.streams.info(stream)).state;
    if (left || state.messages !== count)
      throw new Error(`${stream}: ${state.messages} of ${count} acknowledged and stored`);
    return { root, stream, keyspace: root, count, warmup, bytesPerMessage: state.bytes / state.messages };
  }

  /** Fresh ingest processes drain a fresh backlog, warm-up first; the rows are counted against it. */
  async function ingestRun(tag: string, replicas: number): Promise<Drain & { backlog: Backlog }> {
    const b = await backlog(tag, BACKLOG, INGEST_WARMUP);
    const started = Array.from({ length: replicas }, () =>
      startRole('ingest', env, b.keyspace, {
        INGEST_STREAM: b.stream,
        INGEST_SUBJECT_ROOT: b.root,
        RAW_STREAM_MAX_BYTES: String(STREAM_MAX_BYTES),
      }),
    );
    procs.push(...started);
    const drain = await timeIngestDrain(jsm, b, started, env, 300);
    await stopAll(started, 30);
    const stored = await countRows(cassandra, b.keyspace);
    if (stored !== b.count) failures.push(`ingest ${tag}: ${stored} rows for ${b.count} readings`);
    console.log(
      `  (c) ${tag}: ${fmt(drain.rate)} rows/s, ${replicas} replica(s); rows ${fmt(stored)} of ${fmt(b.count)} ` +
        `(${stored === b.count ? 'exact' : 'MISMATCH'}); redelivered ${drain.redelivered}; CPU/row ingest ` +
        `${us(drain.cpuUs.role)}, nats-server ${us(drain.cpuUs.nats)}, Cassandra ${us(drain.cpuUs.cassandra)}` +
        (drain.warmup
          ? `; not counted: the first ${fmt(b.warmup)} (process warm-up) ${fmt(drain.warmup.rate)} rows/s, ` +
            `CPU/row ingest ${us(drain.warmup.roleUs)}`
          : ''),
    );
    return { ...drain, backlog: b };
  }

  /** (f): the stream role reads a backlog from the start; its own counter says when it has all. */
  async function streamDrain(b: Backlog): Promise<Drain> {
    const port = await freePort();
    const proc = startRole('stream', env, b.keyspace, {
      STREAM_RAW_STREAM: b.stream,
      STREAM_SUBJECT_ROOT: b.root,
      STREAM_STATE_PREFIX: `bench-${id}-f`,
      RAW_STREAM_MAX_BYTES: String(STREAM_MAX_BYTES),
      METRICS_PORT: String(port),
    });
    procs.push(proc);
    streams.push(`KV_bench-${id}-f-lease`, `KV_bench-${id}-f-checkpoint`);
    const read = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
      return res?.ok ? counterSum(await res.text(), 'smartmeter_stream_messages_total') : 0;
    };
    const deadline = now() + 300;
    let first: { sample: CpuSample; seen: number } | undefined;
    try {
      for (;;) {
        const seen = await read();
        if (!first && seen > 0 && seen >= b.warmup) first = { sample: cpuSample([proc], env), seen };
        if (first && seen >= b.count) {
          if (seen === first.seen) throw new Error('(f) backlog read before the first poll');
          return drainFigures(first.sample, cpuSample([proc], env), seen - first.seen, 0);
        }
        if (now() > deadline) throw new Error(`(f) not drained in 300 s: ${seen} of ${b.count}`);
        await sleep(DRAIN_POLL_MS);
      }
    } finally {
      await stopAll([proc], 30);
    }
  }

  const us = (x?: number) => (x === undefined ? 'n/a' : `${x.toFixed(1)} µs`);
  try {
    t('(a) nats.js publish → subscribe, separate connections in one process, 56 B, 500,000 messages');
    const a = await natsPubSub(env, 500_000, 20);
    console.log(`  (a) ${fmt(a)} msg/s`);

    /**
     * With the stores as they run now: the warm-up, then (b) and (c) interleaved (with (a′) when asked),
     * `ROUNDS` (c) rounds. `tag` keeps each mode's keyspaces and streams apart.
     */
    const interleaved = async (tag: string, withFetchAck: boolean) => {
      t(
        `warm-up (not counted): passes of the raw insert loop, ${fmt(WARMUP.rows)} rows per concurrency level, ` +
          `until two passes' best rates agree within ${WARMUP.agree * 100}%`,
      );
      let best = { level: 0, rate: 0 };
      for (let pass = 1; ; pass++) {
        const previous = best;
        best = { level: 0, rate: 0 };
        const rates: string[] = [];
        for (const level of WARMUP.levels) {
          const params = ceilingParams(sim, WARMUP.rows, minute);
          minute += Math.ceil(WARMUP.rows / sim.meters.length);
          const run = await ceilingRun(cassandra, keyspace, params, level, undefined);
          rates.push(`${level}: ${fmt(run.rate)}`);
          if (run.rate > best.rate) best = { level, rate: run.rate };
        }
        console.log(`  pass ${pass}, rows/s at concurrency ${rates.join(', ')}`);
        if (Math.abs(best.rate - previous.rate) <= WARMUP.agree * previous.rate) break;
        if (pass === WARMUP.maxPasses) {
          console.log(`  not steady after ${pass} passes: the machine is busy, the figures below move more`);
          break;
        }
      }
      console.log(`  (b) uses concurrency ${best.level}`);

      t(
        `(b)${withFetchAck ? ', (a′)' : ''} and (c) interleaved: b${withFetchAck ? ' a′' : ''} c … b, ${ROUNDS} ` +
          `(c) rounds; (b) ${fmt(CEILING_ROWS)} rows per run; ${withFetchAck ? '(a′) and ' : ''}(c) drain ` +
          `${fmt(BACKLOG)} readings, (c) with one ingest replica (its defaults unless INGEST_* set), each ` +
          `process's first ${fmt(INGEST_WARMUP)} readings not counted`,
      );
      const bRuns: CeilingRun[] = [];
      const aRuns: FetchAckRun[] = [];
      const cRuns: (Drain & { backlog: Backlog })[] = [];
      const params = ceilingParams(sim, CEILING_ROWS, 0); // the backlog's readings, as rows
      for (let round = 0; round <= ROUNDS; round++) {
        const target = await freshKeyspace(`bench_${id}_${tag}b${round + 1}`);
        const b = await ceilingRun(cassandra, target, params, best.level, cassandraPid);
        bRuns.push(b);
        console.log(
          `  (b) run ${round + 1}: ${fmt(b.rate)} rows/s; CPU/row driver loop ${us(b.rawUs)}, Cassandra ${us(b.cassandraUs)}`,
        );
        if (round === ROUNDS) break;
        if (withFetchAck) {
          const raw = await backlog(`${tag}n${round + 1}`, BACKLOG);
          const a2 = await rawFetchAck(nc, jsm, raw.stream, raw.count, backingPid(env, 'nats'), 120);
          aRuns.push(a2);
          console.log(
            `  (a′) run ${round + 1}: ${fmt(a2.rate)} msg/s; CPU/message fetch+ack loop ${us(a2.rawUs)}, ` +
              `nats-server ${us(a2.natsServerUs)}`,
          );
        }
        cRuns.push(await ingestRun(`${tag}c${round + 1}`, 1));
      }
      return {
        best,
        bRuns,
        aRuns,
        cRuns,
        ceiling: spread(bRuns.map((r) => r.rate)),
        pipeline: spread(cRuns.map((r) => r.rate)),
        ratio: spread(cRuns.map((c, i) => c.rate / ((bRuns[i].rate + bRuns[i + 1].rate) / 2))),
      };
    };

    t('relaxed stores: the backing NATS and Cassandra restarted with DURABILITY=relaxed (periodic sync)');
    await restartWith('relaxed');
    const relaxed = await interleaved('x', false);
    t('synced stores (the default): restarted with DURABILITY=synced; everything below runs on them');
    await restartWith('synced');
    const { best, bRuns, aRuns, cRuns, ceiling, pipeline, ratio } = await interleaved('', true);
    const syncedOverRelaxed = pipeline.median / relaxed.pipeline.median;
    const median = (xs: (number | undefined)[]) =>
      xs.every((x) => x !== undefined) ? spread(xs as number[]).median : undefined;
    const cpu = {
      ingestUs: median(cRuns.map((r) => r.cpuUs.role))!,
      rawUs: median(bRuns.map((r) => r.rawUs))!,
      rawFetchAckUs: median(aRuns.map((r) => r.rawUs))!,
      natsServerUs: median(cRuns.map((r) => r.cpuUs.nats)),
      cassandraUs: median(cRuns.map((r) => r.cpuUs.cassandra)),
    };
    const cassandraRawUs = median(bRuns.map((r) => r.cassandraUs));
    const warmup = {
      readings: INGEST_WARMUP,
      rowsPerSecond: median(cRuns.map((r) => r.warmup?.rate)),
      ingestUs: median(cRuns.map((r) => r.warmup?.roleUs)),
    };
    const printRatios = () => {
      console.log(
        `durability: synced/relaxed pipeline ${syncedOverRelaxed.toFixed(2)} (${fmt(pipeline.median)} vs ` +
          `${fmt(relaxed.pipeline.median)} rows/s); ceiling ${fmt(ceiling.median)} vs ${fmt(relaxed.ceiling.median)} ` +
          `rows/s; relaxed pipeline/ceiling ${fmtSpread(relaxed.ratio, '', 3)}`,
      );
      console.log(`pipeline/cassandra-ceiling: ${fmtSpread(ratio, '', 3)} (synced stores, both)`);
      console.log(
        `ingest-cpu/raw-cpu: ${(cpu.ingestUs / cpu.rawUs).toFixed(2)} (${cpu.ingestUs.toFixed(1)} µs/row vs ${cpu.rawUs.toFixed(1)} µs/row)`,
      );
      const floor = cpu.rawUs + cpu.rawFetchAckUs;
      console.log(
        `ingest-cpu/(raw-cpu + raw-fetch-ack-cpu): ${(cpu.ingestUs / floor).toFixed(2)} (${cpu.ingestUs.toFixed(1)} µs/row ` +
          `vs ${cpu.rawUs.toFixed(1)} + ${cpu.rawFetchAckUs.toFixed(1)} µs/row: the two libraries' raw loops)`,
      );
    };
    if (QUICK) {
      console.log(
        `\nquick: synced (b) ${fmtSpread(ceiling, 'rows/s')}, (c) ${fmtSpread(pipeline, 'rows/s')}; relaxed ` +
          `(b) ${fmtSpread(relaxed.ceiling, 'rows/s')}, (c) ${fmtSpread(relaxed.pipeline, 'rows/s')}`,
      );
      printRatios();
      if (failures.length) throw new Error(`bench FAILED: ${failures.join('; ')}`);
      return;
    }

    t(
      `(f) the stream role (main.js stream) reading the first (c) backlog, ${fmt(BACKLOG)} readings after ` +
        `its first ${fmt(INGEST_WARMUP)}, as (c)`,
    );
    const f = await streamDrain(cRuns[0].backlog);
    console.log(`  (f) ${fmt(f.rate)} readings/s; CPU/reading stream ${us(f.cpuUs.role)}`);

    t(
      'ingest replicas against the same Cassandra (2 cores: above 1 this measures contention, not scale-out)',
    );
    const replicaRuns = [{ replicas: 1, rowsPerSecond: pipeline.median }];
    for (const replicas of [2, 4]) {
      const run = await ingestRun(`r${replicas}`, replicas);
      replicaRuns.push({ replicas, rowsPerSecond: run.rate });
    }

    const eCount = Math.min(100_000, Math.round(pipeline.median * 0.5 * 10));
    t(
      `(e) latency publish → row: ${fmt(eCount)} readings at 50% of (c) = ${fmt(pipeline.median * 0.5)}/s, 1 replica`,
    );
    const e = await (async () => {
      const { root, stream } = await freshRoot('e');
      const ingest = startRole('ingest', env, root, {
        INGEST_STREAM: stream,
        INGEST_SUBJECT_ROOT: root,
        RAW_STREAM_MAX_BYTES: String(STREAM_MAX_BYTES),
      });
      procs.push(ingest);
      const ackedAt = watchAcks(nc, stream);
      await nc.flush();
      const pub = await publishAt(nc, makeReadings(sim, eCount, 0), root, pipeline.median * 0.5);
      await waitAcked(ackedAt, eCount, eCount, 120);
      await stopAll([ingest], 30);
      const latencies: number[] = [];
      for (const [seq, at] of pub.publishedAt) {
        const acked = ackedAt.get(seq);
        if (acked !== undefined) latencies.push((acked - at) * 1000);
      }
      if (latencies.length < eCount) failures.push(`(e) ${eCount - latencies.length} rows not seen in 120 s`);
      latencies.sort((x, y) => x - y);
      return { seen: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
    })();
    console.log(
      `  (e) ${fmt(e.seen)} of ${fmt(eCount)} observed; p50 ${e.p50Ms.toFixed(1)} ms, p99 ${e.p99Ms.toFixed(1)} ms`,
    );

    t(
      '(d) one injector (services/src/simulator runInjector): acknowledged delivery into a synced stream, and ' +
        'core NATS publishing (no stream, no subscriber) beside it',
    );
    const injectRoot = async (tag: string) => ({ root: (await freshRoot(tag)).root, acked: true });
    const dMax = await injectorRate(env, await injectRoot('d1'), 2_000_000, 1_000_000, 10);
    const d50 = await injectorRate(env, await injectRoot('d2'), 50_000, 250_000, 6);
    const dCore = await injectorRate(
      env,
      { root: `bench_${id}_inject`, acked: false },
      2_000_000,
      1_000_000,
      10,
    );
    console.log(
      `  (d) acknowledged, as fast as it goes: ${fmt(dMax.rate)} readings/s (${fmt(dMax.total)} readings)`,
    );
    console.log(`  (d) acknowledged, asked for 50,000/s: ${fmt(d50.rate)} readings/s`);
    console.log(
      `  (d) core NATS, as fast as it goes: ${fmt(dCore.rate)} readings/s (acknowledged/core ${(dMax.rate / dCore.rate).toFixed(2)})`,
    );

    t('storage: raw_data on disk (after a flush) and in the JetStream file store');
    const storage = {
      cassandraBytesPerRow: cassandraBytesPerRow(cRuns[0].backlog.keyspace, cRuns[0].backlog.count),
      jetstreamBytesPerMessage: cRuns[0].backlog.bytesPerMessage,
    };
    console.log(
      `  raw_data ${storage.cassandraBytesPerRow.toFixed(1)} B/row on disk (compressed SSTables, one replica); ` +
        `JetStream ${storage.jetstreamBytesPerMessage.toFixed(1)} B/message`,
    );

    const loadEnd = loadAverage();
    console.log(`\nload average at end: ${loadEnd}`);
    console.log('\nsummary (medians, spread in brackets)');
    console.log(`  (a) nats pub→sub          ${fmt(a)} msg/s`);
    console.log(`  (b) cassandra ceiling     ${fmtSpread(ceiling, 'rows/s')}, concurrency ${best.level}`);
    console.log(`  (c) pipeline, 1 replica   ${fmtSpread(pipeline, 'rows/s')}`);
    if (INGEST_WARMUP)
      console.log(
        `      not counted           each process's first ${fmt(INGEST_WARMUP)}: ${warmup.rowsPerSecond === undefined ? 'n/a' : fmt(warmup.rowsPerSecond)} rows/s, ` +
          `CPU/row ingest ${us(warmup.ingestUs)}`,
      );
    console.log(
      `  (f) stream role drain     ${fmt(f.rate)} readings/s (f/c ${(f.rate / pipeline.median).toFixed(2)})`,
    );
    for (const r of replicaRuns)
      console.log(`      ingest × ${r.replicas}          ${fmt(r.rowsPerSecond)} rows/s`);
    console.log(
      `  (d) one injector          ${fmt(dMax.rate)} readings/s acknowledged (core NATS ${fmt(dCore.rate)})`,
    );
    console.log(`  (e) publish→row latency   p50 ${e.p50Ms.toFixed(1)} ms, p99 ${e.p99Ms.toFixed(1)} ms`);
    console.log(
      `  CPU per row               nats-server ${us(cpu.natsServerUs)}, Cassandra ${us(cpu.cassandraUs)} under ` +
        `ingest (${us(cassandraRawUs)} under the raw loop)`,
    );
    printRatios();

    const figures: BenchFigures = {
      version: BENCH_FIGURES_VERSION,
      measuredAt: new Date().toISOString(),
      commit: commit(),
      machine: {
        hostname: hostname(),
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryBytes: totalmem(),
        node: process.version,
        loadStart,
        loadEnd,
      },
      natsPubSub: a,
      cassandraCeiling: ceiling,
      pipeline,
      ingestWarmup: warmup,
      pipelineOverCeiling: ratio,
      relaxed: {
        cassandraCeiling: relaxed.ceiling,
        pipeline: relaxed.pipeline,
        pipelineOverCeiling: relaxed.ratio,
      },
      syncedOverRelaxed,
      cpuPerRow: { ...cpu, ratio: cpu.ingestUs / cpu.rawUs },
      streamDrain: f.rate,
      ingestReplicas: replicaRuns.map((r) => ({ ...r, perReplica: r.rowsPerSecond / r.replicas })),
      injectorRate: dMax.rate,
      injectorCoreRate: dCore.rate,
      latency: { p50Ms: e.p50Ms, p99Ms: e.p99Ms },
      storage,
    };
    if (!failures.length) console.log(`figures saved to ${writeFigures(figures)}`);
  } finally {
    await stopAll(procs, 5);
    // The backing services are left as the stack runs them, also after a failure in the relaxed part.
    if (durability === 'relaxed') await restartWith('synced').catch((err) => console.error(err));
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
    for (const ks of keyspaces)
      await cassandra
        .execute(`DROP KEYSPACE IF EXISTS ${ks}`, [], { readTimeout: 60_000 })
        .catch(() => undefined);
    await cassandra.shutdown();
    await nc.close();
  }

  if (!QUICK) {
    console.log('');
    if (process.env.BENCH_SKIP_MODEL !== '1') await runModelBench();
    await runOutageBench();
  }

  if (failures.length) {
    console.error(`\nbench FAILED, figures not measured (nothing saved):\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().then(
  () => process.exit(),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
