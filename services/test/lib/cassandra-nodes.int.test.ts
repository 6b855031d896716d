// smartmeter_cassandra_nodes{state} against the real Cassandra: what a role's client sees, read from its
// registry as a scrape would. The backing Cassandra is a single node: up 1, down 0. To see a node go down
// without stopping the shared node, one client reaches it through a loopback TCP relay of our own and the
// relay is cut: the driver really loses every connection to that node, marks it down, and marks it up
// again once it reconnects. The ingest role, run as a process, exports the gauge on /metrics.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as netConnect, createServer, Server, Socket } from 'node:net';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';
import { Registry } from 'prom-client';

import { connectCassandra, createCassandraMetrics } from '../../src/lib/cassandra';
import {
  backingEnv,
  cassandraSettingsFor,
  freePort,
  freshKeyspace,
  natsConnect,
  quietLog,
  requireService,
  roleProcessEnv,
  shutdownAfterRestart,
  uniqueName,
} from '../support/backing';
import { metricValue, STREAM_MAX_BYTES, pollUntil } from '../ingest/support';

jest.setTimeout(120_000);

const env = backingEnv();
const [cassandraHost, cassandraPort] = env.cassandraContactPoints[0].split(':');
const MAIN = join(__dirname, '../../dist/main.js');

const nodes = async (registry: Registry) => ({
  up: await metricValue(registry, 'smartmeter_cassandra_nodes', { state: 'up' }),
  down: await metricValue(registry, 'smartmeter_cassandra_nodes', { state: 'down' }),
});

/** Forwards loopback connections to the Cassandra node until cut() closes it and every connection. */
class Relay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async open(): Promise<void> {
    const server = createServer((downstream) => {
      const upstream = netConnect(Number(cassandraPort), cassandraHost);
      for (const s of [downstream, upstream]) {
        this.sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => {
          this.sockets.delete(s);
          downstream.destroy();
          upstream.destroy();
        });
      }
      downstream.pipe(upstream).pipe(downstream);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const closed = new Promise((resolve) => this.server?.close(resolve));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  await requireService('nats', env.natsUrl);
});

test('before it connects a role reports no node; connected to the backing node: up 1, down 0', async () => {
  const registry = new Registry();
  createCassandraMetrics(registry);
  expect(await nodes(registry)).toEqual({ up: 0, down: 0 });

  const connected = new Registry();
  const client = await connectCassandra(cassandraSettingsFor(env, 'smartmeter'), quietLog, connected);
  try {
    expect(await nodes(connected)).toEqual({ up: 1, down: 0 });
  } finally {
    await client.shutdown();
  }
});

test('a node the client has lost every connection to is down, and up again once it reconnects', async () => {
  const relay = new Relay();
  await relay.open();
  const registry = new Registry();
  const settings = { ...cassandraSettingsFor(env, 'smartmeter'), contactPoints: [`127.0.0.1:${relay.port}`] };
  let client: Client | undefined;
  const hostsSeen: unknown[] = [];
  try {
    client = await connectCassandra(settings, quietLog, registry);
    hostsSeen.push(...client.hosts.values());
    expect(await nodes(registry)).toEqual({ up: 1, down: 0 });

    await relay.cut();
    const lost = await pollUntil(
      () => nodes(registry),
      (n) => n.down === 1,
      30_000,
      200,
    );
    expect(lost).toEqual({ up: 0, down: 1 });

    await relay.open(); // same port: the driver reconnects to the node it knows (500 ms … 10 s backoff)
    const back = await pollUntil(
      () => nodes(registry),
      (n) => n.up === 1,
      60_000,
      200,
    );
    expect(back).toEqual({ up: 1, down: 0 });
    hostsSeen.push(...client.hosts.values());
  } finally {
    await shutdownAfterRestart(client, hostsSeen);
    await relay.cut();
  }
});

test('the ingest role exports it on /metrics', async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build --workspace services\``);
  const keyspace = uniqueName('cassandra_nodes_');
  const root = uniqueName('cassandranodes');
  const admin = await freshKeyspace(env, keyspace);
  const port = await freePort();
  let child: ChildProcess | undefined;
  try {
    child = spawn(process.execPath, [MAIN, 'ingest'], {
      env: {
        ...roleProcessEnv(env, keyspace),
        INGEST_STREAM: root.toUpperCase(),
        INGEST_SUBJECT_ROOT: root,
        RAW_STREAM_MAX_BYTES: String(STREAM_MAX_BYTES),
        METRICS_PORT: String(port),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const scrape = () =>
      fetch(`http://127.0.0.1:${port}/metrics`)
        .then((r) => r.text())
        .catch(() => '');
    // Before it has connected the gauge says up 0: wait for the connected view.
    const up = /^smartmeter_cassandra_nodes\{state="up",role="ingest"\} 1$/m;
    const text = await pollUntil(scrape, (t) => up.test(t), 60_000);
    expect(text).toMatch(up);
    expect(text).toMatch(/^smartmeter_cassandra_nodes\{state="down",role="ingest"\} 0$/m);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await admin.shutdown();
    const nc = await natsConnect(env, 'cassandra-nodes-test');
    await (await nc.jetstreamManager()).streams.delete(root.toUpperCase()).catch(() => undefined);
    await nc.close();
  }
});
