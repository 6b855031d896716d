// migrate: creates or converges the keyspace and tables, then exits 0. Runs before the other roles.
// Its variables, with their defaults and limits: contract/variables.ts (services/README.md's table).
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
