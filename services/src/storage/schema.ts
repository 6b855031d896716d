// The keyspace `smartmeter` (DESIGN.md, Storage). raw_data keeps the original README's columns so that
// `select * from smartmeter.raw_data limit 2;` looks as it shows; its key (meter, simulated minute) is the
// identity of a reading, which makes every write an idempotent upsert: a replayed message never adds a row.
// Statements are idempotent (IF NOT EXISTS) and name the keyspace, so migrate can run at every deploy.

export function keyspaceStatement(
  keyspace: string,
  dataCenter: string,
  replicationFactor: number,
  alter = false,
) {
  const verb = alter ? 'ALTER KEYSPACE' : 'CREATE KEYSPACE IF NOT EXISTS';
  return `${verb} ${keyspace} WITH replication = {'class': 'NetworkTopologyStrategy', '${dataCenter}': ${replicationFactor}}`;
}

export function tableStatements(ks: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${ks}.raw_data (
      line int, transformer int, usagepoint int,
      year smallint, month tinyint, day tinyint, hour tinyint, minute tinyint,
      day_of_week tinyint, demand float,
      val3 float, val4 float, val5 float, val6 float, val7 float, val8 float, val9 float, val10 float, val11 float, val12 float,
      voltage float,
      PRIMARY KEY ((line, transformer, usagepoint), year, month, day, hour, minute)
    ) WITH CLUSTERING ORDER BY (year DESC, month DESC, day DESC, hour DESC, minute DESC)`,
    // One row per simulated epoch: the temperature reading (ingest) and its window max (stream) agree.
    `CREATE TABLE IF NOT EXISTS ${ks}.temperature (epoch bigint PRIMARY KEY, temperature float)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.max_voltage (epoch bigint PRIMARY KEY, voltage float)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.max_voltage_by_line (
      line int, epoch bigint, voltage float,
      PRIMARY KEY (line, epoch)
    ) WITH CLUSTERING ORDER BY (epoch DESC)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.avg_voltage_by_transformer (
      line int, transformer int, year smallint, month tinyint, day tinyint,
      voltage_avg float, readings bigint,
      PRIMARY KEY ((line, transformer), year, month, day)
    ) WITH CLUSTERING ORDER BY (year DESC, month DESC, day DESC)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.voltage_alerts (
      line int, transformer int, window_start bigint,
      window_end bigint, readings_over int, max_voltage float, threshold float,
      PRIMARY KEY ((line, transformer), window_start)
    ) WITH CLUSTERING ORDER BY (window_start DESC)`,
    // Versioned trained models with their held-out metrics (replaces the original's HDFS file).
    `CREATE TABLE IF NOT EXISTS ${ks}.models (
      name text, version int, created_at timestamp,
      topology text, weights blob, metrics text, training_rows int,
      PRIMARY KEY (name, version)
    ) WITH CLUSTERING ORDER BY (version DESC)`,
  ];
}

export const TABLES = [
  'raw_data',
  'temperature',
  'max_voltage',
  'max_voltage_by_line',
  'avg_voltage_by_transformer',
  'voltage_alerts',
  'models',
] as const;
