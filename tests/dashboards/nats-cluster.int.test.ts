// A NATS cluster member going down shows on the NATS dashboard: three real nats-server processes
// (scripts/nats-server.sh) clustered with routes on loopback, JetStream on each, an R3 stream with a
// consumer; the real prometheus-nats-exporter pointed at the three monitoring ports, scraped by the real
// Prometheus (scripts/backing-services.sh, file-discovered target); the dashboard panels' own PromQL
// evaluated there. One member is killed: the survivors' route peers drop to 1, the stream's replicas
// answering to 2, its health to unreachable; restarted, all comes back.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, connect, StringCodec } from 'nats';

import { natsCluster } from '../../components/tiers/nats-auth';
import { pollUntil } from '../../services/test/ingest/support';
import { backingEnv, freePort, requireService } from '../../services/test/support/backing';
import { type Exporter, missingFromExposition, parseExposition, startExporter } from './nats-exporter';
import { panelQueries } from './panels';

jest.setTimeout(180_000);

const env = backingEnv();
const run = `natscluster${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), 'smartmeter-nats-cluster-'));
const targetFile = join(env.prometheusTargetsDir, `${run}.json`);
const STREAM = run.toUpperCase();
const USER = 'smartmeter';
const PASSWORD = `pw${Math.random().toString(36).slice(2)}`;
const ROUTE_PASSWORD = `route${Math.random().toString(36).slice(2)}`;
const MEMBERS = 3;

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly httpPort: number;
  readonly clusterPort: number;
  readonly config: string;
  /** The exporter's server_id label for it. */
  readonly monitorUrl: string;
  process?: ChildProcess;
  log: string;
}

let members: Member[] = [];
let exporter: Exporter | undefined;

const natsServer = () =>
  execFileSync('bash', [join(__dirname, '../../scripts/nats-server.sh')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .pop() as string;

function start(m: Member, binary: string): void {
  const child = spawn(binary, ['-c', m.config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => (m.log = (m.log + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  m.process = child;
}

async function stop(m: Member, signal: NodeJS.Signals): Promise<void> {
  const child = m.process;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

const healthy = (m: Member) =>
  fetch(`${m.monitorUrl}/healthz`)
    .then(async (r) => r.ok && ((await r.json()) as { status?: string }).status === 'ok')
    .catch(() => false);

/** The PromQL of a panel of the NATS dashboard (one query), as deployed. */
function panelExpr(title: string): string {
  const queries = panelQueries().filter((q) => q.dashboard === 'smartmeter-nats' && q.panel === title);
  if (queries.length !== 1)
    throw new Error(`expected one query in the NATS panel "${title}", found ${queries.length}`);
  return queries[0].expr;
}

type Sample = { metric: Record<string, string>; value: [number, string] };

async function query(promql: string): Promise<Sample[]> {
  const res = await fetch(`${env.prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`${body.error} in ${promql}`);
  return body.data.result;
}

