// migrate against the real Cassandra: idempotent, converges replication and retention, moves a raw_data of an
// earlier version to the day-bucketed key (also after a crash at any step), fencing raw_data's writers (the
// shared role of earlier versions and ingest's), and retires that shared role. What each service role may
// do: tests/integration/cassandra-roles.int.test.ts.
import { Client, concurrent } from 'cassandra-driver';
import { createCassandraClient } from '../../src/lib/cassandra';
import { migrate, MigrateOptions } from '../../src/storage/migrate';
import { copyRows, REKEY_STEPS, RekeyContext, STAGING_TABLE } from '../../src/storage/rekey';
import {
  ADDED_COLUMNS,
  AGGREGATE_TABLES,
  legacyRawDataStatement,
  RAW_DATA_PARTITION_KEY,
  TABLES,
  timeSeriesOptions,
} from '../../src/storage/schema';
import { rawDataInsert, rawDataParams } from '../../src/ingest/rows';
import {
  backingEnv,
  cassandraSettingsFor,
  quietLog as log,
  requireService,
  uniqueName,
} from '../support/backing';
import {
  createLegacyAppRole,
  dropTestRoles,
  loginClient,
  logsIn,
  serviceClient,
  testRoles,
} from '../support/roles';
import { SERVICES } from '../../src/storage/roles';

const env = backingEnv();
const keyspace = uniqueName('migrate_');
const serviceRoles = testRoles('mig');
let admin: Client;
const settings = cassandraSettingsFor(env, keyspace);
const keyspaces = [keyspace];

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  admin = createCassandraClient(settings);
  await admin.connect();
});

// Each DROP is a schema change every node agrees on: several take longer than jest's 5 s on a busy machine.
afterAll(async () => {
  for (const ks of keyspaces) await admin.execute(`DROP KEYSPACE IF EXISTS ${ks}`);
  await dropTestRoles(admin, serviceRoles);
  await admin.shutdown();
}, 120_000);

const tableNames = async (ks: string) =>
  (
    await admin.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [ks], {
      prepare: true,
    })
  ).rows
    .map((r) => r.table_name as string)
    .sort();

const tableOptions = async (ks: string, table: string) =>
  (
    await admin.execute(
      'SELECT default_time_to_live, gc_grace_seconds, compaction FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?',
      [ks, table],
      { prepare: true },
    )
  ).first();

/** Everything migrate may change, as text: tables with their options, columns with their kinds. */
async function schemaOf(ks: string): Promise<string> {
  const tables = await admin.execute('SELECT * FROM system_schema.tables WHERE keyspace_name = ?', [ks], {
    prepare: true,
  });
  const columns = await admin.execute('SELECT * FROM system_schema.columns WHERE keyspace_name = ?', [ks], {
    prepare: true,
  });
  const perms = [];
  for (const service of SERVICES) {
    const rs = await admin.execute(
      'SELECT * FROM system_auth.role_permissions WHERE role = ?',
      [serviceRoles.user(service)],
      { prepare: true },
    );
    perms.push(rs.rows);
  }
  return JSON.stringify([tables.rows, columns.rows, perms]);
}

test('creates every table, twice without error, and converges the replication factor', async () => {
  const opts = { replicationFactor: 1, serviceRoles };
  await migrate(admin, settings, opts, log);
  await migrate(admin, settings, opts, log);
  expect(await tableNames(keyspace)).toEqual([...TABLES].sort());

  await migrate(admin, settings, { ...opts, replicationFactor: 2 }, log);
  const ks = await admin.execute('SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?', [
    keyspace,
  ]);
  expect(ks.first().replication[env.cassandraLocalDc]).toBe('2');
  await migrate(admin, settings, opts, log);
}, 120_000);

