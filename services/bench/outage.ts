// Outage benchmark: the real injector with seeded outages (single meters and whole transformers) publishes
// into a fresh raw stream on the backing NATS, the real stream job (in this process) detects them into a
// fresh keyspace, and what it wrote is compared with what the simulator injected (simulator/outages.ts
// outageRuns). Prints precision and recall of meter and of transformer outages (goal: >= 0.99 each) and
// the detection delay in simulated minutes (p50, p99): from the first reading an outage took away to the
// event time at which it was reported. Bounded: 960 cycles (10 simulated days) in about 30 s, then at most
// 2 minutes for the job to catch up.
//
// Standalone: npm run bench:outage --workspace services   (needs the backing services running)
// From the main bench: import { runOutageBench } from './outage'.
import { Client } from 'cassandra-driver';
import { Registry } from 'prom-client';
import { createCassandraClient } from '../src/lib/cassandra';
import { createLogger } from '../src/lib/log';
import { sleep } from '../src/lib/retry';
import { createSimulator, OutageOptions, outageRuns, Simulator } from '../src/simulator';
import { runInjector } from '../src/simulator/publisher';
import { migrate } from '../src/storage/migrate';
import { StreamJob } from '../src/streaming/job';
import { createStreamMetrics } from '../src/streaming/metrics';
import { jetStreamStreamsOf, StreamSettings } from '../src/streaming/settings';
import { backingEnv, cassandraSettingsFor, natsConnect, testDelivery } from '../harness/backing';

export interface OutageBenchOptions {
  /** Simulated days injected (cycles of 15 simulated minutes). */
  days?: number;
  /** Real milliseconds per cycle. */
  cycleMs?: number;
  outages?: OutageOptions;
  print?: (line: string) => void;
}

export interface OutageBenchResult {
  meter: { injected: number; detected: number; precision: number; recall: number };
  transformer: { injected: number; detected: number; precision: number; recall: number };
  delayP50Minutes: number;
  delayP99Minutes: number;
}

const I = 900;
const TOPOLOGY = { lines: 1, transformers: 10, usagePoints: 20 };

interface Span {
  key: string;
  start: number;
  /** Exclusive; the last epoch + I when still open at the end. */
  end: number;
  detected?: number;
}

const overlaps = (a: Span, b: Span) => a.key === b.key && a.start < b.end && b.start < a.end;

