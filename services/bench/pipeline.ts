// `npm run bench`: the pipeline's figures measured in one run on this machine, against the backing
// services of scripts/backing-services.sh (reused when running, started otherwise). Loopback only;
// every phase is bounded in count and time. Prints:
//   (a) nats.js publish→subscribe rate, separate connections, 56-byte payloads
//   (b) Cassandra insert ceiling: the same raw_data rows with cassandra-driver's executeConcurrent,
//       at several concurrency levels (the best is the ceiling)
//   (c) the pipeline's sustained rate: readings published into a JetStream stream faster than they can
//       be stored, ingest processes (`main.js ingest`; 1 replica as on the local stack, then 2 as on
//       AWS) drain them; rows/s from the first acknowledged row to the last (ack floor polled, so the
//       measurement adds no per-row work), and the row count checked against what the stream accepted
//   (d) one injector's publish rate (services/src/simulator, as fast as it goes and at 50,000/s)
//   (e) p50/p99 latency from publish to row, at half the pipeline's rate
//   then the ML section (services/bench/model.ts).
// Ingest acknowledges a message only after Cassandra accepted its row, and acks are NATS messages on
// `$JS.ACK.<stream>.…<stream seq>…`: for (e) the bench subscribes to them, so it sees when each
// reading's row was written without polling Cassandra. Any figure that cannot be measured (a timeout,
// a lost row) fails the run with exit code 1 and says which.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client, concurrent } from 'cassandra-driver';
import { connect, NatsConnection } from 'nats';
import { createCassandraClient } from '../src/lib/cassandra';
import { ensureRawStream } from '../src/lib/jetstream';
import { createLogger } from '../src/lib/log';
import { sleep } from '../src/lib/retry';
import { rawDataInsert, rawDataParams } from '../src/ingest/rows';
import { createSimulator, Simulator, topologyFromRate } from '../src/simulator';
import { runInjector } from '../src/simulator/publisher';
import { migrate } from '../src/storage/migrate';
import { encodeVoltage, parseVoltageSubject } from '../src/wire/codec';
import {
  backingEnv,
  BackingEnv,
  requireService,
  roleProcessEnv,
  cassandraSettingsFor,
} from '../test/support/backing';
import { runModelBench } from './model';
import { runOutageBench } from './outage';

// Small: the JetStream disk budget of a shared server is shared by everyone.
const STREAM_MAX_BYTES = 512 * 1024 ** 2;
const log = createLogger({ role: 'bench' }, 'warn');
const now = () => Number(process.hrtime.bigint()) / 1e9;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const id = Date.now().toString(36);

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

// The readings every phase uses: the simulator's meters and model, one reading per meter per
// simulated minute, so each is a distinct raw_data row.
interface Reading {
  subject: string; // smartmeter.raw.voltage.data.<line>.<transformer>.<usagepoint>
  data: Uint8Array;
}
function makeReadings(sim: Simulator, count: number, firstMinute: number): Reading[] {
  const out: Reading[] = [];
  const start = Date.UTC(2025, 0, 6) / 1000;
  for (let k = 0; out.length < count; k++) {
    const epoch = start + (firstMinute + Math.floor(k / sim.meters.length)) * 60;
    const i = k % sim.meters.length;
    out.push({ subject: sim.subjects[i], data: encodeVoltage(sim.voltageAt(i, epoch, 12).reading) });
  }
  return out;
}
const reroot = (subject: string, root: string) => subject.replace(/^smartmeter\./, `${root}.`);

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

