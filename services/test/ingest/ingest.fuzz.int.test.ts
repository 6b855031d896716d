// ingest survives every raw message, against the real nats-server and Cassandra: a message is stored,
// acknowledged (forecasts, retire notices) or dead-lettered, never left in flight, and the next one is
// stored. A message of max_payload bytes, whose dead letter with its headers would not fit, is dead-lettered
// cut to fit and terminated (it used to throw out of the handler, leak its slot and stop the fetch).
import fc from 'fast-check';
import { Client } from 'cassandra-driver';
import { Msg, NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { Ingest, startIngest } from '../../src/ingest/ingest';
import { sleep } from '../../src/lib/retry';
import { fuzz, fuzzTimeoutMs } from '../../../tests/fuzz/support';
import { backingEnv, requireService } from '../support/backing';
import { rawInput } from '../support/raw-input';
import {
  freshKeyspace,
  metricValue,
  natsConnect,
  publishToStream,
  quietLog,
  testIngestSettings,
  uniqueName,
  voltageMessage,
  pollUntil,
} from './support';

const env = backingEnv();
const keyspace = uniqueName('ingestfz_');
let cassandra: Client;
let nc: NatsConnection;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await requireService('nats', env.natsUrl);
  await requireService('cassandra', env.cassandraContactPoints[0]);
  cassandra = await freshKeyspace(env, keyspace);
  nc = await natsConnect(env, 'ingest-fuzz-publisher');
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await nc?.drain();
  await cassandra?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await cassandra?.shutdown();
}, 60_000);

interface Running {
  root: string;
  ingest: Ingest;
  registry: Registry;
  health: string[];
}

/** An ingest replica on its own root and stream, stopped (and its stream deleted) after the file. */
async function startOne(prefix: string): Promise<Running> {
  const root = uniqueName(prefix);
  const ingestNc = await natsConnect(env, 'ingest-fuzz');
  const registry = new Registry();
  const health: string[] = [];
  // ack_wait past the test's waits: a message left unacknowledged would not come back in time to hide it.
  const ingest = await startIngest(
    {
      nc: ingestNc,
      cassandra,
      keyspace,
      log: quietLog,
      registry,
      setReady: (ready, reason) => health.push(`${ready} ${reason}`),
    },
    testIngestSettings(root, { ackWaitMs: 120_000 }),
  );
  cleanups.push(async () => {
    await ingest.stop();
    await ingestNc.drain();
    await (await nc.jetstreamManager()).streams.delete(root.toUpperCase());
  });
  return { root, ingest, registry, health };
}

const handled = (registry: Registry) => metricValue(registry, 'smartmeter_ingest_messages_total');
const inFlight = (registry: Registry) => metricValue(registry, 'smartmeter_ingest_inflight_writes');

test('a message of max_payload bytes is dead-lettered cut to fit and terminated; the next ones are stored', async () => {
  const { root, registry, health } = await startOne('ingmax');
  const letters: Msg[] = [];
  const sub = nc.subscribe(`${root}.deadletter.>`, { callback: (_e, m) => letters.push(m) });
  await nc.flush();
  const maxPayload = nc.info!.max_payload;
  const huge = { subject: voltageMessage(root, 0).subject, data: new Uint8Array(maxPayload).fill(9) };
  const before = Array.from({ length: 50 }, (_, k) => voltageMessage(root, k));
  const after = Array.from({ length: 50 }, (_, k) => voltageMessage(root, 50 + k));
  await publishToStream(nc, [...before, huge, ...after], 1); // in this order

  const stored = await pollUntil(
    () => metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'stored' }),
    (n) => n === 100,
    20_000,
    100,
  );
  expect(stored).toBe(100);
  await pollUntil(
    async () => letters.length,
    (n) => n === 1,
    5_000,
    50,
  );
  sub.unsubscribe();
  expect(letters.map((m) => m.subject)).toEqual([`${root}.deadletter.size`]);
  const [letter] = letters;
  expect(letter.headers?.get('Smartmeter-Truncated')).toBe(String(maxPayload));
  expect(letter.headers?.get('Smartmeter-Stream-Seq')).toBe('51');
  expect(letter.data.byteLength).toBeGreaterThan(maxPayload - 1024);
  expect(letter.data.every((b) => b === 9)).toBe(true);
  expect(await metricValue(registry, 'smartmeter_ingest_deadletters_total', { reason: 'size' })).toBe(1);
  expect(await metricValue(registry, 'smartmeter_ingest_deadletter_failures_total')).toBe(0);
  expect(await inFlight(registry)).toBe(0);
  // Terminated: nothing pending or waiting for an acknowledgement, nothing redelivered.
  const info = await pollUntil(
    () => nc.jetstreamManager().then((jsm) => jsm.consumers.info(root.toUpperCase(), 'ingest')),
    (i) => i.num_ack_pending === 0 && i.num_pending === 0,
    5_000,
    100,
  );
  expect([info.num_pending, info.num_ack_pending, info.num_redelivered]).toEqual([0, 0, 0]);
  expect(health).toEqual([]);
}, 60_000);

test('ingest whose consumer was deleted from under it says it stopped consuming: not ready, in a metric', async () => {
  const { root, registry, health } = await startOne('ingdel');
  await publishToStream(nc, [voltageMessage(root, 0)]);
  await pollUntil(
    () => handled(registry),
    (n) => n === 1,
    10_000,
    50,
  );
  expect(await metricValue(registry, 'smartmeter_consumer_stopped')).toBe(0);
  await (await nc.jetstreamManager()).consumers.delete(root.toUpperCase(), 'ingest');
  const reasons = await pollUntil(
    async () => health,
    (h) => h.length > 0,
    15_000,
    100,
  );
  expect(reasons[0]).toMatch(/^false stopped consuming: a fetch failed: /);
  expect(await metricValue(registry, 'smartmeter_consumer_stopped')).toBe(1);
  expect(await metricValue(registry, 'smartmeter_consumer_failures_total')).toBe(1);
}, 60_000);

test(
  'fuzz: any raw message is stored, acknowledged or dead-lettered, no slot leaks, and the next reading is stored',
  async () => {
    const { root, registry, health } = await startOne('ingfz');
    const maxPayload = nc.info!.max_payload;
    let k = 1_000_000;
    await fuzz(
      'ingest raw messages',
      fc.asyncProperty(rawInput(root, maxPayload), async (input) => {
        const sentinel = voltageMessage(root, k++);
        const total = (await handled(registry)) + 2;
        const stored = await metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'stored' });
        await publishToStream(nc, [input, sentinel], 1);
        const deadline = Date.now() + 15_000;
        while (((await handled(registry)) < total || (await inFlight(registry)) > 0) && Date.now() < deadline)
          await sleep(5);
        expect(await handled(registry)).toBe(total);
        expect(await inFlight(registry)).toBe(0);
        // The sentinel, at least, was stored.
        expect(
          await metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'stored' }),
        ).toBeGreaterThan(stored);
      }),
    );
    expect(await metricValue(registry, 'smartmeter_ingest_deadletter_failures_total')).toBe(0);
    expect(health).toEqual([]);
    // Ingest's last acks are publishes on its own connection: the server may count them a moment later.
    // A leaked message would stay pending (and come back after ack_wait, redelivered).
    const jsm = await nc.jetstreamManager();
    const info = await pollUntil(
      () => jsm.consumers.info(root.toUpperCase(), 'ingest'),
      (i) => i.num_ack_pending === 0,
      10_000,
      100,
    );
    expect([info.num_ack_pending, info.num_redelivered]).toEqual([0, 0]);
  },
  fuzzTimeoutMs(1, 60_000),
);