test('raw_data has the original README columns in the order cqlsh shows them', async () => {
  const cols = await admin.execute(
    'SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
    [keyspace, 'raw_data'],
  );
  const names = cols.rows.map((r) => r.column_name as string);
  const expected = [
    'line',
    'transformer',
    'usagepoint',
    'year',
    'month',
    'day',
    'hour',
    'minute',
    'day_of_week',
    'demand',
  ];
  expected.push(...Array.from({ length: 10 }, (_, i) => `val${i + 3}`), 'voltage');
  expect([...names].sort()).toEqual([...expected].sort());
  // `select *` lists the partition key, then the clustering columns, then the rest: the original's order.
  const star = await admin.execute(`SELECT * FROM ${keyspace}.raw_data LIMIT 1`);
  // The rest in Cassandra's order for regular columns (by name), as before the day bucket.
  expect(star.columns.map((c) => c.name)).toEqual([...expected.slice(0, 8), ...expected.slice(8).sort()]);
});

test('raw_data is bucketed by meter and simulated day; time series expire and compact by time window', async () => {
  const key = await admin.execute(
    'SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
    [keyspace, 'raw_data'],
    { prepare: true },
  );
  const of = (kind: string) =>
    key.rows
      .filter((r) => r.kind === kind)
      .sort((a, b) => a.position - b.position)
      .map((r) => r.column_name);
  expect(of('partition_key')).toEqual(['line', 'transformer', 'usagepoint', 'year', 'month', 'day']);
  expect(of('clustering')).toEqual(['hour', 'minute']);
  for (const table of ['raw_data', ...AGGREGATE_TABLES]) {
    const o = await tableOptions(keyspace, table);
    expect([table, o.default_time_to_live, o.gc_grace_seconds]).toEqual([table, 7 * 86400, 10800]);
    expect(o.compaction).toMatchObject({
      class: 'org.apache.cassandra.db.compaction.TimeWindowCompactionStrategy',
      compaction_window_unit: 'HOURS',
      compaction_window_size: '7',
    });
  }
  expect((await tableOptions(keyspace, 'models')).default_time_to_live).toBe(0); // models are kept
});

test('a keyspace of the version before outage detection gains the outage tables, with their retention', async () => {
  const before = uniqueName('migrate_pre_outage_');
  keyspaces.push(before);
  const beforeSettings = cassandraSettingsFor(env, before);
  await migrate(admin, beforeSettings, { replicationFactor: 1 }, log);
  await admin.execute(`INSERT INTO ${before}.max_voltage (epoch, voltage) VALUES (60, 118.5)`);
  for (const table of ['meter_outages', 'transformer_outages'])
    await admin.execute(`DROP TABLE ${before}.${table}`);
  await migrate(admin, beforeSettings, { replicationFactor: 1 }, log);
  expect(await tableNames(before)).toEqual([...TABLES].sort());
  for (const table of ['meter_outages', 'transformer_outages'])
    expect((await tableOptions(before, table)).default_time_to_live).toBe(7 * 86400);
  const kept = await admin.execute(`SELECT voltage FROM ${before}.max_voltage WHERE epoch = 60`);
  expect(kept.first().voltage).toBeCloseTo(118.5, 4);
}, 120_000);

test('a keyspace of the version before amended windows gains their columns, its rows kept', async () => {
  const before = uniqueName('migrate_pre_seq_');
  keyspaces.push(before);
  const beforeSettings = cassandraSettingsFor(env, before);
  await migrate(admin, beforeSettings, { replicationFactor: 1 }, log);
  await admin.execute(`INSERT INTO ${before}.max_voltage (epoch, voltage) VALUES (60, 118.5)`);
  for (const { table, column } of ADDED_COLUMNS)
    await admin.execute(`ALTER TABLE ${before}.${table} DROP ${column}`);
  await migrate(admin, beforeSettings, { replicationFactor: 1 }, log);
  const rs = await admin.execute(
    'SELECT table_name, column_name, type FROM system_schema.columns WHERE keyspace_name = ?',
    [before],
    { prepare: true },
  );
  const columns = new Set(rs.rows.map((r) => `${r.table_name}.${r.column_name} ${r.type}`));
  for (const { table, column, type } of ADDED_COLUMNS)
    expect(columns).toContain(`${table}.${column} ${type}`);
  const kept = await admin.execute(`SELECT voltage, seq FROM ${before}.max_voltage WHERE epoch = 60`);
  expect([kept.first().voltage, kept.first().seq]).toEqual([expect.closeTo(118.5, 4), null]);
}, 120_000);

