// train: fits the over-voltage model (a max-voltage band, the alert read off it; training/model.ts) on
// max_voltage ⋈ temperature, evaluates it on the latest rows held out, versions it in the `models` table
// if it does no worse than the served model (accuracy and pinball loss), and announces it on
// smartmeter.model.updated ({"name","version"}).
//   TRAIN_ONCE             true: train once and exit (exit 1 with a clear error below TRAIN_MIN_ROWS);
//                          false (default): retrain on a schedule, waiting visibly while data is short
//   TRAIN_INTERVAL_S       seconds between checks for new data (default 300)
//   TRAIN_MIN_ROWS         joined rows needed to train at all (default 500)
//   TRAIN_MIN_NEW_ROWS     rows that must arrive since the served model before retraining (default 96)
//   TRAIN_THRESHOLD_V      label: max voltage above this is an alert (default 116, as the original)
//   TRAIN_HELDOUT_FRACTION latest share of the rows held out for evaluation (default 0.2)
//   TRAIN_EPOCHS, TRAIN_SEED  training epochs (default 60) and seed (default 1234)
//   MODEL_NAME             name of the model in the models table (default overvoltage)
//   TRAIN_SUBJECT_ROOT     first subject token: announces on <root>.model.updated (default smartmeter)
// plus the shared NATS_* and CASSANDRA_* variables (services/README.md). Run migrate first.
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
  const nc = await connectNats(nats, ctx.log, ctx.registry, () => ctx.stopping);
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
