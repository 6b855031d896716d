// `npm run bench`: the pipeline's figures measured in one run on this machine, against the backing
// services of scripts/backing-services.sh (reused when running, started otherwise). Loopback only; every
// phase is bounded in count and time. The phases, in the order they run and print (README, "Benchmarks"),
// each in its own module under phases/:
//   (a) nats.js publish→subscribe rate                                   nats-pubsub.ts
//   the price of durability: with relaxed stores, then synced ones       interleaved.ts (machine.ts restarts)
//     warm-up of the raw insert loop, not counted                        ceiling.ts
//     (b) Cassandra insert ceiling, (a′) raw JetStream fetch+ack loop,   ceiling.ts, fetch-ack.ts,
//     (c) the pipeline (one ingest process), interleaved b a′ c … b      ingest.ts (timed as drain.ts says)
//   CPU time per stored row, from the processes' own counters            cpu.ts, summary.ts
//   (f) the stream role draining the same backlog                        stream-drain.ts
//   ingest with 2 and 4 replicas                                         ingest.ts
//   (e) handed-to-the-delivery→row latency at half of (c)                latency.ts
//   (d) one injector: acknowledged delivery, core NATS beside it         injector.ts
//   storage: raw_data bytes per row on disk, JetStream bytes per message storage.ts
//   then the model (model.ts) and the outage detector (outage.ts).
// BENCH_QUICK=1 stops after the two modes' (b), (a′) and (c). Backlogs go in as the injectors deliver them
// (acknowledged atomic batches: core publishing into a synced stream loses what the server cannot keep up
// with). Any figure that cannot be measured (a timeout, a lost row) fails the run with exit code 1 and
// says which; figures are saved (figures.ts) only from a full run without failures.
import { Bench } from './context';
import { writeFigures } from './figures';
import { backing, loadAverage } from './machine';
import { runModelBench } from './model';
import { runOutageBench } from './outage';
import { injectorRate } from './phases/injector';
import { ingestReplicas } from './phases/ingest';
import { interleaved } from './phases/interleaved';
import { latency } from './phases/latency';
import { natsPubSub } from './phases/nats-pubsub';
import { cassandraBytesPerRow } from './phases/storage';
import { streamDrain } from './phases/stream-drain';
import { BACKLOG, INGEST_WARMUP, QUICK, RUN_ID } from './settings';
import { fmt, fmtUs } from './stats';
import { cpuPerRow, figuresOf, printQuick, printRatios, printSummary } from './summary';

const title = (name: string) => console.log(`\n${name}`);

async function main() {
  const env = await backing();
  const loadStart = loadAverage();
  console.log(
    `node ${process.version}; load average at start: ${loadStart} (the machine may be shared: the CPU figures move least)`,
  );
  const bench = await Bench.open(env);
  try {
    title('(a) nats.js publish → subscribe, separate connections in one process, 56 B, 500,000 messages');
    const a = await natsPubSub(env, 500_000, 20);
    console.log(`  (a) ${fmt(a)} msg/s`);

    title('relaxed stores: the backing NATS and Cassandra restarted with DURABILITY=relaxed (periodic sync)');
    await bench.restartWith('relaxed');
    const relaxed = await interleaved(bench, 'x', false);
    title('synced stores (the default): restarted with DURABILITY=synced; everything below runs on them');
    await bench.restartWith('synced');
    const synced = await interleaved(bench, '', true);
    const cpu = cpuPerRow(synced);
    if (QUICK) {
      printQuick(synced, relaxed);
      printRatios(synced, relaxed, cpu);
      if (bench.failures.length) throw new Error(`bench FAILED: ${bench.failures.join('; ')}`);
      return;
    }
    const pipeline = synced.pipeline.median;

    title(
      `(f) the stream role (main.js stream) reading the first (c) backlog, ${fmt(BACKLOG)} readings after ` +
        `its first ${fmt(INGEST_WARMUP)}, as (c)`,
    );
    const f = await streamDrain(bench, synced.cRuns[0].backlog);
    console.log(`  (f) ${fmt(f.rate)} readings/s; CPU/reading stream ${fmtUs(f.cpuUs.role)}`);

    title(
      'ingest replicas against the same Cassandra (2 cores: above 1 this measures contention, not scale-out)',
    );
    const replicaRuns = await ingestReplicas(bench, pipeline);

    const eCount = Math.min(100_000, Math.round(pipeline * 0.5 * 10));
    title(
      `(e) latency publish → row: ${fmt(eCount)} readings at 50% of (c) = ${fmt(pipeline * 0.5)}/s, 1 replica`,
    );
    const e = await latency(bench, eCount, pipeline * 0.5);
    console.log(
      `  (e) ${fmt(e.seen)} of ${fmt(eCount)} observed; p50 ${e.p50Ms.toFixed(1)} ms, p99 ${e.p99Ms.toFixed(1)} ms`,
    );

    title(
      '(d) one injector (services/src/simulator runInjector): acknowledged delivery into a synced stream, and ' +
        'core NATS publishing (no stream, no subscriber) beside it',
    );
    const injectRoot = async (tag: string) => ({ root: (await bench.freshRoot(tag)).root, acked: true });
    const dMax = await injectorRate(env, await injectRoot('d1'), 2_000_000, 1_000_000, 10);
    const d50 = await injectorRate(env, await injectRoot('d2'), 50_000, 250_000, 6);
    const dCore = await injectorRate(
      env,
      { root: `bench_${RUN_ID}_inject`, acked: false },
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

    title('storage: raw_data on disk (after a flush) and in the JetStream file store');
    const first = synced.cRuns[0].backlog;
    const storage = {
      cassandraBytesPerRow: cassandraBytesPerRow(first.keyspace, first.count),
      jetstreamBytesPerMessage: first.bytesPerMessage,
    };
    console.log(
      `  raw_data ${storage.cassandraBytesPerRow.toFixed(1)} B/row on disk (compressed SSTables, one replica); ` +
        `JetStream ${storage.jetstreamBytesPerMessage.toFixed(1)} B/message`,
    );

    const run = {
      natsPubSub: a,
      streamDrain: f.rate,
      replicaRuns,
      injector: { acked: dMax.rate, core: dCore.rate },
      latency: { p50Ms: e.p50Ms, p99Ms: e.p99Ms },
      storage,
      load: { start: loadStart, end: loadAverage() },
    };
    printSummary(synced, relaxed, cpu, run);
    if (!bench.failures.length)
      console.log(`figures saved to ${writeFigures(figuresOf(synced, relaxed, cpu, run))}`);
  } finally {
    await bench.close();
  }

  if (!QUICK) {
    console.log('');
    if (process.env.BENCH_SKIP_MODEL !== '1') await runModelBench();
    await runOutageBench();
  }

  if (bench.failures.length) {
    console.error(`\nbench FAILED, figures not measured (nothing saved):\n  ${bench.failures.join('\n  ')}`);
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
