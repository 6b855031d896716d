// predict: serves the newest over-voltage model. Every temperature forecast on
// smartmeter.raw.temperature.forecast.12 (12-byte codec, queue group) becomes a JSON prediction (the alert
// and the max-voltage band, `forecast`) on smartmeter.extract.voltage.prediction.12; requests on
// smartmeter.predict ({"epoch","temperature"})
// get the same JSON back, or {"error": "..."} saying what is wrong. A new version announced on
// smartmeter.model.updated is swapped in without dropping a message. While no model exists it waits, as
// train waits for data: /healthz stays 200 (waiting is the intended state; an unhealthy task would only be
// restarted in a loop by Swarm) with the reason in its body, the log says so at every retry, and the gauge
// smartmeter_predict_waiting_for_model shows it.
// Its variables, with their defaults and limits: contract/variables.ts (services/README.md's table).
import { cassandraSettings, connectCassandra } from '../lib/cassandra';
import { connectNats, natsSettings } from '../lib/nats';
import { EnvReader } from '../lib/config';
import { ServiceContext } from '../lib/service';
import { startPredictor } from '../training/predictor';
import { predictSettings } from '../training/settings';

/** The role's settings, validated before it connects (the contract test parses the stack's with it). */
export function settings(env: EnvReader) {
  const cassandra = cassandraSettings(env);
  return {
    cassandra,
    predict: predictSettings(env, cassandra.keyspace),
    nats: natsSettings(env, `predict-${process.pid}`),
  };
}

export async function run(ctx: ServiceContext): Promise<void> {
  const { cassandra, predict, nats } = settings(ctx.env);
  const aborted = () => ctx.stopping;

  const client = await connectCassandra(cassandra, ctx.log, ctx.registry, aborted);
  ctx.onShutdown(() => client.shutdown());
  const nc = await connectNats(nats, ctx.log, ctx.registry, aborted, ctx.setReady);
  ctx.onShutdown(() => nc.drain());
  ctx.setReady(true, 'waiting for a model');
  const predictor = await startPredictor(
    {
      nc,
      client,
      log: ctx.log,
      registry: ctx.registry,
      aborted,
      stopped: ctx.stopped,
      onWaiting: (r) => ctx.setReady(true, r),
      setReady: ctx.setReady,
    },
    predict,
  );
  if (!predictor) return; // shut down while waiting
  ctx.onShutdown(() => predictor.stop());
  ctx.setReady(true);
  await ctx.stopped;
}
