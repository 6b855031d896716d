// stream: the original's streaming job on event time (streaming/job.ts): per simulated epoch the max voltage
// (overall -> max_voltage + smartmeter.extract.voltage.max, per line -> max_voltage_by_line) and the
// temperature (-> temperature + smartmeter.extract.temperature.max), the daily average voltage per
// transformer (-> avg_voltage_by_transformer), and over-voltage alerts (-> voltage_alerts +
// smartmeter.extract.voltage.alert), and outages of meters and transformers (streaming/outages.ts ->
// meter_outages, transformer_outages + smartmeter.extract.outage.*). Replicas are hot standbys: one holds a lease and does the work.
//   STREAM_RAW_STREAM          JetStream stream of raw readings (default SMARTMETER_RAW)
//   RAW_STREAM_MAX_AGE_S, RAW_STREAM_MAX_BYTES, JETSTREAM_REPLICAS  the raw stream's age and disk budgets and copies (lib/jetstream.ts)
//   STREAM_SUBJECT_ROOT        first subject token in and out (default smartmeter)
//   STREAM_STATE_PREFIX        KV buckets <prefix>-lease and <prefix>-checkpoint (default smartmeter-stream)
//   STREAM_ALLOWED_LATENESS_S  simulated seconds a reading may trail the newest epoch (default 900)
//   STREAM_MAX_AHEAD_S         simulated seconds a reading may be ahead of the event time; further ahead it waits
//                              until another reading agrees, else is dead-lettered `future` (default 14400)
//   STREAM_FLUSH_INTERVAL_MS   how often windows are written and checkpointed (default 1000)
//   STREAM_IDLE_TIMEOUT_MS     real ms without input after which open windows are written (default 5000)
//   STREAM_LEASE_TTL_MS        a standby takes over after this long without renewal (default 10000)
//   STREAM_INSTANCE_ID         name in the lease (default <hostname>-<pid>)
//   ALERT_THRESHOLD_V          volts; readings strictly above count (default 120)
//   ALERT_MIN_COUNT            readings above it per (line, transformer) and window that alert (default 2)
//   ALERT_WINDOW_S             alert window in simulated seconds; 0 = one epoch, as the original (default 0)
//   STREAM_OUTAGE_INTERVALS    a meter silent for more than this many of its reporting intervals is out (default 3)
//   STREAM_TRANSFORMER_OUTAGE_SHARE  share of a transformer's meters out together that is a transformer
//                              outage, in (0, 1] (default 0.5)
//   STREAM_OUTAGE_STREAM       JetStream stream of the outage events (default SMARTMETER_OUTAGES)
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
  const nc = await connectNats(nats, ctx.log, ctx.registry, () => ctx.stopping);
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