test('a re-run on an up-to-date keyspace changes nothing', async () => {
  const before = await schemaOf(keyspace);
  await migrate(admin, settings, { replicationFactor: 1, serviceRoles }, log);
  expect(await schemaOf(keyspace)).toBe(before);
}, 60_000);

test('a new retention applies to new writes; rows already written keep their TTL', async () => {
  const insert = rawDataInsert(keyspace);
  const reading = (epoch: number) => ({ epoch, voltage: 118, demand: 1, values: Array(10).fill(0) });
  const meter = { line: 9, transformer: 9, usagePoint: 9 };
  await admin.execute(insert, rawDataParams(meter, reading(Date.UTC(2030, 0, 1, 0, 0) / 1000)), {
    prepare: true,
  });
  await migrate(
    admin,
    settings,
    { replicationFactor: 1, serviceRoles, retention: { rawDays: 2, aggregateDays: 30 } },
    log,
  );
  await admin.execute(insert, rawDataParams(meter, reading(Date.UTC(2030, 0, 1, 0, 1) / 1000)), {
    prepare: true,
  });

  const raw = await tableOptions(keyspace, 'raw_data');
  expect([raw.default_time_to_live, raw.compaction.compaction_window_size]).toEqual([2 * 86400, '2']);
  const agg = await tableOptions(keyspace, 'max_voltage');
  expect([agg.default_time_to_live, agg.compaction.compaction_window_size]).toEqual([30 * 86400, '30']);
  const ttls = await admin.execute(
    `SELECT minute, TTL(voltage) AS ttl FROM ${keyspace}.raw_data
     WHERE line = 9 AND transformer = 9 AND usagepoint = 9 AND year = 2030 AND month = 1 AND day = 1`,
  );
  const byMinute = new Map(ttls.rows.map((r) => [r.minute as number, r.ttl as number]));
  expect(byMinute.get(0)).toBeGreaterThan(2 * 86400); // written under 7 days
  expect(byMinute.get(1)).toBeLessThanOrEqual(2 * 86400);
  expect(byMinute.get(1)).toBeGreaterThan(2 * 86400 - 600);
  await migrate(admin, settings, { replicationFactor: 1, serviceRoles }, log); // back to the defaults
}, 60_000);

test("stream's role reads and writes its tables but cannot alter the schema", async () => {
  const app = serviceClient(env, serviceRoles, 'stream');
  await app.connect();
  try {
    await app.execute(`INSERT INTO ${keyspace}.max_voltage (epoch, voltage) VALUES (?, ?)`, [1, 117.5], {
      prepare: true,
    });
    const row = await app.execute(`SELECT voltage FROM ${keyspace}.max_voltage WHERE epoch = ?`, [1], {
      prepare: true,
    });
    expect(row.first().voltage).toBeCloseTo(117.5);
    await expect(app.execute(`DROP TABLE ${keyspace}.max_voltage`)).rejects.toThrow(/permission/i);
  } finally {
    await app.shutdown();
  }
}, 60_000);

// A keyspace of an earlier version ----------------------------------------------------------------------

const loginClientOf = (user: string, password: string) => loginClient(env, user, password);

const ROW_COLUMNS =
  'line, transformer, usagepoint, year, month, day, hour, minute, day_of_week, demand, ' +
  'val3, val4, val5, val6, val7, val8, val9, val10, val11, val12, voltage';

const LEGACY_WRITTEN_US = (Date.now() - 3600_000) * 1000;

/** 2,400 readings over 3 simulated days (more than two of migrate's 1,000-row pages), written an hour ago. */
async function writeLegacyRows(ks: string): Promise<number> {
  await admin.execute(`DROP TABLE IF EXISTS ${ks}.raw_data`);
  await admin.execute(`DROP TABLE IF EXISTS ${ks}.${STAGING_TABLE}`);
  await admin.execute(legacyRawDataStatement(ks));
  const params = Array.from({ length: 2400 }, (_, k) => {
    const meter = { line: 1 + (k % 4), transformer: 1 + (k % 3), usagePoint: 1 + (k % 5) };
    const epoch = Date.UTC(2031, 2, 30, 12) / 1000 + Math.floor(k / 60) * 1800;
    const p = rawDataParams(meter, {
      epoch,
      voltage: 110 + (k % 17),
      demand: k % 7,
      values: Array(10).fill(k % 11),
    });
    return [...p, LEGACY_WRITTEN_US];
  });
  const marks = ROW_COLUMNS.split(', ')
    .map(() => '?')
    .join(', ');
  await concurrent.executeConcurrent(
    admin,
    `INSERT INTO ${ks}.raw_data (${ROW_COLUMNS}) VALUES (${marks}) USING TIMESTAMP ?`,
    params,
  );
  return params.length;
}

