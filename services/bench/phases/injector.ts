// (d) One injector's rate (services/src/simulator runInjector): acknowledged delivery into a synced
// stream, and core NATS publishing (what it did before, unacknowledged) beside it.
import { createSimulator, topologyFromRate } from '../../src/simulator';
import { coreSink, runInjector } from '../../src/simulator/publisher';
import { BackingEnv, natsConnect } from '../../harness/backing';
import { delivery } from '../readings';

/**
 * One injector at `rate` (asked), for at most `seconds` and `maxReadings`: with core NATS publishes, or
 * delivering acknowledged batches into `stream` (created by the caller under `root`), where the rate is
 * what was acknowledged over the run, its final wait for acknowledgements included.
 */
export async function injectorRate(
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