// (b) ------------------------------------------------------------------------------------------
async function cassandraCeiling(client: Client, keyspace: string, readings: Reading[]) {
  const query = rawDataInsert(keyspace);
  const params = readings.map((r) => rawDataParams(parseVoltageSubject(r.subject), decode(r)));
  const results: { level: number; rate: number }[] = [];
  for (const level of [64, 128, 256, 512, 1024]) {
    const t0 = now();
    await concurrent.executeConcurrent(client, query, params, { concurrencyLevel: level });
    results.push({ level, rate: params.length / (now() - t0) });
    console.log(`  (b) concurrency ${level}: ${fmt(results[results.length - 1].rate)} rows/s`);
  }
  return results.reduce((best, r) => (r.rate > best.rate ? r : best));
}
function decode(r: Reading) {
  const dv = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  const values = Array.from({ length: 10 }, (_, i) => dv.getFloat32(16 + 4 * i));
  return { epoch: Number(dv.getBigInt64(0)), voltage: dv.getFloat32(8), demand: dv.getFloat32(12), values };
}

// (c) and (e) ------------------------------------------------------------------------------------
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

/** Publishes with core NATS (as the injector does) at `rate`, recording each stream sequence's time. */
async function publishAt(
  nc: NatsConnection,
  readings: Reading[],
  root: string,
  rate: number,
  firstSeq: number,
) {
  const publishedAt = new Map<number, number>();
  const t0 = now();
  let i = 0;
  while (i < readings.length) {
    const due = Math.min(readings.length, Math.floor((now() - t0) * rate) + 1);
    for (; i < due; i++) {
      nc.publish(reroot(readings[i].subject, root), readings[i].data);
      publishedAt.set(firstSeq + i, now());
    }
    await nc.flush();
    if (i < due + 1) await sleep(1);
  }
  return { publishedAt, seconds: now() - t0 };
}

