// ingest: stores every raw reading from the JetStream stream into Cassandra (raw_data, temperature),
// exactly one row per reading, through restarts and Cassandra outages. Replicas share the work.
//   INGEST_STREAM             JetStream stream to read, created if missing (default SMARTMETER_RAW)
//   RAW_STREAM_MAX_AGE_S, RAW_STREAM_MAX_BYTES, JETSTREAM_REPLICAS  the raw stream's age and disk budgets and copies (lib/jetstream.ts)
//   INGEST_CONSUMER           durable pull consumer shared by all replicas (default ingest)
//   INGEST_SUBJECT_ROOT       first subject token: reads <root>.raw.>, dead-letters to
//                             <root>.deadletter.<reason> (default smartmeter)
//   INGEST_CONCURRENCY        most messages in flight (being written) per replica (default 1024)
//   INGEST_BATCH              most messages per fetch (default 512)
//   INGEST_ACK_WAIT_MS        server redelivers an unacknowledged message after this (default 60000)
//   INGEST_MAX_ACK_PENDING    unacknowledged messages allowed across replicas (default 8192)
//   INGEST_DRAIN_TIMEOUT_MS   on SIGTERM, how long in-flight writes may retry before their messages
//                             are handed back to the stream (default 15000, at most 20000)
//   INGEST_POLL_INTERVAL_MS   refresh of consumer lag and rate metrics (default 5000)
// plus the shared NATS_* and CASSANDRA_* variables (services/README.md). Run migrate first.
import { cassandraSettings, connectCassandra } from '../lib/cassandra';
import { connectNats, natsSettings } from '../lib/nats';
import { EnvReader } from '../lib/config';
import { ServiceContext } from '../lib/service';
import { startIngest } from '../ingest/ingest';
import { ingestSettings } from '../ingest/settings';

/** The role's settings, validated before it connects (the contract test parses the stack's with it). */
export function settings(env: EnvReader) {
  return {
    ingest: ingestSettings(env),
    cassandra: cassandraSettings(env),
    nats: natsSettings(env, `ingest-${process.pid}`),
  };
}

export async function run(ctx: ServiceContext): Promise<void> {
  const { ingest: ingestOptions, cassandra: cassandraConfig, nats } = settings(ctx.env);
  const aborted = () => ctx.stopping;

  const cassandra = await connectCassandra(cassandraConfig, ctx.log, ctx.registry, aborted);
  ctx.onShutdown(() => cassandra.shutdown());
  const nc = await connectNats(nats, ctx.log, ctx.registry, aborted);
  ctx.onShutdown(() => nc.drain()); // flushes the last acks
  const ingest = await startIngest(
    {
      nc,
      cassandra,
      keyspace: cassandraConfig.keyspace,
      log: ctx.log,
      registry: ctx.registry,
      setReady: ctx.setReady,
    },
    ingestOptions,
  );
  ctx.onShutdown(() => ingest.stop());
  ctx.setReady(true);
  await ctx.stopped;
}
