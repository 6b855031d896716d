// migrate: creates or converges the keyspace and tables, then exits 0. Runs before the other roles.
// Its variables, with their defaults and limits: contract/variables.ts (services/README.md's table).
import { cassandraSettings, connectCassandra } from '../lib/cassandra';
import { ServiceContext } from '../lib/service';
import { EnvReader } from '../lib/config';
import { migrate, MigrateOptions } from '../storage/migrate';
import { Service, SERVICES } from '../storage/roles';

/** The role's settings, validated before it connects (the contract test parses the stack's with it). */
export function settings(env: EnvReader) {
  const cassandra = cassandraSettings(env);
  const passwords = {
    ingest: env.get('CASSANDRA_INGEST_PASSWORD'),
    stream: env.get('CASSANDRA_STREAM_PASSWORD'),
    train: env.get('CASSANDRA_TRAIN_PASSWORD'),
    predict: env.get('CASSANDRA_PREDICT_PASSWORD'),
  };
  // All four or none (development as the superuser): half a set would leave a service unable to log in.
  const missing = SERVICES.filter((s) => passwords[s] === undefined);
  if (missing.length && missing.length < SERVICES.length) {
    throw new Error(
      `CASSANDRA_${missing[0].toUpperCase()}_PASSWORD is not set: migrate needs every service role's password or none`,
    );
  }
  const serviceRoles = missing.length
    ? undefined
    : {
        prefix: env.get('CASSANDRA_ROLE_PREFIX'),
        passwords: passwords as Record<Service, string>,
        retired: env.get('CASSANDRA_RETIRED_ROLES'),
      };
  const options: MigrateOptions = {
    replicationFactor: env.get('CASSANDRA_REPLICATION_FACTOR'),
    serviceRoles,
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
