// The injectors' acknowledged delivery (src/simulator/delivery.ts) against a real nats-server of the test's
// own, which it stops and kills: every reading the broker acknowledged is in the stream exactly once and in
// the ledger with its stream sequence; readings wait while no stream answers, while the server is down and
// after it was killed, and arrive afterwards; a resend of what was stored already is not stored twice; a
// full buffer drops its oldest readings and counts them. Judged against the stream's own messages.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { ensureRawStream } from '../../src/lib/jetstream';
import { createDeliveryMetrics, Delivery, DeliverySettings, Outgoing } from '../../src/simulator/delivery';
import { Ledger, readLedgers } from '../../src/simulator/ledger';
import { quietLog } from '../support/backing';
import { NatsServer } from '../support/nats-server';

jest.setTimeout(120_000);

const dir = mkdtempSync(join(tmpdir(), 'smartmeter-delivery-'));
let server: NatsServer;
let nc: NatsConnection;
let run = 0;

beforeAll(async () => {
  server = await NatsServer.start({ storeDir: join(dir, 'jetstream') });
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh subject root, its stream's name, and `n` voltage-like messages with unique reading ids. */
function fixture(n: number) {
  const root = `dlv${++run}`;
  const messages: Outgoing[] = Array.from({ length: n }, (_, i) => ({
    subject: `${root}.raw.voltage.data.11.1.${(i % 50) + 1}`,
    payload: new Uint8Array(56).fill(i % 251),
    id: `v11.1.${(i % 50) + 1}.${1_700_000_000 + 60 * Math.floor(i / 50)}`,
  }));
  return { root, stream: root.toUpperCase(), messages };
}

const createStream = async (root: string) =>
  ensureRawStream(await nc.jetstreamManager(), { name: root.toUpperCase(), subjects: [`${root}.raw.>`] });

/** Every message of the stream: its Nats-Msg-Id and sequence. */
async function stored(stream: string): Promise<{ id: string; seq: number }[]> {
  const consumer = await nc.jetstream().consumers.get(stream);
  const out: { id: string; seq: number }[] = [];
  const total = (await (await nc.jetstreamManager()).streams.info(stream)).state.messages;
  if (total === 0) return out;
  const messages = await consumer.consume({ max_messages: 1000 });
  for await (const m of messages) {
    out.push({ id: m.headers?.get('Nats-Msg-Id') ?? '', seq: m.seq });
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

function delivery(settings: Partial<DeliverySettings>, ledgerDir?: string) {
  const registry = new Registry();
  const ledger = ledgerDir ? new Ledger(ledgerDir, 1) : undefined;
  const sink = new Delivery(
    nc,
    { bufferReadings: 100_000, name: `t${run}`, ...settings },
    { metrics: createDeliveryMetrics(registry), log: quietLog, ledger },
  );
  return { sink, registry, ledger };
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return Number(v?.value ?? NaN);
}

test('every message is stored once, and the ledger names each with its stream sequence', async () => {
  const { root, stream, messages } = fixture(5000);
  await createStream(root);
  const ledgerDir = mkdtempSync(join(dir, 'ledger-'));
  const { sink, ledger } = delivery({}, ledgerDir);
  for (const m of messages) sink.send(m);
  expect(await sink.drain(30_000)).toBe(0);
  ledger?.close();

  const inStream = await stored(stream);
  expect(inStream.map((m) => m.id)).toEqual(messages.map((m) => m.id)); // once each, in order
  const seqOf = new Map(inStream.map((m) => [m.id, m.seq]));
  const entries = readLedgers(ledgerDir);
  expect(entries).toHaveLength(messages.length);
  for (const e of entries) expect(seqOf.get(`v${e.key}.${e.epoch}`)).toBe(e.seq);
  expect(sink.stats).toMatchObject({ acknowledged: 5000, overflowed: 0, undelivered: 0 });
});

test('held while no stream takes the subjects, then delivered once; the resends are counted', async () => {
  const { root, stream, messages } = fixture(3000);
  const { sink, registry } = delivery({ ackTimeoutMs: 1000 });
  for (const m of messages.slice(0, 1500)) sink.send(m);
  await new Promise((r) => setTimeout(r, 1500));
  expect(sink.stats.acknowledged).toBe(0);
  expect(sink.buffered).toBe(1500);
  await createStream(root);
  for (const m of messages.slice(1500)) sink.send(m);
  expect(await sink.drain(30_000)).toBe(0);
  expect((await stored(stream)).map((m) => m.id).sort()).toEqual(messages.map((m) => m.id).sort());
  expect(
    await metric(registry, 'smartmeter_inject_resent_batches_total', { reason: 'no_stream' }),
  ).toBeGreaterThan(0);
  expect(await metric(registry, 'smartmeter_inject_acknowledged_total')).toBe(3000);
});

test('a resend of readings stored already is refused as duplicate and sent singly: nothing stored twice', async () => {
  const { root, stream, messages } = fixture(1000);
  await createStream(root);
  // Half of them stored before, as by a batch whose answer was lost.
  const js = nc.jetstream();
  for (const m of messages.filter((_, i) => i % 2 === 0)) {
    await js.publish(m.subject, m.payload, { msgID: m.id });
  }
  const ledgerDir = mkdtempSync(join(dir, 'ledger-'));
  const { sink, registry, ledger } = delivery({}, ledgerDir);
  for (const m of messages) sink.send(m);
  expect(await sink.drain(30_000)).toBe(0);
  ledger?.close();
  const ids = (await stored(stream)).map((m) => m.id);
  expect(ids).toHaveLength(1000);
  expect(new Set(ids).size).toBe(1000);
  expect(await metric(registry, 'smartmeter_inject_resent_batches_total', { reason: 'duplicate' })).toBe(1);
  // All acknowledged: the new ones with a sequence of their own, the others with the first one's.
  const entries = readLedgers(ledgerDir);
  expect(entries).toHaveLength(1000);
  expect(entries.every((e) => Number.isInteger(e.seq))).toBe(true);
});

test('a full buffer drops its oldest readings and counts them', async () => {
  const { root, stream, messages } = fixture(2500);
  const { sink, registry } = delivery({ bufferReadings: 1000, ackTimeoutMs: 500 });
  for (const m of messages) sink.send(m);
  await createStream(root);
  expect(await sink.drain(30_000)).toBe(0);
  expect(sink.stats.overflowed).toBe(1500);
  expect(await metric(registry, 'smartmeter_inject_buffer_overflow_total')).toBe(1500);
  expect((await stored(stream)).map((m) => m.id)).toEqual(messages.slice(1500).map((m) => m.id));
});

test('through a stop and a kill of the server, every acknowledged reading is stored once and none is lost', async () => {
  const { root, stream, messages } = fixture(20_000);
  await createStream(root);
  const ledgerDir = mkdtempSync(join(dir, 'ledger-'));
  const { sink, registry, ledger } = delivery({ ackTimeoutMs: 1000 }, ledgerDir);
  // 20,000 readings over about 4 s; the server is killed after 1 s and restarted after 2 s, stopped cleanly
  // at 3 s and started again at 3.5 s.
  const faults = (async () => {
    await new Promise((r) => setTimeout(r, 1000));
    await server.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    await server.restart();
    await new Promise((r) => setTimeout(r, 1000));
    await server.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await server.restart();
  })();
  for (let i = 0; i < messages.length; i += 50) {
    for (const m of messages.slice(i, i + 50)) sink.send(m);
    await new Promise((r) => setTimeout(r, 10));
  }
  await faults;
  expect(await sink.drain(60_000)).toBe(0);
  ledger?.close();

  const ids = (await stored(stream)).map((m) => m.id);
  expect(new Set(ids).size).toBe(ids.length); // none twice
  expect(ids.sort()).toEqual(messages.map((m) => m.id).sort()); // none lost
  const acknowledged = readLedgers(ledgerDir).map((e) => `v${e.key}.${e.epoch}`);
  expect(acknowledged.sort()).toEqual(messages.map((m) => m.id).sort());
  // Batches in flight at the kill were sent again (their answers timed out, or the connection dropped them).
  const resent = await Promise.all(
    ['timeout', 'disconnected'].map((reason) =>
      metric(registry, 'smartmeter_inject_resent_batches_total', { reason }),
    ),
  );
  expect(resent[0] + resent[1]).toBeGreaterThan(0);
});

test('headers: each stored reading carries its id; the batch headers say which batch stored it', async () => {
  const { root, stream, messages } = fixture(3);
  await createStream(root);
  const { sink } = delivery({});
  for (const m of messages) sink.send(m);
  await sink.drain(10_000);
  const jsm = await nc.jetstreamManager();
  const first = await jsm.streams.getMessage(stream, { seq: 1 });
  expect(first.header.get('Nats-Msg-Id')).toBe(messages[0].id);
  expect(first.header.get('Nats-Batch-Sequence')).toBe('1');
});
