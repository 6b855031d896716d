// Where the backing services of scripts/backing-services.sh are, and a clear failure when they are not
// running: integration tests never skip silently.
import { existsSync, readFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';
import { connect, JsMsg, NatsConnection } from 'nats';
import { CassandraSettings, createCassandraClient } from '../../src/lib/cassandra';
import { createLogger } from '../../src/lib/log';
import { migrate } from '../../src/storage/migrate';
import { Delivery } from '../../src/simulator/delivery';

export interface BackingEnv {
  stateDir: string;
  natsUrl: string;
  natsMonitorUrl: string;
  natsUser: string;
  natsPassword: string;
  cassandraContactPoints: string[];
  cassandraLocalDc: string;
  cassandraUsername: string;
  cassandraPassword: string;
  prometheusUrl: string;
  prometheusTargetsDir: string;
}

export const START_HINT = 'start them with `npm run services:up` (scripts/backing-services.sh up)';

/** Reads $SMARTMETER_STATE/backing.env, written by the first `up`; environment variables override it. */
export function backingEnv(): BackingEnv {
  const stateDir = process.env.SMARTMETER_STATE ?? join(process.env.TMPDIR ?? tmpdir(), 'smartmeter-backing');
  const file = join(stateDir, 'backing.env');
  if (!existsSync(file)) {
    throw new Error(`the backing services are not running: ${file} does not exist; ${START_HINT}`);
  }
  const vars: Record<string, string | undefined> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]] = m[2];
  }
  Object.assign(vars, process.env);
  const get = (key: string): string => {
    const value = vars[key];
    if (!value)
      throw new Error(`${key} is missing from ${file}; recreate it with \`npm run services:down\` then up`);
    return value;
  };
  return {
    stateDir,
    natsUrl: get('NATS_URL'),
    natsMonitorUrl: get('NATS_MONITOR_URL'),
    natsUser: get('NATS_USER'),
    natsPassword: get('NATS_PASSWORD'),
    cassandraContactPoints: get('CASSANDRA_CONTACT_POINTS').split(','),
    cassandraLocalDc: get('CASSANDRA_LOCAL_DC'),
    cassandraUsername: get('CASSANDRA_USERNAME'),
    cassandraPassword: get('CASSANDRA_PASSWORD'),
    prometheusUrl: get('PROMETHEUS_URL'),
    prometheusTargetsDir: get('PROMETHEUS_TARGETS_DIR'),
  };
}

function tcpReachable(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Fails with the service's name, its address and how to start it, if it does not accept connections. */
export async function requireService(name: 'nats' | 'cassandra' | 'prometheus', url: string): Promise<void> {
  const { hostname, port } = new URL(url.includes('://') ? url : `tcp://${url}`);
  if (!(await tcpReachable(hostname, Number(port)))) {
    throw new Error(`${name} is not reachable at ${hostname}:${port}; ${START_HINT}`);
  }
}

// Shared by the integration tests and benchmarks: everyone uses the same NATS and Cassandra, so each test
// works in its own keyspace and subjects, named uniquely.

export const quietLog = createLogger({ role: 'test' }, 'warn');

/** `<prefix><time><random>`: lower-case letters, digits and the prefix's own characters. */
export function uniqueName(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

// One Cassandra node, so every node is a replica: routed as the local stack routes (components/tiers/storage.ts).
const TOKEN_AWARE = false;

export function cassandraSettingsFor(env: BackingEnv, keyspace: string): CassandraSettings {
  return {
    contactPoints: env.cassandraContactPoints,
    localDataCenter: env.cassandraLocalDc,
    username: env.cassandraUsername,
    password: env.cassandraPassword,
    keyspace,
    tokenAware: TOKEN_AWARE,
  };
}

/** A connected client on a keyspace just created with the real migrate. */
export async function freshKeyspace(env: BackingEnv, keyspace: string): Promise<Client> {
  const settings = cassandraSettingsFor(env, keyspace);
  const client = createCassandraClient(settings);
  await client.connect();
  await migrate(client, settings, { replicationFactor: 1 }, quietLog);
  return client;
}

/**
 * `client.shutdown()` for a client that lived through a Cassandra restart. cassandra-driver 4.10 replaces its
 * Host objects when the node comes back and shutdown() stops only the current ones: the earlier hosts keep a
 * health-check interval and reconnection timers that keep the process (jest) running forever. Pass what
 * `client.hosts.values()` returned before the restart; Host#shutdown is internal, hence the cast.
 */
export async function shutdownAfterRestart(
  client: Client | undefined,
  hostsBefore: unknown[],
): Promise<void> {
  await client?.shutdown().catch(() => undefined);
  for (const host of hostsBefore as { shutdown?: (waitForPending: boolean) => Promise<void> }[])
    await host.shutdown?.(false).catch(() => undefined);
}

export function natsConnect(env: BackingEnv, name: string): Promise<NatsConnection> {
  return connect({ servers: env.natsUrl, user: env.natsUser, pass: env.natsPassword, name });
}

/** The environment a role process (`node services/dist/main.js <role>`) needs to reach the backing services. */
export function roleProcessEnv(env: BackingEnv, keyspace?: string): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    NATS_URL: env.natsUrl,
    NATS_USER: env.natsUser,
    NATS_PASSWORD: env.natsPassword,
    ...(keyspace && {
      CASSANDRA_CONTACT_POINTS: env.cassandraContactPoints.join(','),
      CASSANDRA_LOCAL_DC: env.cassandraLocalDc,
      CASSANDRA_USERNAME: env.cassandraUsername,
      CASSANDRA_PASSWORD: env.cassandraPassword,
      CASSANDRA_KEYSPACE: keyspace,
      CASSANDRA_TOKEN_AWARE: String(TOKEN_AWARE),
    }),
  };
}

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago (for a test's own server or relay). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The injectors' acknowledged delivery (into the stream that captures the subjects), for tests that inject. */
export function testDelivery(nc: NatsConnection): Delivery {
  return new Delivery(nc, { bufferReadings: 10_000_000, name: 'test' });
}

/** Every message a stream holds, in order (an ordered consumer from its first message). */
export async function streamContents(nc: NatsConnection, stream: string): Promise<JsMsg[]> {
  const total = (await (await nc.jetstreamManager()).streams.info(stream)).state.messages;
  const out: JsMsg[] = [];
  if (total === 0) return out;
  const messages = await (await nc.jetstream().consumers.get(stream)).consume({ max_messages: 1000 });
  for await (const m of messages) {
    out.push(m);
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}