/** Precision and recall of detected spans against injected ones (matched by key and overlap). */
function score(injected: Span[], detected: Span[]) {
  const hit = injected.filter((r) => detected.some((d) => overlaps(r, d)));
  const right = detected.filter((d) => injected.some((r) => overlaps(r, d)));
  return {
    injected: injected.length,
    detected: detected.length,
    precision: detected.length ? right.length / detected.length : 1,
    recall: injected.length ? hit.length / injected.length : 1,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Epoch runs during which every meter of a transformer was dark: the whole-transformer outages. */
function transformerRuns(sim: Simulator, epochs: number[]): Span[] {
  const out: Span[] = [];
  for (let t = 1; t <= sim.topology.transformers; t++) {
    const of = sim.meters.map((m, i) => ({ m, i })).filter(({ m }) => m.transformer === t);
    let open: Span | null = null;
    for (const e of epochs) {
      const allDark = of.every(({ i }) => sim.dark(i, e));
      if (allDark && !open) out.push((open = { key: `${of[0].m.line}.${t}`, start: e, end: Infinity }));
      if (!allDark && open) {
        open.end = e;
        open = null;
      }
    }
  }
  return out;
}

async function rowsOf(client: Client, cql: string, params: number[]) {
  return (await client.execute(cql, params, { prepare: true })).rows;
}

export async function runOutageBench(opts: OutageBenchOptions = {}): Promise<OutageBenchResult> {
  const print = opts.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const days = opts.days ?? 10;
  const cycleMs = opts.cycleMs ?? 25;
  const outages = opts.outages ?? { perDay: 1, transformerPerDay: 0.2, minutes: 120 };
  const env = backingEnv();
  const log = createLogger({ role: 'bench' }, 'warn');
  const id = Date.now().toString(36);
  const root = `benchoutage${id}`;
  const keyspace = `bench_outage_${id}`;
  const settings: StreamSettings = {
    stream: root.toUpperCase(),
    outageStream: `${root.toUpperCase()}_OUTAGES`,
    streamMaxAgeSeconds: 3600,
    streamMaxBytes: 256 * 1024 ** 2,
    subjectRoot: root,
    statePrefix: `${root}-state`,
    allowedLatenessS: 900,
    flushIntervalMs: 1000,
    idleTimeoutMs: 5000,
    leaseTtlMs: 10_000,
    instanceId: 'bench',
    alertThresholdV: 120,
    alertMinCount: 2,
    alertWindowS: 0,
    maxAheadS: 14_400,
    outageIntervals: 3,
    transformerOutageShare: 0.5,
  };
  const sim = createSimulator({ seed: 1, topology: TOPOLOGY, slot: 1, outages });
  const perCycle = sim.meters.length + 2;
  const cycles = days * 96;
  print(
    `outages: ${sim.meters.length} meters on ${TOPOLOGY.transformers} transformers, ${days} simulated days ` +
      `(${cycles} cycles of 15 min, ${cycleMs} ms each); injected ${outages.perDay}/meter/day and ` +
      `${outages.transformerPerDay}/transformer/day of ${outages.minutes} min; detection after ` +
      `${settings.outageIntervals} intervals, transformer share ${settings.transformerOutageShare}`,
  );

  const cassandraSettings = cassandraSettingsFor(env, keyspace);
  const client = createCassandraClient(cassandraSettings);
  await client.connect();
  const nc = await natsConnect(env, 'bench-outage');
  const job = new StreamJob(settings, {
    nc,
    cassandra: client,
    keyspace,
    log,
    metrics: createStreamMetrics(new Registry()),
  });
  try {
    await migrate(client, cassandraSettings, { replicationFactor: 1 }, log);
    await job.start();
    const stats = await runInjector(testDelivery(nc), sim, {
      rate: (perCycle * 1000) / cycleMs,
      acceleration: (I * 1000) / cycleMs,
      start: Date.UTC(2024, 0, 1) / 1000,
      anchor: Date.now() / 1000,
      maxReadings: cycles * perCycle,
      durationSeconds: (cycles * cycleMs) / 1000 + 30,
      subjectRoot: root,
    });
    const jsm = await nc.jetstreamManager();
    const last = (await jsm.streams.info(settings.stream)).state.last_seq;
    const deadline = Date.now() + 120_000;
    while (job.checkpointedSeq < last) {
      if (Date.now() > deadline)
        throw new Error(`the stream job did not catch up within 120 s (seq ${last})`);
      await sleep(200);
    }

    const epochs: number[] = [];
    for (let e = stats.firstEpoch; e <= stats.lastEpoch; e += I) epochs.push(e);
    const first = epochs[0];
    const end = stats.lastEpoch + I;
    // Counted: outages the detector could see whole, starting once the meter had reported twice and early
    // enough for 3 intervals of silence plus the allowed lateness before the run ended.
    const countable = (start: number) => start >= first + 2 * I && start + 6 * I <= stats.lastEpoch;
    const injectedMeters: Span[] = outageRuns(sim.meters, sim.dark, epochs)
      .filter((r) => countable(r.start))
      .map((r) => ({
        key: `${r.meter.line}.${r.meter.transformer}.${r.meter.usagePoint}`,
        start: r.start,
        end: r.end ?? end,
      }));
    const injectedTransformers = transformerRuns(sim, epochs).filter((r) => countable(r.start));

    const line = sim.meters[0].line;
    const detectedMeters: Span[] = [];
    const detectedTransformers: Span[] = [];
    for (let t = 1; t <= TOPOLOGY.transformers; t++) {
      const rows = await rowsOf(
        client,
        `SELECT usagepoint, start_epoch, end_epoch, detected_epoch FROM ${keyspace}.meter_outages WHERE line = ? AND transformer = ?`,
        [line, t],
      );
      for (const r of rows) {
        detectedMeters.push({
          key: `${line}.${t}.${r.usagepoint}`,
          start: Number(r.start_epoch),
          end: r.end_epoch === null ? end : Number(r.end_epoch),
          detected: Number(r.detected_epoch),
        });
      }
    }
    for (const r of await rowsOf(
      client,
      `SELECT transformer, start_epoch, end_epoch FROM ${keyspace}.transformer_outages WHERE line = ?`,
      [line],
    )) {
      detectedTransformers.push({
        key: `${line}.${r.transformer}`,
        start: Number(r.start_epoch),
        end: r.end_epoch === null ? end : Number(r.end_epoch),
      });
    }
    // Detections of outages that started too early or too late to count are left out of precision too.
    const inScope = (d: Span) => countable(d.start);
    const meter = score(injectedMeters, detectedMeters.filter(inScope));
    const transformer = score(injectedTransformers, detectedTransformers.filter(inScope));
    const delays = injectedMeters
      .map((r) => detectedMeters.find((d) => overlaps(r, d))?.detected)
      .map((detected, i) => (detected === undefined ? NaN : (detected - injectedMeters[i].start) / 60))
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
    const result: OutageBenchResult = {
      meter,
      transformer,
      delayP50Minutes: percentile(delays, 50),
      delayP99Minutes: percentile(delays, 99),
    };
    const fmt = (s: typeof meter) =>
      `${s.injected} injected, ${s.detected} detected; precision ${s.precision.toFixed(4)}, recall ${s.recall.toFixed(4)}`;
    print(`  meter outages: ${fmt(meter)}`);
    print(`  transformer outages: ${fmt(transformer)}`);
    print(
      `  detection delay (simulated minutes, first reading missed → reported): p50 ${result.delayP50Minutes}, ` +
        `p99 ${result.delayP99Minutes}`,
    );
    return result;
  } finally {
    await job.stop().catch(() => undefined);
    const jsm = await nc.jetstreamManager();
    for (const name of jetStreamStreamsOf(settings)) await jsm.streams.delete(name).catch(() => undefined);
    await nc.close();
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await client.shutdown();
  }
}

if (require.main === module) {
  runOutageBench().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`outage bench failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
