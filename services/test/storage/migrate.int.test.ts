// migrate against the real Cassandra: idempotent, converges replication, and the application role can
// read and write the keyspace but not change its schema.
import { auth, Client } from 'cassandra-driver';
import { createCassandraClient } from '../../src/lib/cassandra';
import { migrate } from '../../src/storage/migrate';
import { TABLES } from '../../src/storage/schema';
import { backingEnv, cassandraSettingsFor, quietLog as log, requireService } from '../support/backing';

const env = backingEnv();
const keyspace = `migrate_${Date.now().toString(36)}`;
const appRole = {
  name: `app_${Date.now().toString(36)}`,
  password: 'app-pw-' + Math.random().toString(36).slice(2),
};
let admin: Client;
const settings = cassandraSettingsFor(env, keyspace);

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  admin = createCassandraClient(settings);
  await admin.connect();
});

afterAll(async () => {
  await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await admin.execute(`DROP ROLE IF EXISTS ${appRole.name}`);
  await admin.shutdown();
});

test('creates every table, twice without error, and converges the replication factor', async () => {
  const opts = { replicationFactor: 1, appRole };
  await migrate(admin, settings, opts, log);
  await migrate(admin, settings, opts, log);
  const tables = await admin.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [
    keyspace,
  ]);
  expect(tables.rows.map((r) => r.table_name).sort()).toEqual([...TABLES].sort());

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
  expect(names.sort()).toEqual(expected.sort());
});

test('the application role reads and writes but cannot alter the schema', async () => {
  const app = new Client({
    contactPoints: env.cassandraContactPoints,
    localDataCenter: env.cassandraLocalDc,
    authProvider: new auth.PlainTextAuthProvider(appRole.name, appRole.password),
  });
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
