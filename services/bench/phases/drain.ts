// How a drain of a backlog is timed, for (c), (f) and the replica runs: rows/s from the first counted row
// to the last, and the CPU of the draining processes, nats-server and Cassandra over the same interval.
import { ChildProcess } from 'node:child_process';
import { BackingEnv } from '../../harness/backing';
import { processCpuUs, totalCpuUs } from '../cpu';
import { backingPid } from '../machine';
import { now } from '../settings';

export interface Drain {
  rate: number;
  /** The first `INGEST_WARMUP` readings of an ingest drain, not counted in `rate` and `cpuUs`. */
  warmup?: { rate: number; roleUs?: number };
  rows: number;
  /** CPU µs per row of the draining processes, nats-server and Cassandra over the same interval. */
  cpuUs: { role?: number; nats?: number; cassandra?: number };
  redelivered: number;
}

/** CPU counters of the draining processes and the two servers, read together. */
export function cpuSample(procs: ChildProcess[], env: BackingEnv) {
  return {
    t: now(),
    role: totalCpuUs(procs.map((p) => p.pid)),
    nats: processCpuUs(backingPid(env, 'nats')),
    cassandra: processCpuUs(backingPid(env, 'cassandra')),
  };
}
export type CpuSample = ReturnType<typeof cpuSample>;

export function drainFigures(from: CpuSample, to: CpuSample, rows: number, redelivered: number): Drain {
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
