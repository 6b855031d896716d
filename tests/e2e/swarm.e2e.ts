// The aws platform on a real multi-node swarm on this machine (tests/e2e/swarm-nodes.ts): this engine is
// the manager, three Docker-in-Docker workers carry the engine labels real nodes get, so the stack's
// placement constraints are honoured, not left out. The Pulumi program (stack `aws`, Pulumi.aws.yaml) runs
// under mocks; its AWS resources are only mocked, and its docker.Network, Secrets, ServiceConfigs and
// Services are created on the swarm. Checks: replicas run where their constraints say; secrets are files
// and in no environment; Prometheus serves TLS only; data flows injectors → NATS ×3 → ingest replicas →
// Cassandra ×3 (RF 3) → stream; then one member at a time is lost under load (cassandra-1, nats-2, a whole
// worker) and every accepted reading is stored (at least once, a row each, once in the stream, no stray
// row); then train → predict; then day two.
import * as https from 'node:https';
import * as tlsSocket from 'node:tls';
import type Docker from 'dockerode';
import type { Client } from 'cassandra-driver';
import { connect, NatsConnection } from 'nats';

import { awsMocks, stackFileConfig, TEST_SSH_KEY, tlsOutputs } from '../pulumi/aws-mocks';
import { Deployment, T } from './engine';
import { startForwarder } from './forwarder';
import { plainAfterInfo } from '../support/nats-probe';
import { describe as describePlan } from './plan';
import {
  drained,
  firstMessage,
  maxVoltageSettled,
  prediction,
  reconcile,
  stackCassandra,
  throughput,
  ACCEPTED_TOLERANCE,
  alertProblems,
  bandProblems,
  configuredVoltageRate,
  rateProblem,
  ROWS_TOLERANCE,
} from './pipeline-checks';
import { awsProviders, Declared, ProgramRun, runProgram } from './program';
import { engine, eventually, localImages, report, sleep } from './support';
import { SWARM_NODE_IMAGE, LocalSwarm, SwarmNode, WORKER_LEDGER_DIR } from './swarm-nodes';
import { NATS_CLUSTER } from '../../dashboards/nats';
import { CASSANDRA_NODES } from '../../dashboards/services';
import { SUBJECTS } from '../../services/src/wire/subjects';
import { shutdownAfterRestart } from '../../services/test/support/backing';
import { readLedgers } from '../../services/src/simulator/ledger';
import { cassandraCommitLogSync, natsSync } from '../../services/harness/durability';

const CONFIG = {
  ...stackFileConfig('Pulumi.aws.yaml'),
  allowedCidr: '203.0.113.7/32',
  sshPublicKey: TEST_SSH_KEY,
  // One machine, two shared cores: the configured topology (3 NATS, 3 Cassandra members) with smaller heaps.
  cassandraHeap: '512M',
  injectors: '2',
  injectRate: '50',
  // Below the simulator's daily peaks (~119-121 V), so alerts happen within minutes.
  alertThreshold: '118',
  // Published through the routing mesh on every interface: away from the ports used on this machine.
  prometheusPort: '19091',
  grafanaPort: '13001',
  injectLedgerDir: WORKER_LEDGER_DIR,
};
const WORKERS = Number((CONFIG as Record<string, string>).workers); // Pulumi.aws.yaml: 3
/** What the broker acknowledged to every injector task, on every worker (swarm-nodes.ts). */
const ledger = () => cluster.ledgerDirs().flatMap((dir) => readLedgers(dir));
const INJECTORS = Number(CONFIG.injectors);
// The suite's way in (tests/e2e/forwarder.ts): away from the ports the other suite and the backing use.
const PORTS = { nats: 24222, natsMonitoring: 28222, natsRoute: 26222, cassandra: 29042, prometheus: 29090 };

const aws = awsMocks([]);
let host: Docker;
let cluster: LocalSwarm;
let run: ProgramRun;
let stack: Deployment;
let forwarder: Docker.Container | undefined;
let nc: NatsConnection;
let cql: Client;
let cqlHosts: unknown[] = [];
let upFailures: string[] = [];

const labelOf = (r: Declared, label: string) =>
  (r.inputs.labels as { label: string; value: string }[] | undefined)?.find((l) => l.label === label)?.value;
const services = () => run.resources.filter((r) => r.type === T.service);
const imageOf = (r: Declared) =>
  String((r.inputs.taskSpec as { containerSpec: { image: string } }).containerSpec.image);

/**
 * Whether this kernel can run Swarm's encrypted overlay (IPsec ESP with AES-GCM, as the overlay driver
 * programs it). Asked in a throwaway container of the node image; the answer is the kernel's.
 */
