// Brings a keyspace to the schema of storage/schema.ts: creates what is missing, converges the
// replication factor, moves a raw_data of an earlier version to the day-bucketed key (rekey.ts), converges
// every time-series table's TTL and compaction to the retention, and (optionally) creates a role per service
// with its own table grants only, dropping the shared role of earlier versions (roles.ts). Each run
// converges: on an up-to-date keyspace it changes nothing.
import { Client } from 'cassandra-driver';
import { CassandraSettings } from '../lib/cassandra';
import { Logger } from '../lib/log';
import { rekeyRawData } from './rekey';
import { ensureServiceRoles, RAW_DATA_WRITERS, roleName, ServiceRolesOptions } from './roles';
import {
  ADDED_COLUMNS,
  AGGREGATE_TABLES,
  alterTimeSeriesStatement,
  DEFAULT_RETENTION,
  keyspaceStatement,
  RetentionSettings,
  tableStatements,
  timeSeriesOptions,
  TimeSeriesOptions,
} from './schema';

export interface MigrateOptions {
  replicationFactor: number;
  /** A least-privilege login per service, created or converged here when given (roles.ts). */
  serviceRoles?: ServiceRolesOptions;
  /** Real days rows live (default 7 for raw_data and for the aggregates). */
  retention?: RetentionSettings;
  /** How long a raw_data write fence waits for permission caches (default 5 s; rekey.ts). */
  fenceSettleMs?: number;
}

export async function migrate(
  client: Client,
  settings: CassandraSettings,
  opts: MigrateOptions,
  log: Logger,
): Promise<void> {
  const { keyspace, localDataCenter: dataCenter } = settings;
  const { replicationFactor } = opts;
  await client.execute(keyspaceStatement(keyspace, dataCenter, replicationFactor));
  const current = await client.execute(
    'SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?',
    [keyspace],
    { prepare: true },
  );
  const replication = current.first()?.replication as Record<string, string> | undefined;
  if (replication?.[dataCenter] !== String(replicationFactor)) {
    log.info('changing keyspace replication', { keyspace, from: replication, to: replicationFactor });
    await client.execute(keyspaceStatement(keyspace, dataCenter, replicationFactor, true));
  }
  for (const statement of tableStatements(keyspace)) await client.execute(statement);
  await addMissingColumns(client, keyspace, log);

  const retention = opts.retention ?? DEFAULT_RETENTION;
  await rekeyRawData({
    client,
    keyspace,
    rawTtlSeconds: timeSeriesOptions(retention.rawDays).defaultTimeToLive,
    writerRoles: opts.serviceRoles && RAW_DATA_WRITERS.map((s) => roleName(opts.serviceRoles!.prefix, s)),
    legacyRoles: opts.serviceRoles?.retired,
    fenceSettleMs: opts.fenceSettleMs ?? 5000,
    log,
  });
  await convergeTimeSeries(client, keyspace, 'raw_data', timeSeriesOptions(retention.rawDays), log);
  for (const table of AGGREGATE_TABLES) {
    await convergeTimeSeries(client, keyspace, table, timeSeriesOptions(retention.aggregateDays), log);
  }

  if (opts.serviceRoles) await ensureServiceRoles(client, settings, opts.serviceRoles, log);
  await client.metadata.refreshKeyspace(keyspace);
  log.info('schema ready', { keyspace, replicationFactor, dataCenter, retention });
}

/** Adds the columns of later releases to tables an earlier one created (ALTER only when one is missing). */
async function addMissingColumns(client: Client, keyspace: string, log: Logger): Promise<void> {
  const rs = await client.execute(
    'SELECT table_name, column_name FROM system_schema.columns WHERE keyspace_name = ?',
    [keyspace],
    { prepare: true },
  );
  const present = new Set(rs.rows.map((r) => `${r.table_name}.${r.column_name}`));
  for (const { table, column, type } of ADDED_COLUMNS) {
    if (present.has(`${table}.${column}`)) continue;
    log.info('adding a column', { table, column, type });
    await client.execute(`ALTER TABLE ${keyspace}.${table} ADD ${column} ${type}`);
  }
}

/**
 * ALTERs the table only when its TTL, gc grace or compaction differ. A new TTL applies to rows written from
 * now on: Cassandra stores a TTL with each row, so existing rows keep the one they were written with.
 */
async function convergeTimeSeries(
  client: Client,
  keyspace: string,
  table: string,
  wanted: TimeSeriesOptions,
  log: Logger,
): Promise<void> {
  const rs = await client.execute(
    'SELECT default_time_to_live, gc_grace_seconds, compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
    [keyspace, table],
    { prepare: true },
  );
  const row = rs.first();
  const compaction = (row?.compaction ?? {}) as Record<string, string>;
  const same =
    row?.default_time_to_live === wanted.defaultTimeToLive &&
    row?.gc_grace_seconds === wanted.gcGraceSeconds &&
    Object.entries(wanted.compaction).every(([k, v]) => compaction[k] === v);
  if (same) return;
  log.info('converging retention', {
    table,
    from: { ttl: row?.default_time_to_live, compaction },
    to: { ttl: wanted.defaultTimeToLive, compaction: wanted.compaction },
  });
  await client.execute(alterTimeSeriesStatement(keyspace, table, wanted));
}
