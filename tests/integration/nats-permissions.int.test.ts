// Least privilege on NATS (issue 24), against a real nats-server whose users and permissions are the
// `authorization` block the Pulumi program renders (components/tiers/nats-auth.ts natsAuthorization).
// Every role connects as the services connect (services/src/lib/nats.ts natsConnectionOptions: its own
// inbox prefix), does what it needs, through the services' own code where there is one, and is refused
// a sample of what it must not do, with the server's permissions violation.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connect, NatsConnection, NatsError } from 'nats';
import { Registry } from 'prom-client';

import {
  NATS_ADMIN_USER,
  NATS_ROLES,
  natsAuthorization,
  natsCluster,
  NatsPasswords,
  NatsRole,
} from '../../components/tiers/nats-auth';
import { ensureIngestConsumer } from '../../services/src/ingest/consumer';
import { ensureRawStream, RAW_STREAM } from '../../services/src/lib/jetstream';
import { connectNats, natsConnectionOptions } from '../../services/src/lib/nats';
import { Delivery } from '../../services/src/simulator/delivery';
import { CheckpointStore } from '../../services/src/streaming/checkpoint';
import { inputSubjects } from '../../services/src/streaming/job';
import { Lease } from '../../services/src/streaming/lease';
import { positionTime } from '../../services/src/streaming/resume';
import { OUTAGE_STREAM, stateBuckets } from '../../services/src/streaming/settings';
import { freePort, quietLog } from '../../services/test/support/backing';
import { NatsServer } from '../../services/test/support/nats-server';

const ROOT = 'smartmeter';
const INGEST_CONSUMER = 'ingest';
const BUCKETS = stateBuckets({ statePrefix: 'smartmeter-stream' } as Parameters<typeof stateBuckets>[0]);
const VOLTAGE = `${ROOT}.raw.voltage.data.11.1.1`;
const PASSWORDS = Object.fromEntries(
  ['admin', ...NATS_ROLES].map((u) => [u, `pw${u}${Math.random().toString(36).slice(2)}`]),
) as unknown as NatsPasswords;

let dir: string;
let server: NatsServer;
/** Every connection made, and the permission errors the server sent each of them. */
const opened: NatsConnection[] = [];
const refusals = new Map<NatsConnection, { operation: string; subject: string }[]>();

async function as(user: NatsRole | 'admin'): Promise<NatsConnection> {
  const nc = await connect(
    natsConnectionOptions({
      servers: [server.url],
      user: user === 'admin' ? NATS_ADMIN_USER : user,
      pass: PASSWORDS[user],
      name: `permissions-${user}`,
    }),
  );
  const seen: { operation: string; subject: string }[] = [];
  refusals.set(nc, seen);
  void (async () => {
    for await (const s of nc.status()) {
      const ctx = (s as { permissionContext?: { operation: string; subject: string } }).permissionContext;
      if (ctx) seen.push(ctx);
    }
  })();
  opened.push(nc);
  return nc;
}

/** After a round trip to the server, every -ERR it sent before has been dispatched. */
async function settled(nc: NatsConnection): Promise<void> {
  await nc.flush();
  await new Promise((r) => setImmediate(r));
}

function refusedWith(nc: NatsConnection, operation: 'publish' | 'subscription', subject: string) {
  return refusals.get(nc)!.some((r) => r.operation === operation && r.subject === subject);
}

/** A core publish: received by the admin's subscription when allowed, a violation when not. */
async function publishes(nc: NatsConnection, subject: string): Promise<boolean> {
  const admin = await as('admin');
  const sub = admin.subscribe(subject, { max: 1 });
  await admin.flush();
  nc.publish(subject, new Uint8Array(56));
  await settled(nc);
  if (refusedWith(nc, 'publish', subject)) return (sub.unsubscribe(), false);
  for await (const m of sub) return m.subject === subject;
  return false;
}