async function ipsecError(): Promise<string | undefined> {
  const probe = await host.createContainer({
    Image: SWARM_NODE_IMAGE,
    Entrypoint: ['ip'],
    Cmd: `xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x100 mode transport aead rfc4106(gcm(aes)) 0x${'ab'.repeat(20)} 64`.split(
      ' ',
    ),
    HostConfig: { CapAdd: ['NET_ADMIN'] },
    Tty: true, // plain logs, not multiplexed
  });
  await probe.start();
  const { StatusCode } = (await probe.wait()) as { StatusCode: number };
  const logs = (await probe.logs({ stdout: true, stderr: true }))
    .toString('utf8')
    .replace(/[^\x20-\x7e]/g, '');
  await probe.remove({ force: true });
  return StatusCode === 0 ? undefined : logs.trim() || `exit ${StatusCode}`;
}

beforeAll(async () => {
  host = await engine();
  const t0 = Date.now();
  cluster = await LocalSwarm.up(host, WORKERS, report);
  run = await declareAws(CONFIG);
  report(
    `program (stack aws) declared ${run.resources.length} resources, ${services().length} swarm services`,
  );
  // What the nodes would pull from Docker Hub; the services image follows once built (`push`).
  await cluster.push([
    ...new Set(
      services()
        .map(imageOf)
        .filter((i) => i.startsWith('smartmeter-local/')),
    ),
  ]);
  const noIpsec = await ipsecError();
  if (noIpsec) report(`overlay encryption left out: this kernel cannot add an ESP state (${noIpsec})`);
  stack = new Deployment(host, run.resources, {
    exclude: (r) => r.type === T.service && labelOf(r, 'smartmeter.service') === 'grafana',
    push: (image) => cluster.push([image]),
    nodes: () => cluster.workers.map((w) => w.engine),
    unsupportedNetworkOptions: noIpsec ? ['encrypted'] : [],
    log: (line) => report(line),
  });
  upFailures = await stack.up();
  for (const f of upFailures) report(`FAILED ${f.split('\n')[0]}`);
  report(`swarm services up in ${((Date.now() - t0) / 1000).toFixed(0)}s (nodes, image loads and services)`);
  forwarder = await startForwarder(host, {
    name: 'smartmeter-e2e-forwarder',
    image: localImages().nodeBaseImage,
    network: 'smartmeter',
    routes: [
      { port: PORTS.nats, target: 'nats-0:4222' },
      // Monitoring listens on the private network only: this route, on the stack's network, must fail.
      { port: PORTS.natsMonitoring, target: 'nats-0:8222' },
      { port: PORTS.natsRoute, target: 'nats-0:6222' },
      { port: PORTS.cassandra, target: 'cassandra-0:9042' },
      { port: PORTS.prometheus, target: 'prometheus-0:9090' },
    ],
  });
  nc = await connect({
    servers: `127.0.0.1:${PORTS.nats}`,
    user: String(run.outputs.natsUser),
    pass: String(run.outputs.natsPassword),
    // TLS only, the stack's CA (the certificate names 127.0.0.1, the forwarder's address here).
    tls: { ca: String(run.outputs.caCertificate) },
    // The servers' own addresses are inside the overlay: only the forwarder is reachable from here.
    ignoreClusterUpdates: true,
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  // The other members' addresses are inside the overlay: cassandra-0, through the forwarder, coordinates.
  cql = stackCassandra(`127.0.0.1:${PORTS.cassandra}`, run.outputs, { onlyContact: true });
}, 40 * 60_000);

/** The stack's state between program runs (generated passwords and secret names are kept). */
const memory: NonNullable<Parameters<typeof runProgram>[2]>['memory'] = new Map();
/** The outputs of the AWS and tls resources, kept between program runs like the state keeps them. */
const kept = new Map<string, Record<string, unknown>>();

/** One run of the program for the aws stack with the given config. */
function declareAws(config: Record<string, string>): Promise<ProgramRun> {
  return runProgram('aws', { ...config, ...localImages() }, awsProviders(aws, kept, memory));
}

afterAll(async () => {
  await nc?.close().catch(() => undefined);
  if (cql) await shutdownAfterRestart(cql, cqlHosts);
  await forwarder?.remove({ force: true }).catch(() => undefined);
  const failures = (await stack?.down()) ?? [];
  if (stack)
    report(
      `swarm teardown: removed ${stack.created.length - failures.length}/${stack.created.length} objects`,
    );
  if (cluster) {
    await cluster.down();
    report('swarm left, worker nodes and their volumes removed');
  }
  expect(failures).toEqual([]);
}, 10 * 60_000);

/** Every service's expected running tasks: `replicas` for services, undefined for jobs (they complete). */
function expectedReplicas(r: Declared): number | undefined {
  const job =
    (r.inputs.taskSpec as { restartPolicy?: { condition?: string } }).restartPolicy?.condition ===
    'on-failure';
  if (job) return undefined;
  return Number(
    ((r.inputs.mode as Record<string, unknown>).replicated as Record<string, unknown> | undefined)
      ?.replicas ?? 1,
  );
}

const constraintsOf = (r: Declared) =>
  (r.inputs.taskSpec as { placement?: { constraints?: string[] } }).placement?.constraints ?? [];

/** Waits until every non-job service of the stack runs its replicas again. */
async function allRunning(seconds: number): Promise<void> {
  for (const r of services().filter((x) => !stack.excluded.includes(x))) {
    const replicas = expectedReplicas(r);
    if (replicas !== undefined) await stack.waitServiceRunning(String(r.inputs.name), replicas, seconds);
  }
}

test(
  'every service of the aws platform runs its replicas, each task on a worker, each member on its slot',
  async () => {
    expect(upFailures).toEqual([]);
    const summary: string[] = [];
    const placements: string[] = [];
    for (const r of services().filter((x) => !stack.excluded.includes(x))) {
      const name = String(r.inputs.name);
      const replicas = expectedReplicas(r);
      if (replicas === undefined) {
        // A job's task runs to completion.
        await eventually(`${name} completed`, 600, async () => {
          const tasks = (await host.listTasks({ filters: { service: [name] } })) as {
            Status: { State: string };
          }[];
          return tasks.some((t) => t.Status.State === 'complete') ? true : undefined;
        });
        summary.push(`${name}: complete`);
        continue;
      }
      await stack.waitServiceRunning(name, replicas, 600);
      summary.push(`${name}: ${replicas}/${replicas}`);
      const constraints = constraintsOf(r);
      expect(constraints).toContain('node.role == worker');
      const slot = constraints
        .find((c) => c.startsWith('engine.labels.smartmeter.slot'))
        ?.split('==')[1]
        ?.trim();
      const tasks = await cluster.tasksOf(name);
      expect(tasks).toHaveLength(replicas);
      for (const t of tasks) {
        // Only workers run tasks (the manager is not one of cluster.workers: tasksOf would have thrown).
        if (slot !== undefined) expect({ service: name, slot: t.slot }).toEqual({ service: name, slot });
      }
      placements.push(`${name} → ${tasks.map((t) => t.node.name.replace(/^.*-worker-/, 'w')).join(',')}`);
    }
    report(`swarm replicas: ${summary.join(', ')}`);
    report(
      `swarm placement (service → worker slots; pinned members checked against their constraint): ${placements.join('; ')}`,
    );
    const pinned = services().filter((r) => constraintsOf(r).some((c) => c.includes('smartmeter.slot')));
    expect(pinned.map((r) => String(r.inputs.name))).toEqual(
      expect.arrayContaining(['nats-0', 'nats-1', 'nats-2', 'cassandra-0', 'cassandra-1', 'cassandra-2']),
    );
  },
  20 * 60_000,
);

test('the stores sync before they acknowledge: read back from nats-0 and cassandra-0', async () => {
  // nats-0's monitoring answers only on its private network: read /varz from inside the member.
  const varz = await execIn('nats-0', [
    'sh',
    '-c',
    'wget -q -O - "http://$(cat /tmp/nats-monitor-address):8222/varz"',
  ]);
  expect(varz.code).toBe(0);
  const nats = await natsSync('data:', () => JSON.parse(varz.output.slice(varz.output.indexOf('{'))));
  const cassandra = await cassandraCommitLogSync(cql);
  report(
    `swarm durability: JetStream sync_always ${nats.always}; Cassandra commitlog_sync ${cassandra.mode}`,
  );
  expect({ nats: nats.always, cassandra }).toEqual({
    nats: true,
    cassandra: { mode: 'batch', period: '0ms' },
  });
  // What the program sets over the image's cassandra.yaml (the stand-in ships 5.0's defaults, as the
  // official image does): no 4.x compatibility (TTLs past 2038), and auto_snapshot left as shipped.
  const settings = await cql.execute(
    "SELECT name, value FROM system_views.settings WHERE name IN ('storage_compatibility_mode', 'auto_snapshot')",
  );
  expect(Object.fromEntries(settings.rows.map((r) => [r.name as string, r.value as string]))).toEqual({
    storage_compatibility_mode: 'NONE',
    auto_snapshot: 'true',
  });
});

test('Cassandra speaks mutual TLS only: a plaintext client and a client without a certificate are refused; nodes talk TLS to each other', async () => {
  // What the suite reads with (cql) shows the stack's client certificate; a client that does not is refused.
  const refusal = async (tls: 'plaintext' | 'no-certificate') => {
    const client = stackCassandra(`127.0.0.1:${PORTS.cassandra}`, run.outputs, {
      onlyContact: true,
      tls,
      readTimeoutMs: 10_000,
    });
    try {
      await client.connect();
      return 'connected';
    } catch (err) {
      const inner = Object.values((err as { innerErrors?: Record<string, Error> }).innerErrors ?? {});
      return inner.map((e) => e.message).join('; ') || (err as Error).message;
    } finally {
      await client.shutdown().catch(() => undefined);
    }
  };
  const plaintext = await refusal('plaintext');
  const noCertificate = await refusal('no-certificate');
  report(`swarm Cassandra TLS: plaintext client: ${plaintext.split('\n')[0]}`);
  report(`swarm Cassandra TLS: client without a certificate: ${noCertificate.split('\n')[0]}`);
  expect(plaintext).toMatch(/did not reply before timeout|ECONNRESET|socket hang up|closed/i);
  expect(noCertificate).toMatch(/certificate required|alert|ECONNRESET|socket hang up/i);
  const rs = await cql.execute(
    "SELECT name, value FROM system_views.settings WHERE name IN ('client_encryption_options.enabled', " +
      "'client_encryption_options.optional', 'client_encryption_options.require_client_auth', " +
      "'server_encryption_options.internode_encryption', 'server_encryption_options.optional', " +
      "'server_encryption_options.require_client_auth')",
  );
  expect(Object.fromEntries(rs.rows.map((r) => [r.name, String(r.value)]))).toEqual({
    'client_encryption_options.enabled': 'true',
    'client_encryption_options.optional': 'false',
    'client_encryption_options.require_client_auth': 'true',
    'server_encryption_options.internode_encryption': 'all',
    'server_encryption_options.optional': 'false',
    'server_encryption_options.require_client_auth': 'true',
  });
  // Internode TLS works for real: cassandra-0 sees its two peers over it.
  const peers = await cql.execute('SELECT peer FROM system.peers_v2');
  expect(peers.rows).toHaveLength(2);
}, 60_000); // a plaintext client waits out the driver's 10 s connect timeout

/** Runs `cmd` in a container; resolves with its exit code and output. */
async function exec(container: Docker.Container, cmd: string[]): Promise<{ code: number; output: string }> {
  const execution = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await execution.start({ hijack: true, stdin: false });
  let output = '';
  stream.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await new Promise((res) => stream.on('end', res));
  const { ExitCode } = await execution.inspect();
  return { code: ExitCode ?? -1, output };
}

/** Runs `cmd` in the first task container of `service`, on whichever worker it runs. */
async function execIn(service: string, cmd: string[]): Promise<{ code: number; output: string }> {
  const [task] = await cluster.tasksOf(service);
  if (!task) throw new Error(`no running task of ${service}`);
  return exec(task.container, cmd);
}

test(
  'secrets are mounted as files and absent from every container environment',
  async () => {
    const secrets = run.resources.filter((r) => r.type === T.secret && !stack.excluded.includes(r));
    expect(secrets.length).toBeGreaterThan(0);
    const values = secrets.map((s) => Buffer.from(String(s.inputs.data), 'base64').toString('utf8'));
    let files = 0;
    let containers = 0;
    for (const r of services().filter(
      (x) => !stack.excluded.includes(x) && expectedReplicas(x) !== undefined,
    )) {
      const service = String(r.inputs.name);
      const mounted = (
        (r.inputs.taskSpec as { containerSpec: { secrets?: { fileName: string }[] } }).containerSpec
          .secrets ?? []
      ).map((s) => s.fileName);
      for (const task of await cluster.tasksOf(service)) {
        containers++;
        const env = ((await task.container.inspect()).Config.Env ?? []).join('\n');
        for (const v of values) expect(env.includes(v)).toBe(false);
        for (const file of mounted) {
          const { code } = await exec(task.container, ['test', '-s', file]);
          expect({ service, file, present: code === 0 }).toEqual({ service, file, present: true });
          files++;
        }
      }
    }
    report(
      `swarm secrets: ${secrets.length} secrets, ${files} secret files checked in ${containers} task containers, none in an environment`,
    );
  },
  10 * 60_000,
);

/**
 * GET over HTTPS, trusting only `ca` and checking the certificate for `name` (one of its names);
 * resolves with the status and body.
 */
/** The stack's Prometheus login (`prometheusUser`, `prometheusPassword`), as `user:password`. */
const prometheusLogin = () =>
  `${String(run.outputs.prometheusUser)}:${String(run.outputs.prometheusPassword)}`;

function httpsGet(
  port: number,
  path: string,
  ca: string,
  name = 'localhost',
  /** Basic auth `user:password`; null: none. */
  auth: string | null = prometheusLogin(),
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path, ca, servername: name, timeout: 10_000 };
    const req = https.get(auth === null ? options : { ...options, auth }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET https://127.0.0.1:${port}${path}: timed out`)));
    req.on('error', reject);
  });
}