/** Every raw_data row with its write time, as sorted text. */
async function rawRows(ks: string, table = 'raw_data'): Promise<string[]> {
  const out: string[] = [];
  let pageState: string | undefined;
  do {
    const rs = await admin.execute(`SELECT ${ROW_COLUMNS}, WRITETIME(voltage) AS w FROM ${ks}.${table}`, [], {
      prepare: true,
      fetchSize: 1000,
      pageState,
    });
    for (const r of rs.rows) out.push(JSON.stringify(Object.values(r).map(String)));
    pageState = rs.pageState ?? undefined;
  } while (pageState);
  return out.sort();
}

async function partitionKeyOf(ks: string): Promise<string[]> {
  const rs = await admin.execute(
    'SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
    [ks, 'raw_data'],
    { prepare: true },
  );
  return rs.rows
    .filter((r) => r.kind === 'partition_key')
    .sort((a, b) => a.position - b.position)
    .map((r) => r.column_name);
}

describe('a keyspace made by an earlier version', () => {
  const old = uniqueName('migrate_old_');
  const oldSettings = cassandraSettingsFor(env, old);
  const opts: MigrateOptions = { replicationFactor: 1, fenceSettleMs: 0 };
  const ctx = (): RekeyContext => ({
    client: admin,
    keyspace: old,
    rawTtlSeconds: timeSeriesOptions(7).defaultTimeToLive,
    fenceSettleMs: 0,
    log,
  });
  let expected: string[];

  beforeAll(async () => {
    keyspaces.push(old);
    await migrate(admin, oldSettings, opts, log); // the other tables, as the earlier version had them
    await writeLegacyRows(old);
    expected = await rawRows(old);
    expect(expected).toHaveLength(2400);
  }, 120_000);

  test('is migrated: the same rows (and write times) under the new key, with the TTL and TWCS set', async () => {
    expect(await partitionKeyOf(old)).toEqual(['line', 'transformer', 'usagepoint']);
    await migrate(admin, oldSettings, opts, log);
    expect(await partitionKeyOf(old)).toEqual(RAW_DATA_PARTITION_KEY);
    expect(await tableNames(old)).toEqual([...TABLES].sort());
    expect(await rawRows(old)).toEqual(expected);
    const o = await tableOptions(old, 'raw_data');
    expect([o.default_time_to_live, o.compaction.class]).toEqual([
      7 * 86400,
      'org.apache.cassandra.db.compaction.TimeWindowCompactionStrategy',
    ]);
    // Copied rows expire by their age: written an hour ago, they have about 7 days minus an hour left.
    const ttl = await admin.execute(`SELECT TTL(voltage) AS t FROM ${old}.raw_data LIMIT 50`);
    for (const r of ttl.rows) {
      expect(r.t).toBeLessThanOrEqual(7 * 86400 - 3600);
      expect(r.t).toBeGreaterThan(7 * 86400 - 3600 - 600);
    }
  }, 120_000);

  test.each(REKEY_STEPS.map((s, i) => [i, s.name] as const))(
    'interrupted after step %i (%s), with the next copy cut short, a re-run finishes it exactly',
    async (done) => {
      await writeLegacyRows(old);
      for (const step of REKEY_STEPS.slice(0, done + 1)) await step.run(ctx());
      // A crash in the middle of the copy that would come next.
      const next = REKEY_STEPS[done + 1]?.name;
      if (next === 'copy raw_data to staging')
        await copyRows(ctx(), 'raw_data', STAGING_TABLE, { maxRows: 700 });
      if (next === 'copy staging to raw_data') {
        await copyRows(ctx(), STAGING_TABLE, 'raw_data', { ttl: true, maxRows: 1300 });
      }
      await migrate(admin, oldSettings, opts, log);
      expect(await partitionKeyOf(old)).toEqual(RAW_DATA_PARTITION_KEY);
      expect(await tableNames(old)).toEqual([...TABLES].sort());
      expect(await rawRows(old)).toEqual(expected);
      expect((await tableOptions(old, 'raw_data')).default_time_to_live).toBe(7 * 86400);
    },
    120_000,
  );

  test('raw_data writers (the shared role, ingest) are fenced during the move; then ingest writes, the shared role is gone', async () => {
    const { legacy } = serviceRoles;
    await migrate(admin, oldSettings, { replicationFactor: 1, serviceRoles }, log); // the roles exist
    await createLegacyAppRole(admin, old, legacy); // as the earlier version left it
    await writeLegacyRows(old);
    const ingestRole = serviceRoles.user('ingest');
    await REKEY_STEPS[0].run({
      ...ctx(),
      writerRoles: [ingestRole],
      legacyRoles: [legacy.name],
      fenceSettleMs: 2500,
    });
    const app = loginClientOf(legacy.name, legacy.password);
    const ingest = serviceClient(env, serviceRoles, 'ingest');
    await app.connect();
    await ingest.connect();
    const meter = { line: 50, transformer: 1, usagePoint: 1 };
    const row = rawDataParams(meter, {
      epoch: Date.UTC(2031, 3, 1) / 1000,
      voltage: 119,
      demand: 1,
      values: Array(10).fill(1),
    });
    try {
      await expect(app.execute(rawDataInsert(old), row, { prepare: true })).rejects.toThrow(/permission/i);
      await expect(ingest.execute(rawDataInsert(old), row, { prepare: true })).rejects.toThrow(/permission/i);
      await app.execute(`INSERT INTO ${old}.temperature (epoch, temperature) VALUES (1, 20)`);
      await migrate(admin, oldSettings, { replicationFactor: 1, serviceRoles, fenceSettleMs: 2500 }, log);
      expect(await rawRows(old)).toEqual(expected);
      await new Promise((r) => setTimeout(r, 2500)); // the permission cache
      await ingest.execute(rawDataInsert(old), row, { prepare: true }); // the new ingest's retried write
      expect(await rawRows(old)).toHaveLength(expected.length + 1);
      expect(await logsIn(env, legacy.name, legacy.password)).toBe(false);
      const gone = await admin.execute('SELECT role FROM system_auth.roles WHERE role = ?', [legacy.name]);
      expect(gone.rowLength).toBe(0);
    } finally {
      await app.shutdown();
      await ingest.shutdown();
    }
  }, 120_000);

  test('rows older than the raw retention are not carried over', async () => {
    await writeLegacyRows(old);
    const eightDaysAgoUs = (Date.now() - 8 * 86400_000) * 1000;
    const stale = rawDataParams(
      { line: 60, transformer: 1, usagePoint: 1 },
      { epoch: Date.UTC(2031, 0, 1) / 1000, voltage: 115, demand: 1, values: Array(10).fill(1) },
    );
    const marks = ROW_COLUMNS.split(', ')
      .map(() => '?')
      .join(', ');
    await admin.execute(
      `INSERT INTO ${old}.raw_data (${ROW_COLUMNS}) VALUES (${marks}) USING TIMESTAMP ?`,
      [...stale, eightDaysAgoUs],
      { prepare: true },
    );
    expect(await rawRows(old)).toHaveLength(expected.length + 1);
    await migrate(admin, oldSettings, opts, log);
    expect(await rawRows(old)).toEqual(expected);
  }, 120_000);

  test('a raw_data with a key no version made is refused with what to do', async () => {
    await admin.execute(`DROP TABLE IF EXISTS ${old}.raw_data`);
    await admin.execute(`CREATE TABLE ${old}.raw_data (line int PRIMARY KEY, voltage float)`);
    await expect(migrate(admin, oldSettings, opts, log)).rejects.toThrow(
      new RegExp(`DROP TABLE ${old}.raw_data, then run migrate again`),
    );
  }, 60_000);
});
