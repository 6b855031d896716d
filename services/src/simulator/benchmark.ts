// One injector's maximum publish rate: the real publisher (model, codec, pacing, flushes) asked for far
// more than it can do for a bounded time, counting what it published and flushed to the server. The
// acceleration is raised so that cycles still lie at least one simulated minute apart.
import { NatsConnection } from 'nats';
import { coreSink, runInjector } from './publisher';
import { createSimulator } from './simulator';
import { meterCount, Topology, topologyFromRate } from './topology';

export interface InjectorRateResult {
  published: number;
  seconds: number;
  perSecond: number;
  meters: number;
}

export async function measureInjectorRate(
  nc: NatsConnection,
  {
    seconds = 5,
    topology = topologyFromRate(50_000),
    subjectRoot = `bench-inject-${process.pid}`,
    ceiling = 5_000_000,
  }: { seconds?: number; topology?: Topology; subjectRoot?: string; ceiling?: number } = {},
): Promise<InjectorRateResult> {
  const sim = createSimulator({ seed: 1, topology, slot: 1 });
  const acceleration = Math.ceil((60 * ceiling) / (meterCount(topology) + 2)) + 1;
  const stats = await runInjector(coreSink(nc), sim, {
    rate: ceiling,
    start: Math.floor(Date.now() / 1000),
    acceleration,
    durationSeconds: seconds,
    subjectRoot,
  });
  return {
    published: stats.total,
    seconds: stats.elapsedSeconds,
    perSecond: stats.total / stats.elapsedSeconds,
    meters: sim.meters.length,
  };
}