/** An instant PromQL query against the stack's Prometheus (HTTPS, the stack's CA), through the forwarder. */
async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await httpsGet(
    PORTS.prometheus,
    `/api/v1/query?query=${encodeURIComponent(expr)}`,
    String(run.outputs.caCertificate),
  );
  const body = JSON.parse(res.body) as { status: string; data: { result: never[] }; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus ${expr}: ${body.error ?? res.status}`);
  return body.data.result;
}

test(
  "Prometheus serves TLS only, with a certificate from the stack's CA, and scrapes itself over HTTPS",
  async () => {
    const ca = String(run.outputs.caCertificate);
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(String(run.outputs.prometheusUrl)).toMatch(new RegExp(`^https://[^/]+:${CONFIG.prometheusPort}$`));
    // The task's own port (the one the routing mesh forwards to, which does not answer on this machine),
    // through the forwarder; the user's own view, with the exported CA:
    const ready = await eventually('prometheus-0 ready over https', 120, async () => {
      const r = await httpsGet(PORTS.prometheus, '/-/ready', ca);
      return r.status === 200 ? r : undefined;
    });
    expect(ready.status).toBe(200);
    // Without the login (or with a wrong one), nothing: Prometheus asks for basic auth.
    const anonymous = await httpsGet(PORTS.prometheus, '/-/ready', ca, 'localhost', null);
    expect(anonymous.status).toBe(401);
    const wrong = await httpsGet(
      PORTS.prometheus,
      '/api/v1/query?query=up',
      ca,
      'localhost',
      'smartmeter:wrong',
    );
    expect(wrong.status).toBe(401);
    // Trusting another CA fails: the request above did verify the certificate.
    const { privateKeyPem } = tlsOutputs('tls:index/privateKey:PrivateKey', {
      algorithm: 'ECDSA',
      ecdsaCurve: 'P256',
    });
    const { certPem: otherCa } = tlsOutputs('tls:index/selfSignedCert:SelfSignedCert', {
      privateKeyPem,
      isCaCertificate: true,
      subject: { commonName: 'another CA' },
      validityPeriodHours: 24,
    });
    await expect(httpsGet(PORTS.prometheus, '/-/ready', String(otherCa))).rejects.toThrow(/certificate/i);
    // Plain HTTP gets no page: the server speaks TLS only (Go answers such a request with a 400).
    const plain = await fetch(`http://127.0.0.1:${PORTS.prometheus}/-/ready`).then((r) => r.status);
    expect(plain).toBe(400);
    // Inside the swarm, by a swarm name with the CA and the login, as Grafana's data source calls it:
    // promtool, in the official image as in the stand-in, with an HTTP client configuration (on its stdin)
    // that trusts the stack's CA. The image's wget is BusyBox's, which cannot be given a CA nor verify a
    // certificate.
    const readyInside = (httpConfig: string) =>
      execIn('prometheus-0', [
        'sh',
        '-c',
        `printf '${httpConfig}' | promtool check ready --http.config.file=/dev/stdin --url=https://prometheus-0:9090`,
      ]);
    const login =
      'basic_auth:\\n  username: smartmeter\\n  password_file: /run/secrets/prometheus_password\\n';
    const inside = await readyInside(`${login}tls_config:\\n  ca_file: /etc/prometheus/ca.pem\\n`);
    expect(inside).toMatchObject({ code: 0 });
    // Without the CA (the system's roots) the same check fails: the one above did verify.
    const untrusted = await readyInside(login);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.output).toMatch(/certificate/i);
    const up = await eventually('up{job="prometheus"} == 1', 120, async () => {
      const result = await query('up{job="prometheus"}');
      return result[0]?.value[1] === '1' ? result : undefined;
    });
    expect(up).toHaveLength(1);
    report(
      `swarm TLS: Prometheus answers https on its task port with the stack's CA and its login (${ready.status}; ` +
        `no login ${anonymous.status}, a wrong one ${wrong.status}; another CA refused, plain HTTP ${plain}), ` +
        'in-swarm https with the CA and login ok, self-scrape over HTTPS with the login up',
    );
  },
  5 * 60_000,
);

