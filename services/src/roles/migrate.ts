// migrate: creates or converges the keyspace and tables, then exits 0. Runs before the other roles.
//   CASSANDRA_REPLICATION_FACTOR  replication factor (default 1; 3 on a cluster)
//   CASSANDRA_APP_USERNAME, CASSANDRA_APP_PASSWORD[_FILE]  optional least-privilege role for the services
//   RAW_RETENTION_DAYS        real days a raw_data row lives (default 7; TTL, TWCS window = retention/24)
//   AGGREGATE_RETENTION_DAYS  real days the stream job's tables keep a row (default 7); models are kept
import { cassandraSettings, connectCassandra } from '../lib/cassandra';
import { ServiceContext } from '../lib/service';
import { migrate } from '../storage/migrate';
import { DEFAULT_RETENTION, MAX_RETENTION_DAYS } from '../storage/schema';

export async function run(ctx: ServiceContext): Promise<void> {
  const settings = cassandraSettings(ctx.env);
  const replicationFactor = ctx.env.integer('CASSANDRA_REPLICATION_FACTOR', 1, { min: 1, max: 9 });
  const days = (name: string, fallback: number) =>
    ctx.env.integer(name, fallback, { min: 1, max: MAX_RETENTION_DAYS });
  const retention = {
    rawDays: days('RAW_RETENTION_DAYS', DEFAULT_RETENTION.rawDays),
    aggregateDays: days('AGGREGATE_RETENTION_DAYS', DEFAULT_RETENTION.aggregateDays),
  };
  const appName = ctx.env.optionalString('CASSANDRA_APP_USERNAME');
  const appRole = appName ? { name: appName, password: ctx.env.secret('CASSANDRA_APP_PASSWORD') } : undefined;
  const client = await connectCassandra(settings, ctx.log, ctx.registry, () => ctx.stopping);
  try {
    await migrate(client, settings, { replicationFactor, appRole, retention }, ctx.log);
  } finally {
    await client.shutdown();
  }
}
