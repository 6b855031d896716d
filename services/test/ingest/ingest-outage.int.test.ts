// A Cassandra outage of 20 s in the middle of a run: ingest retries with backoff (counted), acknowledges
// nothing it has not written, does not crash, and once Cassandra is back the backlog drains to exactly
// N rows. Stopping Cassandra would break everyone else's tests, so this file starts its OWN backing
// services (other state directory and ports) and removes them afterwards.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'cassandra-driver';
import { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { Ingest, startIngest } from '../../src/ingest/ingest';
import { ensureRawStream } from '../../src/lib/jetstream';
import { sleep } from '../../src/lib/retry';
import { backingEnv, BackingEnv, shutdownAfterRestart } from '../support/backing';
import {
  countRows,
  freshKeyspace,
  metricValue,
  natsConnect,
  publishToStream,
  STREAM_MAX_BYTES,
  quietLog,
  testIngestSettings,
  uniqueName,
  voltageMessage,
  pollUntil,
} from './support';

const SCRIPT = join(__dirname, '../../../scripts/backing-services.sh');
// Ports no other set uses by default; the state directory is this file's alone.
const OWN = {
  SMARTMETER_STATE: '/tmp/smartmeter-ingest-outage',
  NATS_PORT: '14322',
  NATS_MONITOR_PORT: '18322',
  CASSANDRA_PORT: '19342',
  CASSANDRA_STORAGE_PORT: '17300',
  CASSANDRA_JMX_PORT: '17399',
  PROMETHEUS_PORT: '19390',
};

const run = promisify(execFile);
const backing = (...args: string[]) =>
  run('bash', [SCRIPT, ...args], { env: { ...process.env, ...OWN }, maxBuffer: 16 * 1024 * 1024 });

let env: BackingEnv;
let cassandra: Client | undefined;
let nc: NatsConnection | undefined;
let ingest: Ingest | undefined;
let hostsBeforeOutage: unknown[] = [];
const keyspace = uniqueName('ingest_outage_');
const root = uniqueName('ingest_outage_');

beforeAll(async () => {
  await backing('up', 'nats', 'cassandra');
  process.env.SMARTMETER_STATE = OWN.SMARTMETER_STATE;
  env = backingEnv();
}, 600_000);

afterAll(async () => {
  await ingest?.stop();
  await nc?.drain().catch(() => undefined);
  await shutdownAfterRestart(cassandra, hostsBeforeOutage);
  await backing('down');
}, 120_000);

test('Cassandra stopped for 20 s mid-run: retries show, nothing is lost, exactly N rows after it returns', async () => {
  cassandra = await freshKeyspace(env, keyspace);
  nc = await natsConnect(env, 'ingest-outage-test');
  const n = 20_000;
  await ensureRawStream(await nc.jetstreamManager(), {
    name: root.toUpperCase(),
    subjects: [`${root}.raw.>`],
    maxBytes: STREAM_MAX_BYTES,
  });
  await publishToStream(
    nc,
    Array.from({ length: n }, (_, k) => voltageMessage(root, k)),
  );

  const registry = new Registry();
  ingest = await startIngest({ nc, cassandra, keyspace, log: quietLog, registry }, testIngestSettings(root));
  const before = await pollUntil(
    () => countRows(cassandra!, keyspace),
    (c) => c >= 2000,
    120_000,
    200,
  );
  expect(before).toBeLessThan(n);

  hostsBeforeOutage = cassandra.hosts.values();
  await backing('stop', 'cassandra');
  await sleep(20_000);
  const retriesDuringOutage = await metricValue(registry, 'smartmeter_ingest_write_retries_total');
  const storedDuringOutage = await metricValue(registry, 'smartmeter_ingest_messages_total', {
    outcome: 'stored',
  });
  expect(retriesDuringOutage).toBeGreaterThan(0);
  expect(storedDuringOutage).toBeLessThan(n);
  await backing('up', 'cassandra');

  const jsm = await nc.jetstreamManager();
  const info = await pollUntil(
    () => jsm.consumers.info(root.toUpperCase(), 'ingest'),
    (i) => i.num_pending === 0 && i.num_ack_pending === 0,
    300_000,
    1000,
  );
  expect([info.num_pending, info.num_ack_pending]).toEqual([0, 0]);
  expect(await countRows(cassandra, keyspace)).toBe(n);
  expect(
    await metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'stored' }),
  ).toBeGreaterThanOrEqual(n);
}, 900_000);
