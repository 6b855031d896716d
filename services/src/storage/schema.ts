// The keyspace `smartmeter` (DESIGN.md, Storage). raw_data keeps the original README's columns so that
// `select * from smartmeter.raw_data limit 2;` looks as it shows; its key (meter, simulated minute) is the
// identity of a reading, which makes every write an idempotent upsert: a replayed message never adds a row.
// Statements are idempotent (IF NOT EXISTS) and name the keyspace, so migrate can run at every deploy.
//
// Bounded growth (Cassandra's time-series conventions): raw_data's partition is one meter's simulated UTC
// day (year, month, day are in the partition key, hour and minute cluster it), so no partition grows past
// 1,440 rows whatever the run's length; every time-series table expires its rows (default_time_to_live)
// and compacts by time window (TimeWindowCompactionStrategy), so whole SSTables are dropped once expired.
import { VARIABLES } from '../contract/variables';

export function keyspaceStatement(
  keyspace: string,
  dataCenter: string,
  replicationFactor: number,
  alter = false,
) {
  const verb = alter ? 'ALTER KEYSPACE' : 'CREATE KEYSPACE IF NOT EXISTS';
  return `${verb} ${keyspace} WITH replication = {'class': 'NetworkTopologyStrategy', '${dataCenter}': ${replicationFactor}}`;
}

/** raw_data's columns in the original README's order, with their CQL types. */
const RAW_DATA_COLUMN_TYPES: [string, string][] = [
  ['line', 'int'],
  ['transformer', 'int'],
  ['usagepoint', 'int'],
  ['year', 'smallint'],
  ['month', 'tinyint'],
  ['day', 'tinyint'],
  ['hour', 'tinyint'],
  ['minute', 'tinyint'],
  ['day_of_week', 'tinyint'],
  ['demand', 'float'],
  ...Array.from({ length: 10 }, (_, i): [string, string] => [`val${i + 3}`, 'float']),
  ['voltage', 'float'],
];
export const RAW_DATA_COLUMNS = RAW_DATA_COLUMN_TYPES.map(([name]) => name);
const RAW_DATA_COLUMN_DEFS = RAW_DATA_COLUMN_TYPES.map(([name, type]) => `${name} ${type}`).join(', ');

/** raw_data's key: one partition per meter and simulated day, newest minute first. */
export const RAW_DATA_PARTITION_KEY = ['line', 'transformer', 'usagepoint', 'year', 'month', 'day'];
export const RAW_DATA_CLUSTERING = ['hour', 'minute'];
/** The key of versions before the day bucket: one partition per meter, growing forever (migrate.ts). */
export const LEGACY_RAW_DATA_PARTITION_KEY = ['line', 'transformer', 'usagepoint'];

export function rawDataStatement(ks: string, table = 'raw_data'): string {
  return `CREATE TABLE IF NOT EXISTS ${ks}.${table} (
      ${RAW_DATA_COLUMN_DEFS},
      PRIMARY KEY ((${RAW_DATA_PARTITION_KEY.join(', ')}), ${RAW_DATA_CLUSTERING.join(', ')})
    ) WITH CLUSTERING ORDER BY (hour DESC, minute DESC)`;
}

/** The raw_data of earlier versions, for the migration tests. */
export function legacyRawDataStatement(ks: string): string {
  return `CREATE TABLE IF NOT EXISTS ${ks}.raw_data (
      ${RAW_DATA_COLUMN_DEFS},
      PRIMARY KEY ((line, transformer, usagepoint), year, month, day, hour, minute)
    ) WITH CLUSTERING ORDER BY (year DESC, month DESC, day DESC, hour DESC, minute DESC)`;
}

