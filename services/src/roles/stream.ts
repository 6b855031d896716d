// stream: the original's streaming job on event time (streaming/job.ts): per simulated epoch the max voltage
// (overall -> max_voltage + smartmeter.extract.voltage.max, per line -> max_voltage_by_line) and the
// temperature (-> temperature + smartmeter.extract.temperature.max), the daily average voltage per
// transformer (-> avg_voltage_by_transformer), and over-voltage alerts (-> voltage_alerts +
// smartmeter.extract.voltage.alert), and outages of meters and transformers (streaming/outages.ts ->
// meter_outages, transformer_outages + smartmeter.extract.outage.*). Replicas are hot standbys: one holds a lease and does the work.
// Its variables, with their defaults and limits: contract/variables.ts (services/README.md's table).
import { cassandraSettings, connectCassandra } from '../lib/cassandra';
import { connectNats, natsSettings } from '../lib/nats';
import { EnvReader } from '../lib/config';
import { ServiceContext } from '../lib/service';
import { StreamJob } from '../streaming/job';
import { createStreamMetrics } from '../streaming/metrics';
import { streamSettings } from '../streaming/settings';

/** The role's settings, validated before it connects (the contract test parses the stack's with it). */
export function settings(env: EnvReader) {
  const stream = streamSettings(env);
  return {
    stream,
    cassandra: cassandraSettings(env),
    nats: natsSettings(env, `stream-${stream.instanceId}`),
  };
}

export async function run(ctx: ServiceContext): Promise<void> {
  const { stream, cassandra, nats } = settings(ctx.env);
  const nc = await connectNats(nats, ctx.log, ctx.registry, () => ctx.stopping, ctx.setReady);
  ctx.onShutdown(() => nc.drain());
  const client = await connectCassandra(cassandra, ctx.log, ctx.registry, () => ctx.stopping);
  ctx.onShutdown(() => client.shutdown());
  const job = new StreamJob(stream, {
    nc,
    cassandra: client,
    keyspace: cassandra.keyspace,
    log: ctx.log,
    metrics: createStreamMetrics(ctx.registry),
    setReady: ctx.setReady,
  });
  await job.start();
  ctx.onShutdown(() => job.stop());
  // Ready as active or as hot standby: both are doing their job.
  ctx.setReady(true);
  await ctx.stopped;
}
