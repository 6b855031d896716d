// ingest in-process against the real NATS and Cassandra: every reading the stream accepted becomes
// exactly one row; malformed messages are dead-lettered with their original bytes and counted; several
// replicas share one durable consumer without duplicating rows.
import { Client } from 'cassandra-driver';
import { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { Ingest, startIngest } from '../../src/ingest/ingest';
import { encodeRetire, encodeVoltage } from '../../src/wire/codec';
import { backingEnv, requireService } from '../support/backing';
import {
  countRows,
  freshKeyspace,
  metricValue,
  natsConnect,
  publishToStream,
  quietLog,
  RawMessage,
  temperatureMessage,
  testIngestSettings,
  uniqueName,
  voltageMessage,
  pollUntil,
} from './support';

const env = backingEnv();
const keyspace = uniqueName('ingest_');
let cassandra: Client;
let nc: NatsConnection;
const running: { ingest: Ingest; nc: NatsConnection }[] = [];

async function startReplica(root: string, registry = new Registry()) {
  const replicaNc = await natsConnect(env, 'ingest-test');
  const ingest = await startIngest(
    { nc: replicaNc, cassandra, keyspace, log: quietLog, registry },
    testIngestSettings(root),
  );
  running.push({ ingest, nc: replicaNc });
  return { ingest, registry };
}

async function stopAll() {
  for (const r of running.splice(0)) {
    await r.ingest.stop();
    await r.nc.drain();
  }
}

const streams: string[] = [];
/** A unique subject root for one test; its stream is deleted after the test. */
function testRoot(prefix: string): string {
  const root = uniqueName(prefix);
  streams.push(root.toUpperCase());
  return root;
}

beforeAll(async () => {
  await requireService('nats', env.natsUrl);
  await requireService('cassandra', env.cassandraContactPoints[0]);
  cassandra = await freshKeyspace(env, keyspace);
  nc = await natsConnect(env, 'ingest-test-publisher');
}, 120_000);

afterEach(async () => {
  await stopAll();
  const jsm = await nc.jetstreamManager();
  for (const stream of streams.splice(0)) await jsm.streams.delete(stream).catch(() => undefined);
});

afterAll(async () => {
  await cassandra?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await cassandra?.shutdown();
  await nc?.drain();
});

test('N readings published → exactly N rows in raw_data; temperatures stored, forecasts and retire notices acked', async () => {
  const root = testRoot('ingest_n');
  const n = 5000;
  const { registry } = await startReplica(root);
  const voltage = Array.from({ length: n }, (_, k) => voltageMessage(root, k));
  const temps = Array.from({ length: 50 }, (_, k) => temperatureMessage(root, k));
  const forecasts = Array.from({ length: 50 }, (_, k) => temperatureMessage(root, k, true));
  // An injector's retire notice (for the stream job) is acked and ignored, never dead-lettered.
  const retire = {
    subject: `${root}.raw.control.retire`,
    data: encodeRetire({ lines: [1, 1], transformers: 7, usagepoints: 7, epoch: 1_704_067_200 }),
  };
  // Publish twice: a replayed reading must rewrite its row, not add one.
  await publishToStream(nc, [...voltage, ...temps, ...forecasts, retire, ...voltage.slice(0, 500)]);

  const handled = () =>
    Promise.all([
      metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'stored' }),
      metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'ignored' }),
    ]);
  const [stored, ignored] = await pollUntil(handled, ([s, i]) => s === n + 550 && i === 51, 120_000);
  expect([stored, ignored]).toEqual([n + 550, 51]);
  expect(await metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'deadlettered' })).toBe(
    0,
  );
  expect(await countRows(cassandra, keyspace)).toBe(n);
  const temperatures = await cassandra.execute(`SELECT epoch, temperature FROM ${keyspace}.temperature`);
  expect(temperatures.rowLength).toBe(50);

  const row = await cassandra.execute(
    `SELECT year, month, day, hour, minute, day_of_week, voltage, val12 FROM ${keyspace}.raw_data
     WHERE line = 1 AND transformer = 3 AND usagepoint = ? AND year = 2024 AND month = 1 AND day = 1
     AND hour = 0 AND minute = 2`,
    [1 + (203 % 7)],
    { prepare: true },
  );
  // Reading 203: meter 3 (line 1, transformer 3), minute 2 of Monday 1 January 2024.
  expect(row.rows).toHaveLength(1);
  expect(row.first().day_of_week).toBe(1);
  expect(row.first().voltage).toBeCloseTo(110 + 53 / 10, 4);
  expect(row.first().val12).toBeCloseTo(9 + 0.203, 4);
}, 180_000);

