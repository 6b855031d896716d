// inject: the meter simulator. Publishes simulated voltage, temperature and forecast readings with core
// NATS on the original subjects (smartmeter.raw.voltage.data.<line>.<transformer>.<usagepoint>,
// smartmeter.raw.temperature.data, smartmeter.raw.temperature.forecast.12) in the original wire format.
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
//   A replay uses the clock, INJECT_SLOT, INJECT_SEED (its weather), INJECT_DURATION_S and INJECT_SUBJECT_ROOT
//   as above, but needs INJECT_START (the recorded time to start from), and without INJECT_CLOCK_ANCHOR starts
//   there a second or two after it starts; INJECT_RATE does not apply (one recorded minute every 60/INJECT_ACCELERATION real seconds).
// A bounded run exits 0 when done. On SIGTERM: stop publishing, publish the retire notice (its meters stop
// on purpose: not an outage; the simulator only), flush, drain the connection, exit 0. A replay
// that reaches the end of its files stays up, idle, until stopped (a restart would find nothing left).
import { NatsConnection } from 'nats';
import { natsSettings, connectNats } from '../lib/nats';
import { ServiceContext } from '../lib/service';
import { injectSource, replayConfig } from '../replay/config';
import { createReplayMetrics, runReplay } from '../replay/replay';
import { injectConfig } from '../simulator/config';
import { createInjectorMetrics, runInjector, RunOptions } from '../simulator/publisher';
import { createSimulator } from '../simulator/simulator';

/** What the injector publishes from: its slot, and a run that resolves true when its data has ended. */
interface Source {
  slot: number;
  run(nc: NatsConnection, options: RunOptions): Promise<boolean>;
}

function simulated(ctx: ServiceContext): Source {
  const config = injectConfig(ctx.env);
  const sim = createSimulator(config.simulator);
  return {
    slot: config.simulator.slot,
    run: async (nc, options) => (await runInjector(nc, sim, config.injector, options), false),
  };
}

function replayed(ctx: ServiceContext): Source {
  const settings = replayConfig(ctx.env);
  const replayMetrics = createReplayMetrics(ctx.registry);
  return {
    slot: settings.slot,
    run: async (nc, options) => (await runReplay(nc, settings, { ...options, replayMetrics })).ended,
  };
}

export async function run(ctx: ServiceContext): Promise<void> {
  const source = injectSource(ctx.env) === 'uci' ? replayed(ctx) : simulated(ctx);
  const metrics = createInjectorMetrics(ctx.registry);
  const nats = natsSettings(ctx.env, `inject-${source.slot}`);
  const nc = await connectNats(nats, ctx.log, ctx.registry, () => ctx.stopping);
  ctx.setReady(true);
  const done = source.run(nc, { metrics, log: ctx.log, stopping: () => ctx.stopping });
  ctx.onShutdown(async () => {
    await done.catch(() => undefined);
    await nc.drain();
  });
  // A replay at the end of its files stays up, idle: restarted, it would find nothing left to publish.
  if (await done) await ctx.stopped;
}
