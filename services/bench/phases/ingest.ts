// (c) The pipeline: a backlog of readings in a JetStream stream, drained by ingest processes (`main.js
// ingest`, as deployed); rows/s from the first acknowledged row to the last (the ack floor is polled, so
// the measurement adds no per-row work), rows checked against the backlog. Also the replica runs.
import { ChildProcess } from 'node:child_process';
import { JetStreamManager } from 'nats';
import { sleep } from '../../src/lib/retry';
import { BackingEnv } from '../../harness/backing';
import { countRows } from '../../harness/rows';
import { Backlog, Bench } from '../context';
import { startRole, stopAll } from '../roles';
import { BACKLOG, DRAIN_POLL_MS, INGEST_WARMUP, now, STREAM_MAX_BYTES } from '../settings';
import { fmt, fmtUs } from '../stats';
import { cpuSample, CpuSample, Drain, drainFigures } from './drain';

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

/** Fresh ingest processes drain a fresh backlog, warm-up first; the rows are counted against it. */
export async function ingestRun(
  bench: Bench,
  tag: string,
  replicas: number,
): Promise<Drain & { backlog: Backlog }> {
  const b = await bench.backlog(tag, BACKLOG, INGEST_WARMUP);
  const started = Array.from({ length: replicas }, () =>
    startRole('ingest', bench.env, b.keyspace, {
      INGEST_STREAM: b.stream,
      INGEST_SUBJECT_ROOT: b.root,
      RAW_STREAM_MAX_BYTES: String(STREAM_MAX_BYTES),
    }),
  );
  bench.procs.push(...started);
  const drain = await timeIngestDrain(bench.jsm, b, started, bench.env, 300);
  await stopAll(started, 30);
  const stored = await countRows(bench.cassandra, b.keyspace);
  if (stored !== b.count) bench.failures.push(`ingest ${tag}: ${stored} rows for ${b.count} readings`);
  console.log(
    `  (c) ${tag}: ${fmt(drain.rate)} rows/s, ${replicas} replica(s); rows ${fmt(stored)} of ${fmt(b.count)} ` +
      `(${stored === b.count ? 'exact' : 'MISMATCH'}); redelivered ${drain.redelivered}; CPU/row ingest ` +
      `${fmtUs(drain.cpuUs.role)}, nats-server ${fmtUs(drain.cpuUs.nats)}, Cassandra ${fmtUs(drain.cpuUs.cassandra)}` +
      (drain.warmup
        ? `; not counted: the first ${fmt(b.warmup)} (process warm-up) ${fmt(drain.warmup.rate)} rows/s, ` +
          `CPU/row ingest ${fmtUs(drain.warmup.roleUs)}`
        : ''),
  );
  return { ...drain, backlog: b };
}

/** Ingest with more replicas against the same Cassandra (on 2 cores: contention, not scale-out). */
export async function ingestReplicas(bench: Bench, oneReplica: number) {
  const runs = [{ replicas: 1, rowsPerSecond: oneReplica }];
  for (const replicas of [2, 4]) {
    const run = await ingestRun(bench, `r${replicas}`, replicas);
    runs.push({ replicas, rowsPerSecond: run.rate });
  }
  return runs;
}