/** A TLS handshake first (the CA, the member's name) with or without a client certificate. */
async function tlsRoute(
  port: number,
  client?: { cert: string; key: string },
): Promise<{ secured: boolean; error?: string }> {
  return new Promise((resolve) => {
    const secure = tlsSocket.connect({
      host: '127.0.0.1',
      port,
      ca: String(run.outputs.caCertificate),
      servername: 'nats-0',
      ...(client ?? {}),
    });
    let secured = false;
    secure.once('secureConnect', () => {
      secured = true;
      // TLS 1.3: the server judges the client's certificate after the client's handshake ends; a refusal
      // arrives as an alert. Say something the route answers only once logged in, and wait.
      secure.write('PING\r\n');
    });
    secure.once('error', (e) => {
      secure.destroy();
      resolve({ secured, error: e.message });
    });
    secure.once('data', () => {
      secure.destroy();
      resolve({ secured });
    });
    setTimeout(() => {
      secure.destroy();
      resolve({ secured });
    }, 8000);
  });
}

test(
  'NATS: clients must speak TLS; routes want mutual TLS; monitoring is off the stack network',
  async () => {
    // The suite's own client (beforeAll) is connected over TLS with the stack's CA.
    expect(nc.info?.tls_required).toBe(true);
    // A client that does not start TLS: the server announces TLS and drops what comes in plain.
    const login = `CONNECT {"user":${JSON.stringify(String(run.outputs.natsUser))},"pass":${JSON.stringify(String(run.outputs.natsPassword))},"verbose":false}\r\nPING\r\n`;
    const client = await plainAfterInfo(PORTS.nats, login, { info: true, waitMs: 8000 });
    expect({ tls_required: client.info?.tls_required, pong: client.reply.includes('PONG') }).toEqual({
      tls_required: true,
      pong: false,
    });
    expect(client.closed).toBe(true);
    // The route port: a TLS handshake first; plain text gets nothing back and the connection is closed.
    const route = await plainAfterInfo(
      PORTS.natsRoute,
      'CONNECT {"user":"route","pass":"guess","verbose":false}\r\nPING\r\n',
      { info: false, waitMs: 8000 },
    );
    expect({ reply: route.reply, closed: route.closed }).toEqual({ reply: '', closed: true });
    // TLS without a client certificate: refused; with the members' own certificate: the handshake holds.
    const anonymous = await tlsRoute(PORTS.natsRoute);
    expect(anonymous.error).toMatch(/certificate required|alert|socket hang up|ECONNRESET/i);
    const secretOf = (name: string) =>
      run.resources
        .filter((r) => (r.type === T.secret || r.type === T.config) && r.name === name)
        .map((r) => Buffer.from(String(r.inputs.data), 'base64').toString('utf8'))[0];
    const key = secretOf('nats-nats_tls_key');
    const cert = run.resources
      .filter((r) => r.type === T.config && r.name.startsWith('nats-file-'))
      .map((r) => Buffer.from(String(r.inputs.data), 'base64').toString('utf8'))
      .find(
        (pem) => pem.includes('BEGIN CERTIFICATE') && !pem.includes(String(run.outputs.caCertificate).trim()),
      );
    expect(key).toContain('PRIVATE KEY');
    const member = await tlsRoute(PORTS.natsRoute, { cert: String(cert), key });
    expect(member).toMatchObject({ secured: true });
    expect(member.error).toBeUndefined();
    // Monitoring: nats-0:8222 on the stack's network answers nothing (the forwarder cannot connect).
    const monitoring = await fetch(`http://127.0.0.1:${PORTS.natsMonitoring}/varz`, {
      signal: AbortSignal.timeout(10_000),
    }).then(
      (r) => `HTTP ${r.status}`,
      (e: Error) => `refused (${e.message})`,
    );
    expect(monitoring).toMatch(/^refused/);
    // … while the exporter, on the private network, reads every member.
    const scraped = await eventually('the exporter reads the 3 members', 180, async () => {
      const r = await query('count(gnatsd_varz_connections)');
      return r[0]?.value[1] === '3' ? r : undefined;
    });
    expect(scraped).toHaveLength(1);
    report(
      `swarm NATS TLS: plain client dropped (INFO tls_required ${client.info?.tls_required}, no PONG); route port: ` +
        `plain route dropped (${JSON.stringify(route.reply)}), TLS without a client certificate refused ` +
        `(${anonymous.error}), with the member certificate accepted; monitoring on the stack network ${monitoring}; ` +
        'exporter reads 3 members',
    );
  },
  5 * 60_000,
);