test('1,000 malformed messages among good ones: all dead-lettered with original bytes, counted; every good one stored', async () => {
  const root = testRoot('ingest_dl');
  const good = 3000;
  const bad: (RawMessage & { reason: string })[] = [];
  for (let i = 0; i < 1000; i++) {
    const sample = voltageMessage(root, 100_000 + i);
    const dv = new DataView(sample.data.buffer);
    switch (i % 5) {
      case 0: // wrong size: a truncated payload
        bad.push({ ...sample, data: sample.data.slice(0, 1 + (i % 55)), reason: 'size' });
        break;
      case 1: // not a meter subject
        bad.push({ subject: `${root}.raw.voltage.data.${i}.x`, data: sample.data, reason: 'subject' });
        break;
      case 2: // NaN voltage, or one no household meter can measure (wire/bounds.ts)
        dv.setFloat32(8, i % 10 === 2 ? NaN : 5000 + i);
        bad.push({ ...sample, reason: i % 10 === 2 ? 'value' : 'range' });
        break;
      case 3: // infinite val7
        dv.setFloat32(32, Infinity);
        bad.push({ ...sample, reason: 'value' });
        break;
      default: // negative epoch
        dv.setBigInt64(0, -1n - BigInt(i));
        bad.push({ ...sample, reason: 'epoch' });
    }
  }
  const expected = new Map(bad.map((b) => [`${b.subject}|${Buffer.from(b.data).toString('hex')}`, b.reason]));
  expect(expected.size).toBe(1000); // every malformed message is distinguishable

  const received = new Map<string, string>();
  const sub = nc.subscribe(`${root}.deadletter.>`, {
    callback: (_err, msg) => {
      const original = msg.headers?.get('Smartmeter-Subject') ?? '';
      received.set(`${original}|${Buffer.from(msg.data).toString('hex')}`, msg.subject.split('.').pop()!);
    },
  });
  await nc.flush();

  const { registry } = await startReplica(root);
  const messages: RawMessage[] = [];
  for (let k = 0; k < good; k++) {
    messages.push(voltageMessage(root, k));
    if (k % 3 === 0) messages.push(bad[k / 3]);
  }
  expect(messages).toHaveLength(good + 1000);
  await publishToStream(nc, messages);

  const stored = await pollUntil(
    () => metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'stored' }),
    (v) => v === good,
    120_000,
  );
  expect(stored).toBe(good);
  await pollUntil(
    async () => received.size,
    (v) => v === 1000,
    30_000,
  );
  sub.unsubscribe();
  expect(received).toEqual(expected);
  expect(await countRows(cassandra, keyspace)).toBeGreaterThanOrEqual(good); // first test's rows too
  const rows = await cassandra.execute(
    // One meter's first simulated day (support.ts: readings start on 2024-01-01): one raw_data partition.
    `SELECT COUNT(*) AS n FROM ${keyspace}.raw_data
     WHERE line = 1 AND transformer = 0 AND usagepoint = 1 AND year = 2024 AND month = 1 AND day = 1`,
  );
  expect(Number(rows.first().n)).toBeGreaterThan(0);

  const byReason = (reason: string) =>
    metricValue(registry, 'smartmeter_ingest_deadletters_total', { reason });
  expect(await metricValue(registry, 'smartmeter_ingest_messages_total', { outcome: 'deadlettered' })).toBe(
    1000,
  );
  expect([await byReason('size'), await byReason('subject'), await byReason('value')]).toEqual([
    200, 200, 300,
  ]);
  expect(await byReason('range')).toBe(100);
  expect(await byReason('epoch')).toBe(200);
  // Terminated, not redelivered: nothing is left for the consumer.
  const jsm = await nc.jetstreamManager();
  const info = await pollUntil(
    () => jsm.consumers.info(root.toUpperCase(), 'ingest'),
    (i) => i.num_ack_pending === 0 && i.num_pending === 0,
    10_000,
  );
  expect([info.num_pending, info.num_ack_pending, info.num_redelivered]).toEqual([0, 0, 0]);
}, 180_000);

test('three replicas share one durable consumer: the work is split and no reading is stored twice', async () => {
  const root = testRoot('ingest_rep');
  const n = 6000;
  const ks2 = uniqueName('ingest_rep_');
  // A keyspace of its own, so the row count is this test's alone.
  const own = await freshKeyspace(env, ks2);
  try {
    const replicas: Registry[] = [];
    for (let i = 0; i < 3; i++) {
      const replicaNc = await natsConnect(env, `ingest-replica-${i}`);
      const registry = new Registry();
      const ingest = await startIngest(
        { nc: replicaNc, cassandra: own, keyspace: ks2, log: quietLog, registry },
        testIngestSettings(root),
      );
      running.push({ ingest, nc: replicaNc });
      replicas.push(registry);
    }
    await publishToStream(
      nc,
      Array.from({ length: n }, (_, k) => voltageMessage(root, k)),
    );
    const storedBy = () =>
      Promise.all(
        replicas.map((r) => metricValue(r, 'smartmeter_ingest_messages_total', { outcome: 'stored' })),
      );
    const counts = await pollUntil(storedBy, (c) => c.reduce((a, b) => a + b, 0) >= n, 120_000);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(n); // each message stored by exactly one replica
    expect(counts.filter((c) => c > 0).length).toBeGreaterThanOrEqual(2);
    expect(await countRows(own, ks2)).toBe(n);
  } finally {
    await stopAll();
    await own.execute(`DROP KEYSPACE IF EXISTS ${ks2}`);
    await own.shutdown();
  }
}, 180_000);

test('a reading encoded by the codec round-trips through raw_data with float32 precision', async () => {
  const root = testRoot('ingest_rt');
  await startReplica(root);
  const epoch = Date.UTC(2031, 6, 4, 18, 45) / 1000; // a Friday
  const data = encodeVoltage({
    epoch,
    voltage: 121.37,
    demand: 2.5,
    values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  });
  await publishToStream(nc, [{ subject: `${root}.raw.voltage.data.42.3.17`, data }]);
  const query = `SELECT * FROM ${keyspace}.raw_data
    WHERE line = 42 AND transformer = 3 AND usagepoint = 17 AND year = 2031 AND month = 7 AND day = 4`;
  const rs = await pollUntil(
    () => cassandra.execute(query),
    (r) => r.rowLength === 1,
    30_000,
  );
  const row = rs.first();
  expect([row.year, row.month, row.day, row.hour, row.minute, row.day_of_week]).toEqual([
    2031, 7, 4, 18, 45, 5,
  ]);
  expect(row.voltage).toBeCloseTo(121.37, 4);
  expect([row.demand, row.val3, row.val12]).toEqual([2.5, 1, 10]);
}, 60_000);
