// An upgrade under load, against the real NATS and Cassandra: ingest keeps storing readings into a raw_data of
// the earlier key, logged in as the shared application role of earlier versions, while migrate moves raw_data
// to the day-bucketed key, creates the per-service roles and drops the shared one. The old ingest's writes are
// fenced (refused and retried) during the move; then it is replaced, as a deploy does, by an ingest logged in
// as ingest's own role, and every reading the stream accepted ends up stored exactly once under the new key.
// The ingest here is today's, but it writes raw_data with the same INSERT (same columns) as the earlier
// version's, which is what the fence has to hold back.
import { Client } from 'cassandra-driver';
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
import {
  createLegacyAppRole,
  dropTestRoles,
  loginClient,
  logsIn,
  serviceClient,
  testRoles,
} from '../support/roles';

const env = backingEnv();
const keyspace = uniqueName('upgrade_');
const root = uniqueName('upgrade');
const settings = cassandraSettingsFor(env, keyspace);
const serviceRoles = testRoles('upg');
const appRole = serviceRoles.legacy;
let admin: Client;
let app: Client;
let ingestClient: Client | undefined;
let next: Ingest | undefined;
let nextNc: NatsConnection | undefined;
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
  await next?.stop();
  await nextNc?.drain();
  await app?.shutdown();
  await ingestClient?.shutdown();
  await (await nc.jetstreamManager()).streams.delete(root.toUpperCase()).catch(() => undefined);
  await nc.drain();
  await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await dropTestRoles(admin, serviceRoles);
  await admin.shutdown();
});

test('ingest running through the move of raw_data: retried while fenced, every accepted reading stored once', async () => {
  // A keyspace as the earlier version left it: the shared application role, and raw_data with the old key.
  await migrate(admin, settings, { replicationFactor: 1 }, log);
  await admin.execute(`DROP TABLE ${keyspace}.raw_data`);
  await admin.execute(legacyRawDataStatement(keyspace));
  await createLegacyAppRole(admin, keyspace, appRole);
  app = loginClient(env, appRole.name, appRole.password);
  await app.connect();
  const registry = new Registry();
  const nextRegistry = new Registry();
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
    { replicationFactor: 1, serviceRoles, fenceSettleMs: 3000 },
    log,
  ).then(() => (moved = true));
  while (!moved) {
    await publish(100);
    await sleep(100);
  }
  await migration;
  // The deploy replaces the old ingest (its role is gone: what it had not stored is redelivered) by one
  // logged in as ingest's own role.
  expect(await logsIn(env, appRole.name, appRole.password)).toBe(false);
  await ingest.stop();
  ingestClient = serviceClient(env, serviceRoles, 'ingest');
  await ingestClient.connect();
  nextNc = await natsConnect(env, 'upgrade-ingest-next');
  next = await startIngest(
    { nc: nextNc, cassandra: ingestClient, keyspace, log, registry: nextRegistry },
    testIngestSettings(root, { ackWaitMs: 5000 }),
  );
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
  const outcome = async (o: string) =>
    (await metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: o })) +
    (await metricValue(nextRegistry, 'smartmeter_ingest_messages_total', { outcome: o }));
  expect(await outcome('stored')).toBeGreaterThanOrEqual(published);
  expect(await outcome('deadlettered')).toBe(0);
  const info = await pollUntil(
    () => nc.jetstreamManager().then((jsm) => jsm.consumers.info(root.toUpperCase(), 'ingest')),
    (i) => i.num_pending === 0 && i.num_ack_pending === 0,
    30_000,
  );
  expect([info.num_pending, info.num_ack_pending]).toEqual([0, 0]);
}, 300_000);
