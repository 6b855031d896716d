// train: fits the over-voltage model (a max-voltage band, the alert read off it; training/model.ts) on
// max_voltage ⋈ temperature, evaluates it on the latest rows held out, versions it in the `models` table
// if it does no worse than the served model (accuracy and pinball loss), and announces it on
// smartmeter.model.updated ({"name","version"}).
// Its variables, with their defaults and limits: contract/variables.ts (services/README.md's table).
// Run migrate first.
import { cassandraSettings, connectCassandra } from '../lib/cassandra';
import { connectNats, natsSettings } from '../lib/nats';
import { EnvReader } from '../lib/config';
import { ServiceContext } from '../lib/service';
import { trainSettings } from '../training/settings';
import { runSchedule, TrainMetrics, trainOnce } from '../training/trainer';

/** The role's settings, validated before it connects (the contract test parses the stack's with it). */
export function settings(env: EnvReader) {
  const cassandra = cassandraSettings(env);
  return {
    cassandra,
    train: trainSettings(env, cassandra.keyspace),
    nats: natsSettings(env, 'smartmeter-train'),
  };
}

export async function run(ctx: ServiceContext): Promise<void> {
  const { cassandra, train, nats } = settings(ctx.env);
  const { once, ...trainOptions } = train;
  const metrics = new TrainMetrics(ctx.registry);
  const client = await connectCassandra(cassandra, ctx.log, ctx.registry, () => ctx.stopping);
  ctx.onShutdown(() => client.shutdown());
  const nc = await connectNats(nats, ctx.log, ctx.registry, () => ctx.stopping, ctx.setReady);
  ctx.onShutdown(() => nc.drain());
  const deps = { client, nc, log: ctx.log, metrics };

  if (once) {
    ctx.setReady(true, 'training once');
    const run = trainOnce(deps, trainOptions);
    ctx.onShutdown(() =>
      run.then(
        () => undefined,
        () => undefined,
      ),
    );
    await run;
    return;
  }
  ctx.setReady(true);
  const schedule = runSchedule(
    { ...deps, setWaiting: (reason) => ctx.setReady(true, reason ?? 'ready') },
    trainOptions,
    ctx.stopped,
  );
  // Registered last, so it runs first at shutdown: a run in progress finishes before the connections close.
  ctx.onShutdown(() => schedule);
  await schedule;
}