test(
  'data flows through the cluster: injectors → NATS ×3 → ingest replicas → Cassandra ×3 → stream',
  async () => {
    const t = await throughput(nc, cql);
    report(
      `swarm throughput: ${t.accepted.toFixed(1)} voltage readings/s accepted by JetStream (R3), ` +
        `${t.rows.toFixed(1)} new raw_data rows/s (RF 3) over ${t.seconds.toFixed(0)}s`,
    );
    const expected = configuredVoltageRate(INJECTORS, Number(CONFIG.injectRate));
    expect([
      rateProblem('accepted', t.accepted, expected, ACCEPTED_TOLERANCE),
      rateProblem('raw_data rows', t.rows, expected, ROWS_TOLERANCE),
    ]).toEqual([undefined, undefined]);
    const [max, alert] = await Promise.all([
      firstMessage(nc, SUBJECTS.maxVoltage),
      firstMessage(nc, SUBJECTS.alert),
    ]);
    expect(typeof max.voltage).toBe('number');
    expect(alertProblems(alert, Number(CONFIG.alertThreshold))).toEqual([]);
    report(`swarm stream: max voltage ${JSON.stringify(max)}; alert ${JSON.stringify(alert)}`);
  },
  10 * 60_000,
);

/** Stops the injectors (scaled to 0: they retire their meters) and waits until ingest acknowledged all. */
async function quiesce(): Promise<number> {
  await cluster.scale('inject', 0);
  await eventually('injectors stopped', 120, async () =>
    (await cluster.tasksOf('inject')).length ? undefined : true,
  );
  return drained(nc, 600);
}

