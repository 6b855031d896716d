// The end of `npm run bench`: the CPU per row and the ratios of the synced and relaxed runs, the summary,
// and the figures as saved for `npm run plan` (figures.ts).
import { cpus, hostname, totalmem } from 'node:os';
import { BENCH_FIGURES_VERSION, BenchFigures } from './figures';
import { commit } from './machine';
import { ModeRuns } from './phases/interleaved';
import { INGEST_WARMUP } from './settings';
import { fmt, fmtSpread, fmtUs, spread } from './stats';

const median = (xs: (number | undefined)[]) =>
  xs.every((x) => x !== undefined) ? spread(xs as number[]).median : undefined;

/** CPU per row of the synced runs: ingest, the two raw loops, the servers; and the ingest warm-ups'. */
export function cpuPerRow(synced: ModeRuns) {
  const { bRuns, aRuns, cRuns } = synced;
  return {
    cpu: {
      ingestUs: median(cRuns.map((r) => r.cpuUs.role))!,
      rawUs: median(bRuns.map((r) => r.rawUs))!,
      rawFetchAckUs: median(aRuns.map((r) => r.rawUs))!,
      natsServerUs: median(cRuns.map((r) => r.cpuUs.nats)),
      cassandraUs: median(cRuns.map((r) => r.cpuUs.cassandra)),
    },
    cassandraRawUs: median(bRuns.map((r) => r.cassandraUs)),
    warmup: {
      readings: INGEST_WARMUP,
      rowsPerSecond: median(cRuns.map((r) => r.warmup?.rate)),
      ingestUs: median(cRuns.map((r) => r.warmup?.roleUs)),
    },
  };
}
type Cpu = ReturnType<typeof cpuPerRow>;

/** The four closing lines the README shows. */
export function printRatios(synced: ModeRuns, relaxed: ModeRuns, { cpu }: Cpu): void {
  const { ceiling, pipeline, ratio } = synced;
  const syncedOverRelaxed = pipeline.median / relaxed.pipeline.median;
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
}

/** BENCH_QUICK's one line before the ratios. */
export function printQuick(synced: ModeRuns, relaxed: ModeRuns): void {
  console.log(
    `\nquick: synced (b) ${fmtSpread(synced.ceiling, 'rows/s')}, (c) ${fmtSpread(synced.pipeline, 'rows/s')}; relaxed ` +
      `(b) ${fmtSpread(relaxed.ceiling, 'rows/s')}, (c) ${fmtSpread(relaxed.pipeline, 'rows/s')}`,
  );
}

/** What the full run measured beyond the two modes' interleaved runs. */
export interface FullRun {
  natsPubSub: number;
  streamDrain: number;
  replicaRuns: { replicas: number; rowsPerSecond: number }[];
  injector: { acked: number; core: number };
  latency: { p50Ms: number; p99Ms: number };
  storage: { cassandraBytesPerRow: number; jetstreamBytesPerMessage: number };
  load: { start: number; end: number };
}

export function printSummary(synced: ModeRuns, relaxed: ModeRuns, cpu: Cpu, run: FullRun): void {
  const { best, ceiling, pipeline } = synced;
  const { warmup } = cpu;
  console.log(`\nload average at end: ${run.load.end}`);
  console.log('\nsummary (medians, spread in brackets)');
  console.log(`  (a) nats pub→sub          ${fmt(run.natsPubSub)} msg/s`);
  console.log(`  (b) cassandra ceiling     ${fmtSpread(ceiling, 'rows/s')}, concurrency ${best.level}`);
  console.log(`  (c) pipeline, 1 replica   ${fmtSpread(pipeline, 'rows/s')}`);
  if (INGEST_WARMUP)
    console.log(
      `      not counted           each process's first ${fmt(INGEST_WARMUP)}: ${warmup.rowsPerSecond === undefined ? 'n/a' : fmt(warmup.rowsPerSecond)} rows/s, ` +
        `CPU/row ingest ${fmtUs(warmup.ingestUs)}`,
    );
  console.log(
    `  (f) stream role drain     ${fmt(run.streamDrain)} readings/s (f/c ${(run.streamDrain / pipeline.median).toFixed(2)})`,
  );
  for (const r of run.replicaRuns)
    console.log(`      ingest × ${r.replicas}          ${fmt(r.rowsPerSecond)} rows/s`);
  console.log(
    `  (d) one injector          ${fmt(run.injector.acked)} readings/s acknowledged (core NATS ${fmt(run.injector.core)})`,
  );
  console.log(
    `  (e) publish→row latency   p50 ${run.latency.p50Ms.toFixed(1)} ms, p99 ${run.latency.p99Ms.toFixed(1)} ms`,
  );
  console.log(
    `  CPU per row               nats-server ${fmtUs(cpu.cpu.natsServerUs)}, Cassandra ${fmtUs(cpu.cpu.cassandraUs)} under ` +
      `ingest (${fmtUs(cpu.cassandraRawUs)} under the raw loop)`,
  );
  printRatios(synced, relaxed, cpu);
}

export function figuresOf(
  synced: ModeRuns,
  relaxed: ModeRuns,
  { cpu, warmup }: Cpu,
  run: FullRun,
): BenchFigures {
  return {
    version: BENCH_FIGURES_VERSION,
    measuredAt: new Date().toISOString(),
    commit: commit(),
    machine: {
      hostname: hostname(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      node: process.version,
      loadStart: run.load.start,
      loadEnd: run.load.end,
    },
    natsPubSub: run.natsPubSub,
    cassandraCeiling: synced.ceiling,
    pipeline: synced.pipeline,
    ingestWarmup: warmup,
    pipelineOverCeiling: synced.ratio,
    relaxed: {
      cassandraCeiling: relaxed.ceiling,
      pipeline: relaxed.pipeline,
      pipelineOverCeiling: relaxed.ratio,
    },
    syncedOverRelaxed: synced.pipeline.median / relaxed.pipeline.median,
    cpuPerRow: { ...cpu, ratio: cpu.ingestUs / cpu.rawUs },
    streamDrain: run.streamDrain,
    ingestReplicas: run.replicaRuns.map((r) => ({ ...r, perReplica: r.rowsPerSecond / r.replicas })),
    injectorRate: run.injector.acked,
    injectorCoreRate: run.injector.core,
    latency: run.latency,
    storage: run.storage,
  };
}
