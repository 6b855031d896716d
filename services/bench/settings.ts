// The bench's knobs (BENCH_* variables, bounded) and the constants its phases share.
const intEnv = (name: string, fallback: number, min: number, max: number) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be in ${min}..${max}`);
  return n;
};

/** Names this run's keyspaces, streams and subjects apart from any other's. */
export const RUN_ID = Date.now().toString(36);
/** Seconds on a monotonic clock. */
export const now = () => Number(process.hrtime.bigint()) / 1e9;

/**
 * How often a drain polls for its end. Each consumer info costs nats-server about 0.3 ms of CPU with a
 * 120,000-message backlog (measured), which at 25 ms was near 1 µs per row charged to (c); 50 ms halves
 * that and bounds the drain's timing error at 50 ms of a drain of several seconds.
 */
export const DRAIN_POLL_MS = 50;
/** (c) rounds; (b) runs one more time than (c), before and after each. */
export const ROUNDS = intEnv('BENCH_ROUNDS', 3, 2, 10);
/** Readings in each backlog that (c), (f) and the replica runs drain. */
export const BACKLOG = intEnv('BENCH_BACKLOG', 120_000, 10_000, 1_000_000);
/**
 * Readings a fresh ingest (or stream) process drains before its measured backlog, from earlier simulated
 * minutes: (b)'s driver loop runs in this long-warm process, and a deployed ingest runs for weeks, while
 * each (c) starts a new one, whose first readings cost it 2-3 times the CPU of its later ones (measured,
 * one 120,000 backlog: 54-70 µs/row over the first 12,000, 15-25 µs/row from 30,000 on, while its rate
 * ramped from 11,000 to 25,000-31,000 rows/s). Their cost and rate are printed apart, not counted in (c).
 */
export const INGEST_WARMUP = intEnv('BENCH_INGEST_WARMUP', 60_000, 0, 1_000_000);
/** Rows per (b) run: by default the backlog's, the same rows (c) writes. */
export const CEILING_ROWS = intEnv('BENCH_CEILING_ROWS', BACKLOG, 10_000, 1_000_000);
/**
 * Each stream's disk budget: room for (d)'s million readings or a backlog at 512 B a reading (about 2.5
 * times what one takes with its headers), no more. Every stream of the run lives until the end and
 * JetStream reserves each budget out of the server's max_file_store (8 GB for the backing NATS); 512 MiB
 * each ran out ("insufficient storage resources") in (d).
 */
export const STREAM_MAX_BYTES = Math.max(256 * 1024 ** 2, (BACKLOG + INGEST_WARMUP) * 512);
/** Warm-up: rows per level, the levels tried, and when two passes' best rates count as agreeing. */
export const WARMUP = { rows: 40_000, levels: [128, 256, 512, 1024], agree: 0.1, maxPasses: 6 };
/** BENCH_QUICK=1: only (b), (a′) and (c), for trying an ingest change; nothing is saved. */
export const QUICK = process.env.BENCH_QUICK === '1';
