// migrate: creates or converges the keyspace and tables, then exits 0. Runs before the other roles.
//   CASSANDRA_REPLICATION_FACTOR  replication factor (default 1; 3 on a cluster)
//   CASSANDRA_APP_USERNAME, CASSANDRA_APP_PASSWORD[_FILE]  optional least-privilege role for the services
//   RAW_RETENTION_DAYS        real days a raw_data row lives (default 7; TTL, TWCS window = retention/24)
//   AGGREGATE_RETENTION_DAYS  real days the stream job's tables keep a row (default 7); models are kept
import { cassandraSettings, connectCassandra } from '../lib/cassandra';
import { ServiceContext } from '../lib/service';
import { EnvReader } from '../lib/config';
import { migrate, MigrateOptions } from '../storage/migrate';

/** The role's settings, validated before it connects (the contract test parses the stack's with it). */
export function settings(env: EnvReader) {
  const cassandra = cassandraSettings(env);
  const appName = env.get('CASSANDRA_APP_USERNAME');
  const appRole = appName
    ? { name: appName, password: env.required('CASSANDRA_APP_PASSWORD', 'with CASSANDRA_APP_USERNAME') }
    : undefined;
  const options: MigrateOptions = {
    replicationFactor: env.get('CASSANDRA_REPLICATION_FACTOR'),
    appRole,
    retention: { rawDays: env.get('RAW_RETENTION_DAYS'), aggregateDays: env.get('AGGREGATE_RETENTION_DAYS') },
  };
  return { cassandra, options };
}

export async function run(ctx: ServiceContext): Promise<void> {
  const { cassandra, options } = settings(ctx.env);
  const client = await connectCassandra(cassandra, ctx.log, ctx.registry, () => ctx.stopping);
  try {
    await migrate(client, cassandra, options, ctx.log);
  } finally {
    await client.shutdown();
  }
}
