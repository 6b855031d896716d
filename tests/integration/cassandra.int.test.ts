// Foundation check: the real Cassandra node from scripts/backing-services.sh enforces
// PasswordAuthenticator, and cassandra-driver can create a keyspace and table and write and read rows.
import { auth, Client, types } from 'cassandra-driver';
import { backingEnv, requireService } from '../../services/test/support/backing';

const env = backingEnv();
const keyspace = `foundation_${Date.now().toString(36)}`;
let client: Client;

function clientFor(username: string, password: string): Client {
  return new Client({
    contactPoints: env.cassandraContactPoints,
    localDataCenter: env.cassandraLocalDc,
    authProvider: new auth.PlainTextAuthProvider(username, password),
  });
}

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  client = clientFor(env.cassandraUsername, env.cassandraPassword);
  await client.connect();
}, 30_000);

afterAll(async () => {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
  await client.shutdown();
});

test('refuses the default cassandra/cassandra superuser and anonymous clients', async () => {
  const dflt = clientFor('cassandra', 'cassandra');
  await expect(dflt.connect()).rejects.toThrow(/credentials|authenticat/i);
  await dflt.shutdown();
  const anon = new Client({
    contactPoints: env.cassandraContactPoints,
    localDataCenter: env.cassandraLocalDc,
  });
  await expect(anon.connect()).rejects.toThrow(/authenticat/i);
  await anon.shutdown();
});

test('creates a keyspace and table, then writes and reads rows with prepared statements', async () => {
  await client.execute(
    `CREATE KEYSPACE ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
  );
  await client.execute(
    `CREATE TABLE ${keyspace}.readings (meter text, epoch bigint, voltage float, PRIMARY KEY (meter, epoch))`,
  );
  const insert = `INSERT INTO ${keyspace}.readings (meter, epoch, voltage) VALUES (?, ?, ?)`;
  const rows = Array.from({ length: 100 }, (_, i) => [
    `m${i % 5}`,
    types.Long.fromNumber(1_700_000_000 + i),
    110 + i / 10,
  ]);
  for (const params of rows) await client.execute(insert, params, { prepare: true });
  // The same key written again is an upsert, not a second row.
  await client.execute(insert, rows[0], { prepare: true });

  const count = await client.execute(`SELECT count(*) AS n FROM ${keyspace}.readings`);
  expect(count.first().n.toNumber()).toBe(100);
  const m3 = await client.execute(`SELECT epoch, voltage FROM ${keyspace}.readings WHERE meter = ?`, ['m3'], {
    prepare: true,
  });
  expect(m3.rowLength).toBe(20);
  expect(m3.rows[0].epoch.toNumber()).toBe(1_700_000_003);
  expect(m3.rows[0].voltage).toBeCloseTo(110.3, 4);
}, 60_000);
