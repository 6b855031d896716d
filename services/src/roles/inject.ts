// inject: the meter simulator. Delivers simulated voltage, temperature and forecast readings to the raw
// JetStream stream on the original subjects (smartmeter.raw.voltage.data.<line>.<transformer>.<usagepoint>,
// smartmeter.raw.temperature.data, smartmeter.raw.temperature.forecast.12) in the original wire format, as
// acknowledged atomic batches with a Nats-Msg-Id per reading (simulator/delivery.ts), held in a bounded
// store-and-forward buffer while the broker does not answer.
//   INJECT_RATE                  messages/s, all kinds counted (default 500); also sizes the topology
//   INJECT_SLOT                  injector slot, 0…12: meters on lines 10·slot+1… (default 1)
//   INJECT_LINES, INJECT_TRANSFORMERS, INJECT_USAGEPOINTS  explicit topology (all three or none;
//                                default derived from the rate: 500 → 1×7×71)
//   INJECT_CLOCK_ANCHOR          real instant at which the simulated clock reads INJECT_START, epoch seconds or
//                                ISO-8601 (default INJECT_START); the same on every replica of a stack
//   INJECT_START                 simulated time at the anchor, epoch seconds or ISO-8601 (default the anchor,
//                                or now when neither is set): sim = START + (real − ANCHOR)·ACCELERATION
//   INJECT_ACCELERATION          simulated seconds per real second (default 900: 1 s = 15 simulated minutes)
//   INJECT_SEED                  PRNG seed, 0…2^32−1 (default 1): same seed, clock and topology, same readings
//   INJECT_OVERVOLTAGE_RATE      over-voltage events per meter per simulated day (default 0: off)
//   INJECT_OVERVOLTAGE_MINUTES   length of an event in simulated minutes (default 45)
//   INJECT_OUTAGE_RATE           outages per meter per simulated day (default 0: off)
//   INJECT_TRANSFORMER_OUTAGE_RATE  outages of a whole transformer per transformer per simulated day (default 0)
//   INJECT_OUTAGE_MINUTES        length of an outage in simulated minutes (default 120)
//   INJECT_DURATION_S            stop after this many seconds (default 0: run until SIGTERM)
//   INJECT_SUBJECT_ROOT          first subject token (default smartmeter; tests use their own)
//   INJECT_MAX_READINGS          stop after this many messages (default 0: no bound)
//   INJECT_SOURCE                simulator (default) or uci: replay recorded households instead (replay/replay.ts)
//   INJECT_UCI_FILES             with uci: comma-separated files in the UCI household power format, one per
//                                household; household h is transformer h+1 on line 10·slot+1
//   INJECT_UCI_METERS_PER_HOUSEHOLD  meters (usage points 1…n) each household is replayed as (default 1)
//   INJECT_UCI_NOMINAL_V, INJECT_NOMINAL_V  recorded and published nominal voltage (default 230 and 120):
//                                voltages are scaled by INJECT_NOMINAL_V / INJECT_UCI_NOMINAL_V
//   INJECT_BUFFER_READINGS       readings held while the broker is unreachable or slow (default 300000); past
//                                it the oldest waiting ones are dropped and counted
//   INJECT_LEDGER_DIR            append every reading the broker acknowledged to a file there (default: no
//                                ledger; simulator/ledger.ts)
//   RAW_STREAM_DUPLICATE_WINDOW_S  the raw stream's duplicate window (lib/jetstream.ts): a resend later than
//                                that after the first send is counted (it may be stored twice)
//   A replay uses the clock, INJECT_SLOT, INJECT_SEED (its weather), INJECT_DURATION_S and INJECT_SUBJECT_ROOT
//   as above, but needs INJECT_START (the recorded time to start from), and without INJECT_CLOCK_ANCHOR starts
//   there a second or two after it starts; INJECT_RATE does not apply (one recorded minute every 60/INJECT_ACCELERATION real seconds).
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
  const nc = await connectNats(nats, ctx.log, ctx.registry, () => ctx.stopping);
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
