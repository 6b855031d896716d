// migrate: creates or converges the keyspace and tables, then exits 0. Runs before the other roles.
//   CASSANDRA_REPLICATION_FACTOR  replication factor (default 1; 3 on a cluster)
//   CASSANDRA_APP_USERNAME, CASSANDRA_APP_PASSWORD[_FILE]  optional least-privilege role for the services
import { cassandraSettings, connectCassandra } from '../lib/cassandra';
import { ServiceContext } from '../lib/service';
import { migrate } from '../storage/migrate';

export async function run(ctx: ServiceContext): Promise<void> {
  const settings = cassandraSettings(ctx.env);
  const replicationFactor = ctx.env.integer('CASSANDRA_REPLICATION_FACTOR', 1, { min: 1, max: 9 });
  const appName = ctx.env.optionalString('CASSANDRA_APP_USERNAME');
  const appRole = appName ? { name: appName, password: ctx.env.secret('CASSANDRA_APP_PASSWORD') } : undefined;
  const client = await connectCassandra(settings, ctx.log, ctx.registry, () => ctx.stopping);
  try {
    await migrate(client, settings, { replicationFactor, appRole }, ctx.log);
  } finally {
    await client.shutdown();
  }
}