/** What the three cluster panels show for our servers and our stream, by member name. */
async function dashboardView() {
  const ours = (s: Sample) => members.find((m) => m.monitorUrl === s.metric.server_id)?.name;
  const [routes, replicas, health] = await Promise.all([
    query(panelExpr('Route peers per server')),
    query(panelExpr('Stream replicas answering')),
    query(panelExpr('Server health')),
  ]);
  const byMember = (samples: Sample[], text: (s: Sample) => string) =>
    Object.fromEntries(
      samples
        .filter(ours)
        .map((s) => [ours(s), text(s)])
        .sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
  return {
    routePeers: byMember(routes, (s) => s.value[1]),
    streamReplicas: replicas.find((s) => s.metric.stream_name === STREAM)?.value[1],
    health: byMember(health, (s) => `${s.metric.value} ${s.value[1]}`),
  };
}

const allUp = {
  routePeers: { m0: '2', m1: '2', m2: '2' },
  streamReplicas: '3',
  health: { m0: 'ok 1', m1: 'ok 1', m2: 'ok 1' },
};

beforeAll(async () => {
  await requireService('prometheus', env.prometheusUrl);
  const binary = natsServer();
  const ports = await Promise.all(Array.from({ length: MEMBERS * 3 }, freePort));
  members = Array.from({ length: MEMBERS }, (_, i) => {
    const [clientPort, httpPort, clusterPort] = ports.slice(i * 3, i * 3 + 3);
    return {
      name: `m${i}`,
      clientPort,
      httpPort,
      clusterPort,
      config: join(dir, `m${i}.conf`),
      monitorUrl: `http://127.0.0.1:${httpPort}`,
      log: '',
    };
  });
  // As the messaging tier configures a cluster (components/tiers/messaging.ts natsConf: routes with the
  // route password, nats-auth.ts natsCluster), on loopback ports.
  for (const m of members) {
    writeFileSync(
      m.config,
      `server_name: ${m.name}
listen: 127.0.0.1:${m.clientPort}
http: 127.0.0.1:${m.httpPort}
jetstream { store_dir: "${join(dir, m.name)}" }
authorization { users: [ { user: "${USER}", password: "${PASSWORD}" } ] }
${natsCluster(
  `127.0.0.1:${m.clusterPort}`,
  members.map((o) => `127.0.0.1:${o.clusterPort}`),
  ROUTE_PASSWORD,
)}`,
    );
    start(m, binary);
  }
  // /healthz is ok once the member has JetStream and the cluster a meta leader.
  const ready = await pollUntil(
    () => Promise.all(members.map(healthy)),
    (h) => h.every(Boolean),
    60_000,
  );
  if (!ready.every(Boolean)) {
    throw new Error(
      `the cluster did not become healthy: ${members.map((m) => `${m.name}: ${m.log}`).join('\n')}`,
    );
  }

  const nc = await connect({
    servers: members.map((m) => `nats://127.0.0.1:${m.clientPort}`),
    user: USER,
    pass: PASSWORD,
  });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: STREAM, subjects: [`${run}.>`], num_replicas: 3 });
  await jsm.consumers.add(STREAM, { durable_name: 'ingest', ack_policy: AckPolicy.Explicit });
  const js = nc.jetstream();
  for (let i = 0; i < 20; i++) await js.publish(`${run}.reading`, StringCodec().encode(`r${i}`));
  await nc.close();

  exporter = await startExporter(members.map((m) => m.monitorUrl));
  writeFileSync(
    targetFile,
    JSON.stringify([{ targets: [new URL(exporter.url).host], labels: { role: 'nats-cluster-test' } }]),
  );
});

afterAll(async () => {
  rmSync(targetFile, { force: true });
  await exporter?.stop();
  for (const m of members) await stop(m, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('all three up: the exporter has every metric the dashboards use, each server 2 route peers, 3 replicas', async () => {
  const text = await pollUntil(
    () => exporter!.scrape().catch(() => ''),
    (t) => t.includes(`stream_name="${STREAM}"`) && t.includes('consumer_name="ingest"'),
    30_000,
  );
  expect(missingFromExposition(parseExposition(text))).toEqual([]);
  // The raw figure behind "route peers": a pool of 3 routes to each peer plus the system account's own.
  const routes = [...text.matchAll(/^gnatsd_routez_num_routes\{server_id="([^"]+)"\} (\d+)$/gm)];
  expect(routes.map((r) => r[2])).toEqual(['8', '8', '8']);

  expect(await pollUntil(dashboardView, (v) => JSON.stringify(v) === JSON.stringify(allUp), 60_000)).toEqual(
    allUp,
  );
});

test('a member killed shows: survivors 1 route peer, 2 replicas answering, the member unreachable; back when restarted', async () => {
  const [, , victim] = members;
  await stop(victim, 'SIGKILL');
  const down = {
    // The killed server's last /routez values are still exported: the panel leaves it out.
    routePeers: { m0: '1', m1: '1' },
    streamReplicas: '2',
    health: { m0: 'ok 1', m1: 'ok 1', m2: 'unreachable 0' },
  };
  expect(await pollUntil(dashboardView, (v) => JSON.stringify(v) === JSON.stringify(down), 60_000)).toEqual(
    down,
  );

  start(victim, natsServer());
  expect(await pollUntil(dashboardView, (v) => JSON.stringify(v) === JSON.stringify(allUp), 90_000)).toEqual(
    allUp,
  );
});