/** A subscription: gets what the admin publishes when allowed, a violation when not. */
async function subscribes(nc: NatsConnection, subject: string, queue?: string): Promise<boolean> {
  const sub = nc.subscribe(subject, { max: 1, queue });
  await settled(nc);
  if (refusedWith(nc, 'subscription', subject)) return false;
  const admin = await as('admin');
  admin.publish(subject.replace('>', 'x'), new Uint8Array(12));
  await admin.flush();
  for await (const m of sub) return m.data.length === 12;
  return false;
}

/** A request (JetStream API calls are requests): its answer when allowed, false when refused. */
async function answered<T>(call: () => Promise<T>): Promise<T | false> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof NatsError && err.code === 'PERMISSIONS_VIOLATION') return false;
    throw err;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nats-permissions-'));
  server = await NatsServer.start({
    storeDir: join(dir, 'jetstream'),
    extraConfig: natsAuthorization(PASSWORDS),
  });
}, 300_000);

afterAll(async () => {
  await Promise.all(opened.map((nc) => nc.close()));
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// In deployment order: ingest and stream create what they own, the injectors publish into it.
describe('ingest', () => {
  let nc: NatsConnection;
  beforeAll(async () => (nc = await as('ingest')));

  it('creates and converges the raw stream and its durable consumer', async () => {
    const jsm = await nc.jetstreamManager();
    await ensureRawStream(jsm);
    expect((await ensureRawStream(jsm, { maxAgeSeconds: 3600 })).config.max_age).toBe(3600 * 1e9);
    const settings = { stream: RAW_STREAM, consumer: INGEST_CONSUMER, ackWaitMs: 60_000, maxAckPending: 100 };
    await ensureIngestConsumer(jsm, settings);
    expect((await ensureIngestConsumer(jsm, settings)).config.durable_name).toBe(INGEST_CONSUMER);
  });

  it('cannot delete or purge the raw stream, nor delete its own consumer', async () => {
    const jsm = await nc.jetstreamManager();
    expect(await answered(() => jsm.streams.delete(RAW_STREAM))).toBe(false);
    expect(await answered(() => jsm.streams.purge(RAW_STREAM))).toBe(false);
    expect(await answered(() => jsm.consumers.delete(RAW_STREAM, INGEST_CONSUMER))).toBe(false);
    const admin = await (await as('admin')).jetstreamManager();
    expect((await admin.streams.info(RAW_STREAM)).config.name).toBe(RAW_STREAM);
    expect((await admin.consumers.info(RAW_STREAM, INGEST_CONSUMER)).name).toBe(INGEST_CONSUMER);
  });

  it('cannot create another consumer, publish readings or a model, or subscribe to raw readings', async () => {
    const jsm = await nc.jetstreamManager();
    expect(
      await answered(() =>
        jsm.consumers.add(RAW_STREAM, { durable_name: 'thief', ack_policy: 'none' as never }),
      ),
    ).toBe(false);
    expect(await publishes(nc, VOLTAGE)).toBe(false);
    expect(await publishes(nc, `${ROOT}.model.updated`)).toBe(false);
    expect(await subscribes(nc, `${ROOT}.raw.>`)).toBe(false);
    expect(await subscribes(nc, '_INBOX.>')).toBe(false);
  });
});

describe('stream', () => {
  let nc: NatsConnection;
  beforeAll(async () => (nc = await as('stream')));

  it('creates the raw and outage streams and its lease and checkpoint buckets, and uses them', async () => {
    const jsm = await nc.jetstreamManager();
    await ensureRawStream(jsm);
    await ensureRawStream(jsm, { name: OUTAGE_STREAM, subjects: [`${ROOT}.extract.outage.>`] });
    const lease = await Lease.open(nc.jetstream(), BUCKETS.lease, 10_000, 'test');
    expect(await lease.acquire()).toBe(true);
    expect(await lease.renew()).toBe(true);
    await lease.release();
    const checkpoints = await CheckpointStore.open(nc.jetstream(), BUCKETS.checkpoint);
    expect(await checkpoints.load()).toBeNull();
    const checkpoint = { seq: 1 } as unknown as Parameters<CheckpointStore['save']>[0];
    await checkpoints.save(checkpoint);
    expect(await checkpoints.load()).toEqual(checkpoint);
  });

  it('publishes extracts, outage events (acknowledged by their stream) and dead letters', async () => {
    expect(await publishes(nc, `${ROOT}.extract.voltage.max`)).toBe(true);
    expect(await publishes(nc, `${ROOT}.deadletter.size`)).toBe(true);
    const ack = await nc.jetstream().publish(`${ROOT}.extract.outage.meter.11.1.1`, '{}', { msgID: 'o1' });
    expect(ack.stream).toBe(OUTAGE_STREAM);
  });

  it("cannot delete the raw stream, nor touch ingest's consumer, nor publish readings", async () => {
    const jsm = await nc.jetstreamManager();
    expect(await answered(() => jsm.streams.delete(RAW_STREAM))).toBe(false);
    expect(await answered(() => jsm.streams.delete(OUTAGE_STREAM))).toBe(false);
    expect(await answered(() => jsm.consumers.delete(RAW_STREAM, INGEST_CONSUMER))).toBe(false);
    expect(await answered(() => jsm.consumers.info(RAW_STREAM, INGEST_CONSUMER))).toBe(false);
    expect(await publishes(nc, VOLTAGE)).toBe(false);
    expect(await publishes(nc, `${ROOT}.model.updated`)).toBe(false);
  });
});

describe('inject', () => {
  let nc: NatsConnection;
  beforeAll(async () => (nc = await as('inject')));

  it('delivers readings and a retire notice as acknowledged atomic batches', async () => {
    const delivery = new Delivery(nc, { bufferReadings: 100, name: '1' });
    const subjects = [
      VOLTAGE,
      `${ROOT}.raw.temperature.data`,
      `${ROOT}.raw.temperature.forecast.12`,
      `${ROOT}.raw.control.retire`,
    ];
    subjects.forEach((subject, i) => delivery.send({ subject, payload: new Uint8Array(56), id: `m${i}` }));
    expect(await delivery.drain(30_000)).toBe(0);
    expect(delivery.stats.acknowledged).toBe(subjects.length);
  });

  it('cannot subscribe to raw readings or to other inboxes, publish a model or an extract, or call the JetStream API', async () => {
    expect(await subscribes(nc, `${ROOT}.raw.voltage.data.>`)).toBe(false);
    expect(await subscribes(nc, '_INBOX.>')).toBe(false);
    expect(await publishes(nc, `${ROOT}.model.updated`)).toBe(false);
    expect(await publishes(nc, `${ROOT}.extract.voltage.max`)).toBe(false);
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    expect(await answered(() => jsm.streams.info(RAW_STREAM))).toBe(false);
    expect(await answered(() => jsm.streams.delete(RAW_STREAM))).toBe(false);
  });
});

describe('ingest and stream read what the injectors delivered', () => {
  it('ingest fetches from its durable consumer and acknowledges; it dead-letters', async () => {
    const nc = await as('ingest');
    const consumer = await nc.jetstream().consumers.get(RAW_STREAM, INGEST_CONSUMER);
    const m = await consumer.next({ expires: 10_000 });
    expect(m?.subject).toBe(VOLTAGE);
    expect(await m!.ackAck()).toBe(true);
    expect(await publishes(nc, `${ROOT}.deadletter.size`)).toBe(true);
  });

  it('the stream job reads through an ordered consumer of its own and reads single messages', async () => {
    const nc = await as('stream');
    const consumer = await nc.jetstream().consumers.get(RAW_STREAM, {
      filterSubjects: inputSubjects(ROOT),
      opt_start_seq: 1,
    });
    const m = await consumer.next({ expires: 10_000 });
    expect(m?.subject).toBe(VOLTAGE);
    await consumer.delete();
    expect(await positionTime(await nc.jetstreamManager(), RAW_STREAM, 1)).toBeDefined();
  });

  it("the stream job cannot fetch from ingest's consumer, nor change it through an unnamed create", async () => {
    const nc = await as('stream');
    const admin = await (await as('admin')).jetstreamManager();
    const before = (await admin.consumers.info(RAW_STREAM, INGEST_CONSUMER)).config;
    for (const config of [
      { durable_name: INGEST_CONSUMER, ack_policy: 'none', max_ack_pending: 1 },
      { name: INGEST_CONSUMER, ack_policy: 'none', max_ack_pending: 1 },
    ]) {
      const answer = await nc.request(
        `$JS.API.CONSUMER.CREATE.${RAW_STREAM}`,
        JSON.stringify({ stream_name: RAW_STREAM, config }),
      );
      expect(answer.json<{ error?: { description: string } }>().error?.description).toBeDefined();
    }
    expect((await admin.consumers.info(RAW_STREAM, INGEST_CONSUMER)).config).toEqual(before);

    const inbox = `_INBOX.stream.steal`;
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${RAW_STREAM}.${INGEST_CONSUMER}`, '{"batch":1}', { reply: inbox });
    await settled(nc);
    expect(refusedWith(nc, 'publish', `$JS.API.CONSUMER.MSG.NEXT.${RAW_STREAM}.${INGEST_CONSUMER}`)).toBe(
      true,
    );
  });
});

describe('train', () => {
  let nc: NatsConnection;
  beforeAll(async () => (nc = await as('train')));

  it('announces a model', async () => {
    expect(await publishes(nc, `${ROOT}.model.updated`)).toBe(true);
  });

  it('cannot publish readings or predictions, subscribe to anything, or delete a stream', async () => {
    expect(await publishes(nc, VOLTAGE)).toBe(false);
    expect(await publishes(nc, `${ROOT}.extract.voltage.prediction.12`)).toBe(false);
    expect(await subscribes(nc, `${ROOT}.raw.>`)).toBe(false);
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    expect(await answered(() => jsm.streams.delete(RAW_STREAM))).toBe(false);
  });
});

describe('predict', () => {
  let nc: NatsConnection;
  beforeAll(async () => (nc = await as('predict')));

  it('takes forecasts and model announcements, publishes predictions and dead letters', async () => {
    expect(await subscribes(nc, `${ROOT}.raw.temperature.forecast.12`, 'smartmeter_predict')).toBe(true);
    expect(await subscribes(nc, `${ROOT}.model.updated`)).toBe(true);
    expect(await publishes(nc, `${ROOT}.extract.voltage.prediction.12`)).toBe(true);
    expect(await publishes(nc, `${ROOT}.deadletter.value`)).toBe(true);
  });

  it('answers requests on smartmeter.predict', async () => {
    const sub = nc.subscribe(`${ROOT}.predict`, {
      queue: 'smartmeter_predict',
      callback: (_, m) => m.respond('{"ok":true}'),
    });
    await nc.flush();
    const reply = await (await as('admin')).request(`${ROOT}.predict`, '{}', { timeout: 10_000 });
    expect(reply.string()).toBe('{"ok":true}');
    sub.unsubscribe();
  });

  it('cannot publish a model or readings, subscribe to voltage readings, or delete a stream', async () => {
    expect(await publishes(nc, `${ROOT}.model.updated`)).toBe(false);
    expect(await publishes(nc, VOLTAGE)).toBe(false);
    expect(await subscribes(nc, `${ROOT}.raw.voltage.data.>`)).toBe(false);
    expect(await publishes(nc, `${ROOT}.raw.temperature.forecast.12`)).toBe(false);
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    expect(await answered(() => jsm.streams.delete(RAW_STREAM))).toBe(false);
  });
});

describe('a password rotation', () => {
  it('a role refused its password keeps trying, and connects once the server takes it', async () => {
    const store = join(dir, 'rotation');
    const config = (inject: string) => natsAuthorization({ ...PASSWORDS, inject });
    const rotating = await NatsServer.start({ storeDir: store, extraConfig: config(PASSWORDS.inject) });
    // The helper writes its config beside the store; a rotation is that file with another password.
    const file = join(store, '..', `nats-${rotating.port}.conf`);
    const restartWith = async (password: string) => {
      await rotating.stop();
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.slice(0, text.indexOf('authorization {')) + config(password));
      await rotating.restart();
    };
    const settings = { servers: [rotating.url], user: 'inject', pass: PASSWORDS.inject, name: 'rotation' };
    const nc = await connectNats(settings, quietLog, new Registry());
    try {
      const events = nc.status()[Symbol.asyncIterator]();
      const closed = nc.closed().then(() => {
        throw new Error('the connection gave up');
      });
      const next = (type: string, data?: string) => Promise.race([closed, seen(type, data)]);
      const seen = async (type: string, data?: string) => {
        for (;;) {
          const { value, done } = await events.next();
          if (done) throw new Error(`connection closed while waiting for ${type}`);
          if (value.type === type && (data === undefined || value.data === data)) return;
        }
      };
      // The server now wants another password: refused twice (where nats.js would give up by default)…
      await restartWith('rotatedAway');
      await next('error', 'AUTHORIZATION_VIOLATION');
      await next('error', 'AUTHORIZATION_VIOLATION');
      await next('error', 'AUTHORIZATION_VIOLATION');
      // …and back: the same connection comes back by itself.
      await restartWith(PASSWORDS.inject);
      await next('reconnect');
      expect(nc.isClosed()).toBe(false);
    } finally {
      await nc.close();
      await rotating.stop();
    }
  }, 120_000);
});

describe('routes between members', () => {
  /** What a route port answers a route CONNECT with: the server's first reply line after INFO. */
  async function routeAnswer(port: number, connect: Record<string, unknown>): Promise<string> {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    try {
      for await (const chunk of socket) {
        text += String(chunk);
        if (text.startsWith('INFO') && !text.includes('CONNECT_SENT')) {
          socket.write(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
          text += 'CONNECT_SENT\n';
        }
        const replies = text.split('CONNECT_SENT\n')[1] ?? '';
        const line = replies.split('\r\n').find((l) => /^(-ERR|PONG|PING|INFO)/.test(l));
        if (line) return line;
      }
      return text.split('CONNECT_SENT\n')[1] ?? 'closed';
    } finally {
      socket.destroy();
    }
  }

  it('members route to each other with the route password; a route without it is refused', async () => {
    const routePassword = 'routePw' + Math.random().toString(36).slice(2);
    const ports = [await freePort(), await freePort()];
    const members = ports.map((p) => `127.0.0.1:${p}`);
    const servers: NatsServer[] = [];
    try {
      for (const [i, port] of ports.entries()) {
        servers.push(
          await NatsServer.start({
            storeDir: join(dir, `member-${i}`),
            extraConfig: natsCluster(`127.0.0.1:${port}`, members, routePassword),
          }),
        );
      }
      // The rendered routes log in: each member sees the other.
      for (const s of servers) {
        for (;;) {
          const routez = await (await fetch(`http://127.0.0.1:${s.monitorPort}/routez`)).json();
          if ((routez as { num_routes: number }).num_routes >= 1) break;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const hello = { verbose: false, pedantic: false, name: 'intruder', cluster: 'smartmeter' };
      expect(await routeAnswer(ports[0], hello)).toMatch(/^-ERR 'Authorization Violation'/);
      expect(await routeAnswer(ports[0], { ...hello, user: 'route', pass: 'wrong' })).toMatch(
        /^-ERR 'Authorization Violation'/,
      );
    } finally {
      for (const s of servers) await s.stop();
    }
  }, 120_000);
});
