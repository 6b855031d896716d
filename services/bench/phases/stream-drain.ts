// (f) The stream role (`main.js stream`) reading a backlog from the start; its own counter says when it
// has all of it, readings/s after its first INGEST_WARMUP, as (c).
import { sleep } from '../../src/lib/retry';
import { freePort } from '../../harness/backing';
import { Backlog, Bench } from '../context';
import { counterSum, startRole, stopAll } from '../roles';
import { DRAIN_POLL_MS, now, RUN_ID, STREAM_MAX_BYTES } from '../settings';
import { cpuSample, CpuSample, Drain, drainFigures } from './drain';

export async function streamDrain(bench: Bench, b: Backlog): Promise<Drain> {
  const port = await freePort();
  const proc = startRole('stream', bench.env, b.keyspace, {
    STREAM_RAW_STREAM: b.stream,
    STREAM_SUBJECT_ROOT: b.root,
    STREAM_STATE_PREFIX: `bench-${RUN_ID}-f`,
    RAW_STREAM_MAX_BYTES: String(STREAM_MAX_BYTES),
    METRICS_PORT: String(port),
  });
  bench.procs.push(proc);
  bench.removeStreamAtEnd(`KV_bench-${RUN_ID}-f-lease`);
  bench.removeStreamAtEnd(`KV_bench-${RUN_ID}-f-checkpoint`);
  const read = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
    return res?.ok ? counterSum(await res.text(), 'smartmeter_stream_messages_total') : 0;
  };
  const deadline = now() + 300;
  let first: { sample: CpuSample; seen: number } | undefined;
  try {
    for (;;) {
      const seen = await read();
      if (!first && seen > 0 && seen >= b.warmup) first = { sample: cpuSample([proc], bench.env), seen };
      if (first && seen >= b.count) {
        if (seen === first.seen) throw new Error('(f) backlog read before the first poll');
        return drainFigures(first.sample, cpuSample([proc], bench.env), seen - first.seen, 0);
      }
      if (now() > deadline) throw new Error(`(f) not drained in 300 s: ${seen} of ${b.count}`);
      await sleep(DRAIN_POLL_MS);
    }
  } finally {
    await stopAll([proc], 30);
  }
}