export function tableStatements(ks: string): string[] {
  return [
    rawDataStatement(ks),
    // One row per simulated epoch: the temperature reading (ingest) and its window max (stream) agree.
    // The stream job's rows keep `seq`, the highest stream sequence folded in, and what reopening a closed
    // window needs (streaming/windows.ts amended readings; ADDED_COLUMNS for tables made before them).
    `CREATE TABLE IF NOT EXISTS ${ks}.temperature (epoch bigint PRIMARY KEY, temperature float, seq bigint)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.max_voltage (epoch bigint PRIMARY KEY, voltage float, seq bigint)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.max_voltage_by_line (
      line int, epoch bigint, voltage float, seq bigint,
      PRIMARY KEY (line, epoch)
    ) WITH CLUSTERING ORDER BY (epoch DESC)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.avg_voltage_by_transformer (
      line int, transformer int, year smallint, month tinyint, day tinyint,
      voltage_avg float, readings bigint, voltage_sum double, seq bigint,
      PRIMARY KEY ((line, transformer), year, month, day)
    ) WITH CLUSTERING ORDER BY (year DESC, month DESC, day DESC)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.voltage_alerts (
      line int, transformer int, window_start bigint,
      window_end bigint, readings_over int, max_voltage float, threshold float, first_over bigint, seq bigint,
      PRIMARY KEY ((line, transformer), window_start)
    ) WITH CLUSTERING ORDER BY (window_start DESC)`,
    // Outages (streaming/outages.ts): one row per outage, keyed by its start, rewritten when it closes.
    // state is 'open' (no end yet) or 'closed'; times are simulated epoch seconds.
    `CREATE TABLE IF NOT EXISTS ${ks}.meter_outages (
      line int, transformer int, usagepoint int, start_epoch bigint,
      end_epoch bigint, duration_s bigint, state text, detected_epoch bigint,
      PRIMARY KEY ((line, transformer), usagepoint, start_epoch)
    ) WITH CLUSTERING ORDER BY (usagepoint ASC, start_epoch DESC)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.transformer_outages (
      line int, transformer int, start_epoch bigint,
      end_epoch bigint, duration_s bigint, state text, detected_epoch bigint, meters_out int, meters int,
      PRIMARY KEY (line, transformer, start_epoch)
    ) WITH CLUSTERING ORDER BY (transformer ASC, start_epoch DESC)`,
    // Versioned trained models with their held-out metrics (replaces the original's HDFS file).
    `CREATE TABLE IF NOT EXISTS ${ks}.models (
      name text, version int, created_at timestamp,
      topology text, weights blob, metrics text, training_rows int,
      PRIMARY KEY (name, version)
    ) WITH CLUSTERING ORDER BY (version DESC)`,
  ];
}

/** Columns added after their table's first release: in the CREATE statements above, and added by migrate. */
export const ADDED_COLUMNS: readonly { table: string; column: string; type: string }[] = [
  ...[
    'temperature',
    'max_voltage',
    'max_voltage_by_line',
    'avg_voltage_by_transformer',
    'voltage_alerts',
  ].map((table) => ({ table, column: 'seq', type: 'bigint' })),
  { table: 'avg_voltage_by_transformer', column: 'voltage_sum', type: 'double' },
  { table: 'voltage_alerts', column: 'first_over', type: 'bigint' },
];

export const TABLES = [
  'raw_data',
  'temperature',
  'max_voltage',
  'max_voltage_by_line',
  'avg_voltage_by_transformer',
  'voltage_alerts',
  'meter_outages',
  'transformer_outages',
  'models',
] as const;

/** The tables written by the stream job from raw readings (outages included); they expire by `aggregateRetentionDays`. */
export const AGGREGATE_TABLES = [
  'temperature',
  'max_voltage',
  'max_voltage_by_line',
  'avg_voltage_by_transformer',
  'voltage_alerts',
  'meter_outages',
  'transformer_outages',
] as const;

export interface RetentionSettings {
  /** Real days a raw_data row lives after it is written. */
  rawDays: number;
  /** Real days an aggregate (temperature, max voltage, averages, alerts) lives. */
  aggregateDays: number;
}

/** The declared defaults (contract/variables.ts; at most 7300 days: Cassandra's largest TTL is 20 years). */
export const DEFAULT_RETENTION: RetentionSettings = {
  rawDays: VARIABLES.RAW_RETENTION_DAYS.default,
  aggregateDays: VARIABLES.AGGREGATE_RETENTION_DAYS.default,
};

/** What migrate converges on a time-series table; read back from system_schema.tables to compare. */
export interface TimeSeriesOptions {
  defaultTimeToLive: number;
  gcGraceSeconds: number;
  compaction: Record<string, string>;
}

/**
 * TTL = the retention; TWCS windows of retention/24 (whole hours, at least one), the usual ~20–30 windows
 * per TTL, so about one SSTable per window and whole windows dropped as they expire. gc_grace_seconds is
 * the hint window (3 h) instead of 10 days: the keyspace is never DELETEd from, only upserted with TTL, so
 * no tombstone can be resurrected, and a fully expired SSTable is dropped 3 h after expiry, not 10 days.
 */
export function timeSeriesOptions(retentionDays: number): TimeSeriesOptions {
  const hours = retentionDays * 24;
  return {
    defaultTimeToLive: Math.round(retentionDays * 86400),
    gcGraceSeconds: 3 * 3600,
    compaction: {
      class: 'org.apache.cassandra.db.compaction.TimeWindowCompactionStrategy',
      compaction_window_unit: 'HOURS',
      compaction_window_size: String(Math.max(1, Math.ceil(hours / 24))),
    },
  };
}

export function alterTimeSeriesStatement(ks: string, table: string, o: TimeSeriesOptions): string {
  const compaction = Object.entries(o.compaction)
    .map(([k, v]) => `'${k}': '${v}'`)
    .join(', ');
  return (
    `ALTER TABLE ${ks}.${table} WITH default_time_to_live = ${o.defaultTimeToLive}` +
    ` AND gc_grace_seconds = ${o.gcGraceSeconds} AND compaction = {${compaction}}`
  );
}