function startIngest(env: BackingEnv, keyspace: string, stream: string, root: string): ChildProcess {
  const main = resolve(__dirname, '../src/main.js');
  return spawn(process.execPath, [main, 'ingest'], {
    env: {
      ...roleProcessEnv(env, keyspace),
      INGEST_STREAM: stream,
      RAW_STREAM_MAX_BYTES: String(STREAM_MAX_BYTES),
      INGEST_SUBJECT_ROOT: root,
      // ingest's own defaults unless set, so the figure is the deployed service's
      ...(process.env.INGEST_CONCURRENCY ? { INGEST_CONCURRENCY: process.env.INGEST_CONCURRENCY } : {}),
      ...(process.env.INGEST_BATCH ? { INGEST_BATCH: process.env.INGEST_BATCH } : {}),
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/**
 * Times the drain of stream sequences 1..lastSeq by polling the consumer's ack floor: from the first
 * acknowledged reading to the moment every one is acknowledged. Fails if that takes over timeoutS.
 */
async function timeDrain(
  nc: NatsConnection,
  stream: string,
  consumer: string,
  lastSeq: number,
  timeoutS: number,
) {
  const jsm = await nc.jetstreamManager();
  const deadline = now() + timeoutS;
  let first: number | undefined;
  for (;;) {
    const info = await jsm.consumers.info(stream, consumer).catch(() => undefined);
    const t = now();
    if (info && first === undefined && info.ack_floor.stream_seq > 0) first = t;
    if (info && info.ack_floor.stream_seq >= lastSeq && info.num_ack_pending === 0) {
      return { first: first ?? t, last: t, redelivered: info.num_redelivered };
    }
    if (t > deadline) {
      throw new Error(
        `(c) not drained in ${timeoutS} s: ack floor ${info?.ack_floor.stream_seq ?? '?'} of ${lastSeq}`,
      );
    }
    await sleep(25);
  }
}

async function waitAcked(ackedAt: Map<number, number>, lastSeq: number, count: number, timeoutS: number) {
  const deadline = now() + timeoutS;
  while (!ackedAt.has(lastSeq) && now() < deadline) await sleep(100);
  // The last one may overtake an earlier one: wait until the count matches too.
  while (ackedAt.size < count && now() < deadline) await sleep(100);
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

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

// (d) ------------------------------------------------------------------------------------------
async function injectorRate(env: BackingEnv, rate: number, maxReadings: number, seconds: number) {
  const nc = await natsConnect(env, 'bench-inject');
  try {
    // The injector's own subjects under a bench root: never into someone else's stream.
    const sim = createSimulator({ seed: 42, topology: topologyFromRate(rate) });
    const stats = await runInjector(nc, sim, {
      rate,
      start: Date.UTC(2025, 0, 6) / 1000,
      acceleration: 900,
      maxReadings,
      durationSeconds: seconds,
      subjectRoot: `bench_${id}_inject`,
    });
    return { rate: stats.total / stats.elapsedSeconds, total: stats.total };
  } finally {
    await nc.close();
  }
}

/** Exits once every process is gone; SIGKILL for any still running after `graceS`. */
async function stopAll(procs: ChildProcess[], graceS: number): Promise<void> {
  const running = procs.filter((p) => p.exitCode === null && p.signalCode === null);
  const exits = running.map((p) => new Promise((res) => p.once('exit', res)));
  for (const p of running) p.kill('SIGTERM');
  const timer = setTimeout(() => running.forEach((p) => p.kill('SIGKILL')), graceS * 1000);
  await Promise.all(exits);
  clearTimeout(timer);
}

async function main() {
  const t = (name: string) => console.log(`\n${name}`);
  const env = await backing();
  const load = () => execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' ');
  console.log(`load average at start: ${load()} (the machine is shared: figures include that noise)`);
  const keyspace = `bench_${id}`;
  const settings = cassandraSettingsFor(env, keyspace);
  const cassandra = createCassandraClient(settings);
  await cassandra.connect();
  await migrate(cassandra, settings, { replicationFactor: 1 }, log);
  const nc = await natsConnect(env, 'bench');
  const jsm = await nc.jetstreamManager();
  const sim = createSimulator({ seed: 7, topology: topologyFromRate(10_000) });
  const streams: string[] = [];
  const ingests: ChildProcess[] = [];
  let rowsSoFar = 0;
  const failures: string[] = [];

  /** (c) with `replicas` ingest processes on a fresh stream; readings' keys start at `firstMinute`. */
  async function pipeline(replicas: number, count: number, rate: number, firstMinute: number) {
    const root = `bench_${id}_${replicas}r`;
    const stream = root.toUpperCase();
    streams.push(stream);
    await ensureRawStream(jsm, {
      name: stream,
      subjects: [`${root}.raw.>`],
      maxAgeSeconds: 3600,
      maxBytes: STREAM_MAX_BYTES,
    });
    const procs = Array.from({ length: replicas }, () => startIngest(env, keyspace, stream, root));
    ingests.push(...procs);
    const rows = makeReadings(sim, count, firstMinute);
    const pub = await publishAt(nc, rows, root, rate, 1);
    const accepted = (await jsm.streams.info(stream)).state.messages;
    const drain = await timeDrain(nc, stream, 'ingest', count, 300);
    const c = (count - 1) / (drain.last - drain.first);
    const total = await countRows(cassandra, keyspace);
    const stored = total - rowsSoFar;
    rowsSoFar = total;
    const zeroLoss = accepted === count && stored === count;
    console.log(
      `  (c) ${replicas} replica(s): published ${fmt(count)} at ${fmt(count / pub.seconds)}/s; stream accepted ${fmt(accepted)}; ` +
        `rows stored ${fmt(stored)} (${zeroLoss ? 'zero loss' : 'MISMATCH'}); redelivered ${drain.redelivered}`,
    );
    console.log(`  (c) ${replicas} replica(s): ${fmt(c)} rows/s sustained, first to last acknowledged row`);
    if (!zeroLoss) failures.push(`(c) ${replicas} replica(s): ${stored} rows for ${count} readings`);
    return { c, zeroLoss, root, stream, procs };
  }

  try {
    t('(a) nats.js publish → subscribe, separate connections in one process, 56 B, 500,000 messages');
    const a = await natsPubSub(env, 500_000, 20);
    console.log(`  (a) ${fmt(a)} msg/s`);

    t(
      '(b) Cassandra insert ceiling, raw_data rows, cassandra-driver executeConcurrent, 40,000 rows per level',
    );
    const bRows = makeReadings(sim, 40_000, 0);
    const b = await cassandraCeiling(cassandra, keyspace, bRows);
    rowsSoFar = bRows.length;
    console.log(`  (b) best: ${fmt(b.rate)} rows/s at concurrency ${b.level}`);

    const cCount = Math.min(300_000, Math.max(60_000, Math.round(b.rate * 15)));
    t(
      `(c) pipeline: ${fmt(cCount)} readings published (core NATS) into a stream at ~1.5× (b) while ingest ` +
        `(defaults unless INGEST_* set) drains it; 1 replica (local stack), then 2 (AWS stack)`,
    );
    const one = await pipeline(1, cCount, b.rate * 1.5, 100_000); // keys disjoint from (b)'s
    const c = one.c;

    const eCount = Math.min(100_000, Math.round(c * 0.5 * 10));
    t(`(e) latency publish → row: ${fmt(eCount)} readings at 50% of (c) = ${fmt(c * 0.5)}/s, 1 replica`);
    const ackedAt = watchAcks(nc, one.stream);
    await nc.flush();
    const eRows = makeReadings(sim, eCount, 200_000);
    const e = await publishAt(nc, eRows, one.root, c * 0.5, cCount + 1);
    await waitAcked(ackedAt, cCount + eCount, eCount, 120);
    const latencies: number[] = [];
    for (const [seq, at] of e.publishedAt) {
      const acked = ackedAt.get(seq);
      if (acked !== undefined) latencies.push((acked - at) * 1000);
    }
    if (latencies.length < eCount) failures.push(`(e) ${eCount - latencies.length} rows not seen in 120 s`);
    latencies.sort((x, y) => x - y);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(
      `  (e) ${fmt(latencies.length)} of ${fmt(eCount)} observed; p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
    );
    await stopAll(one.procs, 30);
    rowsSoFar += eCount;

    const two = await pipeline(2, cCount, b.rate * 1.5, 300_000);
    await stopAll(two.procs, 30);

    t('(d) one injector (services/src/simulator runInjector), core NATS publish, no subscriber');
    const dMax = await injectorRate(env, 2_000_000, 1_000_000, 10);
    const d50 = await injectorRate(env, 50_000, 250_000, 6);
    const d = dMax.rate;
    console.log(`  (d) as fast as it goes: ${fmt(dMax.rate)} readings/s (${fmt(dMax.total)} readings)`);
    console.log(`  (d) asked for 50,000/s: ${fmt(d50.rate)} readings/s`);

    console.log(`\nload average at end: ${load()}`);
    console.log('\nsummary');
    console.log(`  (a) nats pub→sub          ${fmt(a)} msg/s`);
    console.log(`  (b) cassandra ceiling     ${fmt(b.rate)} rows/s (concurrency ${b.level})`);
    console.log(
      `  (c) pipeline sustained    ${fmt(c)} rows/s with 1 ingest replica, ${one.zeroLoss ? 'zero loss' : 'LOSS'}`,
    );
    console.log(
      `      with 2 replicas       ${fmt(two.c)} rows/s, ${two.zeroLoss ? 'zero loss' : 'LOSS'} (c/b ${(two.c / b.rate).toFixed(3)})`,
    );
    console.log(`  (d) one injector          ${fmt(d)} readings/s`);
    console.log(`  (e) publish→row latency   p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    console.log(`  c/b ${(c / b.rate).toFixed(3)}   d/a ${(d / a).toFixed(3)}`);
    console.log(`pipeline/cassandra-ceiling: ${(c / b.rate).toFixed(3)} (1 ingest replica)`);
  } finally {
    await stopAll(ingests, 5);
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
    await cassandra
      .execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { readTimeout: 60_000 })
      .catch(() => undefined);
    await cassandra.shutdown();
    await nc.close();
  }

  console.log('');
  await runModelBench();
  await runOutageBench();

  if (failures.length) {
    console.error(`\nbench FAILED, figures not measured:\n  ${failures.join('\n  ')}`);
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