async function resume(): Promise<void> {
  await cluster.scale('inject', INJECTORS);
  await stack.waitServiceRunning('inject', INJECTORS, 300);
}

/** What an operator sees on the dashboards while a member is down: a panel's PromQL and what it shows. */
interface Sign {
  readonly panel: string;
  readonly expr: string;
  readonly shows: (value: number) => boolean;
}

// The dashboards' own expressions.
const CASSANDRA_UP: Sign = {
  panel: 'Fewest Cassandra nodes up (ingest) < 3',
  expr: `min(${CASSANDRA_NODES.up.replace('{', '{role="ingest",')})`,
  shows: (v) => v < 3,
};
const NATS_HEALTHY: Sign = {
  panel: 'Servers healthy < 3',
  expr: `sum(${NATS_CLUSTER.serverHealth})`,
  shows: (v) => v < 3,
};
const NATS_ROUTES: Sign = {
  panel: 'Fewest route peers < 2',
  expr: `min(${NATS_CLUSTER.routePeers})`,
  shows: (v) => v < 2,
};

interface Fault {
  readonly name: string;
  readonly downSeconds: number;
  readonly stop: () => Promise<void>;
  readonly restore: () => Promise<void>;
  /** What the dashboards show while it is down. */
  readonly signs: readonly Sign[];
}

