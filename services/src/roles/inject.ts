// inject: the meter simulator. Delivers simulated voltage, temperature and forecast readings to the raw
// JetStream stream on the original subjects (smartmeter.raw.voltage.data.<line>.<transformer>.<usagepoint>,
// smartmeter.raw.temperature.data, smartmeter.raw.temperature.forecast.12) in the original wire format, as
// acknowledged atomic batches with a Nats-Msg-Id per reading (simulator/delivery.ts), held in a bounded
// store-and-forward buffer while the broker does not answer.
// Its variables, with their defaults and limits: contract/variables.ts (services/README.md's table). A
// replay (INJECT_SOURCE=uci) reads the clock, the slot, the seed (its weather), the duration and the subject
// root as the simulator does, needs INJECT_START, and has no rate or outages: it publishes one recorded
// minute every 60/INJECT_ACCELERATION real seconds.
// A bounded run exits 0 when done. On SIGTERM: stop producing, send the retire notice (its meters stop
// on purpose: not an outage; the simulator only), wait up to 15 s for what the buffer holds to be
// acknowledged (the rest is counted as undelivered), drain the connection, exit 0. A replay
// that reaches the end of its files stays up, idle, until stopped (a restart would find nothing left).
import { mkdirSync } from 'node:fs';
import { EnvReader } from '../lib/config';
import { natsSettings, connectNats } from '../lib/nats';
import { ServiceContext } from '../lib/service';
import { injectSource, replayConfig } from '../replay/config';
import { createReplayMetrics, runReplay } from '../replay/replay';
import { deliveryConfig, injectConfig } from '../simulator/config';
import { createDeliveryMetrics, Delivery } from '../simulator/delivery';
import { Ledger } from '../simulator/ledger';
import { createInjectorMetrics, runInjector, RunOptions, Sink } from '../simulator/publisher';
import { createSimulator } from '../simulator/simulator';

/** What the injector publishes from: its slot, and a run that resolves true when its data has ended. */
interface Source {
  slot: number;
  run(sink: Sink, options: RunOptions): Promise<boolean>;
}

/** The role's settings, validated before it connects (the contract test parses the stack's with it). */
export function settings(env: EnvReader) {
  const source =
    injectSource(env) === 'uci'
      ? { kind: 'uci' as const, replay: replayConfig(env) }
      : { kind: 'simulator' as const, simulator: injectConfig(env) };
  const slot = source.kind === 'uci' ? source.replay.slot : source.simulator.simulator.slot;
  return { source, delivery: deliveryConfig(env), nats: natsSettings(env, `inject-${slot}`) };
}

function sourceOf(ctx: ServiceContext, given: ReturnType<typeof settings>['source']): Source {
  if (given.kind === 'uci') {
    const replayMetrics = createReplayMetrics(ctx.registry);
    return {
      slot: given.replay.slot,
      run: async (sink, options) =>
        (await runReplay(sink, given.replay, { ...options, replayMetrics })).ended,
    };
  }
  const config = given.simulator;
  const sim = createSimulator(config.simulator);
  return {
    slot: config.simulator.slot,
    run: async (sink, options) => (await runInjector(sink, sim, config.injector, options), false),
  };
}

export async function run(ctx: ServiceContext): Promise<void> {
  const { source: given, delivery, nats } = settings(ctx.env);
  const source = sourceOf(ctx, given);
  const metrics = createInjectorMetrics(ctx.registry);
  const nc = await connectNats(nats, ctx.log, ctx.registry, () => ctx.stopping, ctx.setReady);
  let ledger: Ledger | undefined;
  if (delivery.ledgerDir) {
    mkdirSync(delivery.ledgerDir, { recursive: true });
    ledger = new Ledger(delivery.ledgerDir, source.slot);
    ctx.log.info('writing the delivery ledger', { path: ledger.path });
  }
  const sink = new Delivery(
    nc,
    { ...delivery, name: String(source.slot) },
    { metrics: createDeliveryMetrics(ctx.registry), log: ctx.log, ledger },
  );
  ctx.setReady(true);
  const done = source.run(sink, { metrics, log: ctx.log, stopping: () => ctx.stopping });
  ctx.onShutdown(async () => {
    await done.catch(() => undefined);
    ledger?.close();
    await nc.drain();
  });
  // A replay at the end of its files stays up, idle: restarted, it would find nothing left to publish.
  if (await done) await ctx.stopped;
}
