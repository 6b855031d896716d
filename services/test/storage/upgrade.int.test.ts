// An upgrade under load, against the real NATS and Cassandra: ingest keeps storing readings into a raw_data of
// the earlier key, logged in as the application role, while migrate moves raw_data to the day-bucketed key.
// Its writes are fenced (refused and retried) during the move, and every reading the stream accepted ends up
// stored exactly once under the new key. The ingest here is today's, but it writes raw_data with the same
// INSERT (same columns) as the earlier version's, which is what the fence has to hold back.
import { auth, Client } from 'cassandra-driver';
import { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { Ingest, startIngest } from '../../src/ingest/ingest';
import { createCassandraClient } from '../../src/lib/cassandra';
import { sleep } from '../../src/lib/retry';
import { migrate } from '../../src/storage/migrate';
import { legacyRawDataStatement, RAW_DATA_PARTITION_KEY } from '../../src/storage/schema';
import {
  cassandraSettingsFor,
  countRows,
  metricValue,
  natsConnect,
  publishToStream,
  quietLog as log,
  testIngestSettings,
  uniqueName,
  voltageMessage,
  pollUntil,
} from '../ingest/support';
import { backingEnv, requireService } from '../support/backing';

const env = backingEnv();
const keyspace = uniqueName('upgrade_');
const root = uniqueName('upgrade');
const settings = cassandraSettingsFor(env, keyspace);
const appRole = { name: uniqueName('upgrade_app_'), password: 'pw-' + Math.random().toString(36).slice(2) };
let admin: Client;
let app: Client;
let nc: NatsConnection;
let ingestNc: NatsConnection | undefined;
let ingest: Ingest | undefined;

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  await requireService('nats', env.natsUrl);
  admin = createCassandraClient(settings);
  await admin.connect();
  nc = await natsConnect(env, 'upgrade-test');
});

afterAll(async () => {
  await ingest?.stop();
  await ingestNc?.drain();
  await app?.shutdown();
  await (await nc.jetstreamManager()).streams.delete(root.toUpperCase()).catch(() => undefined);
  await nc.drain();
  await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await admin.execute(`DROP ROLE IF EXISTS ${appRole.name}`);
  await admin.shutdown();
});

test('ingest running through the move of raw_data: retried while fenced, every accepted reading stored once', async () => {
  // A keyspace as the earlier version left it: the application role, and raw_data with the old key.
  await migrate(admin, settings, { replicationFactor: 1, appRole }, log);
  await admin.execute(`DROP TABLE ${keyspace}.raw_data`);
  await admin.execute(legacyRawDataStatement(keyspace));
  app = new Client({
    contactPoints: env.cassandraContactPoints,
    localDataCenter: env.cassandraLocalDc,
    authProvider: new auth.PlainTextAuthProvider(appRole.name, appRole.password),
  });
  await app.connect();
  const registry = new Registry();
  ingestNc = await natsConnect(env, 'upgrade-ingest');
  ingest = await startIngest(
    { nc: ingestNc, cassandra: app, keyspace, log, registry },
    testIngestSettings(root),
  );

  let published = 0;
  const publish = async (n: number) => {
    await publishToStream(
      nc,
      Array.from({ length: n }, (_, i) => voltageMessage(root, published + i)),
    );
    published += n;
  };
  await publish(3000);
  expect(
    await pollUntil(
      () => countRows(admin, keyspace),
      (n) => n === 3000,
      60_000,
    ),
  ).toBe(3000);

  // The upgrade: migrate runs while readings keep coming and ingest keeps writing.
  let moved = false;
  const migration = migrate(
    admin,
    settings,
    { replicationFactor: 1, appRole, fenceSettleMs: 3000 },
    log,
  ).then(() => (moved = true));
  while (!moved) {
    await publish(100);
    await sleep(100);
  }
  await migration;
  await publish(500);

  const stored = await pollUntil(
    () => countRows(admin, keyspace),
    (n) => n >= published,
    120_000,
  );
  expect(stored).toBe(published);
  const key = await admin.execute(
    'SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
    [keyspace, 'raw_data'],
    { prepare: true },
  );
  expect(
    key.rows
      .filter((r) => r.kind === 'partition_key')
      .sort((a, b) => a.position - b.position)
      .map((r) => r.column_name),
  ).toEqual(RAW_DATA_PARTITION_KEY);
  // The fence did hold writes back (they were retried), and nothing was dead-lettered or left unacknowledged.
  expect(await metricValue(registry, 'smartmeter_ingest_write_retries_total')).toBeGreaterThan(0);
  expect(
    await metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'stored' }),
  ).toBeGreaterThanOrEqual(published);
  expect(await metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'deadlettered' })).toBe(
    0,
  );
  const info = await pollUntil(
    () => nc.jetstreamManager().then((jsm) => jsm.consumers.info(root.toUpperCase(), 'ingest')),
    (i) => i.num_pending === 0 && i.num_ack_pending === 0,
    30_000,
  );
  expect([info.num_pending, info.num_ack_pending]).toEqual([0, 0]);
}, 300_000);
