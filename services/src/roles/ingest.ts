// ingest: stores every raw reading from the JetStream stream into Cassandra (raw_data, temperature),
// exactly one row per reading, through restarts and Cassandra outages. Replicas share the work.
// Its variables, with their defaults and limits: contract/variables.ts (services/README.md's table).
// Run migrate first.
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
  const nc = await connectNats(nats, ctx.log, ctx.registry, aborted, ctx.setReady);
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
