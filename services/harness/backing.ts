// Where the backing services of scripts/backing-services.sh are, how to reach them, and a clear failure
// when they are not running (integration tests never skip silently). Used by the tests and the bench
// alike, and shipped in neither the image nor the tests: the bench is a program, not a test.
import { existsSync, readFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, NatsConnection } from 'nats';
import { CassandraSettings } from '../src/lib/cassandra';
import { Delivery } from '../src/simulator/delivery';

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

const START_HINT = 'start them with `npm run services:up` (scripts/backing-services.sh up)';

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