/**
 * Polls the signs from the stop until each has shown (or `seconds` are up): sign → seconds after the stop
 * it first showed, undefined if it never did.
 */
async function watchSigns(
  signs: readonly Sign[],
  t0: number,
  seconds: number,
): Promise<Map<Sign, number | undefined>> {
  const seen = new Map<Sign, number | undefined>(signs.map((x) => [x, undefined]));
  while (Date.now() < t0 + seconds * 1000 && [...seen.values()].some((v) => v === undefined)) {
    for (const sign of signs.filter((x) => seen.get(x) === undefined)) {
      const value = await query(sign.expr)
        .then((r) => (r.length ? Number(r[0].value[1]) : undefined))
        .catch(() => undefined);
      if (value !== undefined && sign.shows(value)) seen.set(sign, (Date.now() - t0) / 1000);
    }
    await sleep(5000);
  }
  return seen;
}

const member = (service: string, downSeconds: number, signs: readonly Sign[]): Fault => ({
  name: service,
  downSeconds,
  signs,
  stop: () => cluster.scale(service, 0),
  restore: async () => {
    await cluster.scale(service, 1);
    await stack.waitServiceRunning(service, 1, 600);
  },
});

/** The node that holds neither Prometheus nor Grafana (slot 0): losing it loses only clustered members. */
const lostNode = (): SwarmNode => cluster.workers[WORKERS - 1];

const node = (downSeconds: number): Fault => ({
  name: `worker node ${WORKERS - 1} (its engine)`,
  downSeconds,
  signs: [CASSANDRA_UP, NATS_HEALTHY, NATS_ROUTES],
  stop: () => cluster.kill(lostNode()),
  restore: () => cluster.start(lostNode()),
});

test(
  'losing one member at a time under load: cassandra-1, nats-2, then a whole worker; every acknowledged reading stored at least once, in the stream once, no stray row',
  async () => {
    const rows: string[] = [];
    const outcomes: unknown[] = [];
    const faults = [
      member('cassandra-1', 60, [CASSANDRA_UP]),
      member('nats-2', 30, [NATS_HEALTHY, NATS_ROUTES]),
      // Longer: the exporter may be one of the tasks lost with the node, and is rescheduled first.
      node(90),
    ];
    for (const fault of faults) {
      const before = ledger().length;
      await sleep(15_000);
      const t0 = Date.now();
      await fault.stop();
      const signs = await watchSigns(fault.signs, t0, fault.downSeconds);
      await sleep(Math.max(0, t0 + fault.downSeconds * 1000 - Date.now()));
      // Ingest's own count of stored readings over the outage (Prometheus; increase() bridges the counter
      // resets of ingest tasks moved off a lost node).
      const window = Math.round((Date.now() - t0) / 1000);
      const stored = await query(
        `sum(increase(smartmeter_ingest_messages_total{outcome="stored"}[${window}s]))`,
      );
      const storedRate = Number(stored[0]?.value[1] ?? 0) / window;
      await fault.restore();
      await allRunning(600);
      const back = (Date.now() - t0) / 1000;
      if (fault.name.startsWith('cassandra')) cqlHosts = cql.hosts?.values() ?? [];
      await sleep(15_000);
      const drainSeconds = await quiesce();
      const r = await eventually('reconciliation', 300, () => reconcile(nc, cql, ledger()), 5000);
      const agg = await maxVoltageSettled(cql);
      const line =
        `${fault.name} | ${fault.downSeconds}s down, all running again after ${back.toFixed(0)}s | ` +
        `${r.acknowledged - before} acknowledged in the phase, ${r.acknowledged} in all | ${r.rows} rows | ` +
        `${r.lost} lost | ${r.lostInStream} gone from the stream | ${r.storedTwice} twice | ${r.extra} of no reading | ` +
        `max voltage of ${agg.epochs} epochs: ${agg.mismatched.length} differ from the raw rows | ` +
        `ingest stored ${storedRate.toFixed(1)} readings/s while down | lag drained ${drainSeconds.toFixed(0)}s after the injectors stopped | ` +
        [...signs]
          .map(([x, at]) => `${x.panel}: ${at === undefined ? 'not shown' : `after ${at.toFixed(0)}s`}`)
          .join(', ');
      report(`swarm fault: ${line}`);
      rows.push(line);
      const unseen = [...signs].filter(([, at]) => at === undefined).map(([x]) => x.panel);
      outcomes.push({
        fault: fault.name,
        lost: r.lost,
        lostInStream: r.lostInStream,
        twice: r.storedTwice,
        extra: r.extra,
        maxVoltageDiffers: agg.mismatched.slice(0, 5),
        storing: storedRate > 0,
        unseen,
      });
      // Checked after the loop, so that one fault's failure still lets the next faults (and the load the
      // train test needs) run.
      await resume();
    }
    report(
      'swarm faults: fault | down and back | acknowledged (phase, all) | rows | lost | gone from the stream | twice | ' +
        'rows of no reading | max voltage against raw | ' +
        `ingest while down | lag | dashboards\n${rows.map((l) => `  ${l}`).join('\n')}`,
    );
    expect(outcomes).toEqual(
      faults.map((f) => ({
        fault: f.name,
        lost: 0,
        lostInStream: 0,
        twice: 0,
        extra: 0,
        maxVoltageDiffers: [],
        storing: true,
        unseen: [],
      })),
    );
  },
  60 * 60_000,
);

// After the faults: train has had its retries meanwhile (it waits for enough rows, every 5 minutes).
test(
  'train writes a model from the cluster and predict answers a request',
  async () => {
    const model = await eventually(
      'a model row in smartmeter.models',
      600,
      async () =>
        (await cql.execute('SELECT name, version FROM smartmeter.models LIMIT 1')).first() ?? undefined,
      5000,
    );
    const answer = await prediction(nc);
    report(
      `swarm train: model ${model.get('name')} v${model.get('version')}; predict: ${JSON.stringify(answer)}`,
    );
    expect(bandProblems(answer)).toEqual([]);
  },
  15 * 60_000,
);

/** Scale the injectors up and back through a redeploy: only the inject service is updated, in place. */
async function scaleInjectors(to: number): Promise<string[]> {
  const next = await declareAws({ ...CONFIG, injectors: String(to) });
  const steps = describePlan(await stack.apply(next.resources));
  run = next;
  await stack.waitServiceRunning('inject', to, 600);
  return steps;
}

test(
  'day two on the swarm: scale the injectors 2→3→2, then a redeploy with no change plans nothing',
  async () => {
    const up = await scaleInjectors(INJECTORS + 1);
    const down = await scaleInjectors(INJECTORS);
    const unchanged = describePlan(stack.planTo((await declareAws(CONFIG)).resources));
    report(
      `swarm lifetime: scale up [${up.join('; ')}], down [${down.join('; ')}], unchanged [${unchanged.join('; ')}]`,
    );
    expect(up).toEqual(['~ inject (mode)']);
    expect(down).toEqual(['~ inject (mode)']);
    expect(unchanged).toEqual([]);
  },
  20 * 60_000,
);
