// The aws platform's Swarm services on a real single-node swarm: the Pulumi program (stack `aws`, with
// Pulumi.aws.yaml) runs under mocks; its AWS resources are only mocked, and its docker.Network, Secrets,
// ServiceConfigs and Services are created on this engine's swarm (`docker swarm init` on loopback, left
// again if this run made it). Checks: configured replicas run, secrets are files and in no environment,
// Prometheus serves TLS only (a certificate from the stack's CA, which the tls mocks made for real with
// openssl) and scrapes itself over HTTPS.
import * as https from 'node:https';
import type Docker from 'dockerode';

import { awsMocks, stackFileConfig, TEST_SSH_KEY, tlsOutputs } from '../pulumi/aws-mocks';
import { Deployment, T } from './engine';
import { describe as describePlan } from './plan';
import { Declared, ProgramRun, runProgram } from './program';
import { engine, eventually, localImages, report } from './support';

const CONFIG = {
  ...stackFileConfig('Pulumi.aws.yaml'),
  allowedCidr: '203.0.113.7/32',
  sshPublicKey: TEST_SSH_KEY,
  // One machine, two shared cores: the configured topology (3 NATS, 3 Cassandra members) with smaller heaps.
  cassandraHeap: '512M',
  injectors: '2',
  // Published through the routing mesh on every interface: away from the ports used on this machine.
  prometheusPort: '19091',
  grafanaPort: '13001',
};

const aws = awsMocks([]);
let docker: Docker;
let run: ProgramRun;
let stack: Deployment;
let madeSwarm = false;
let upFailures: string[] = [];

const labelOf = (r: Declared, label: string) =>
  (r.inputs.labels as { label: string; value: string }[] | undefined)?.find((l) => l.label === label)?.value;
const services = () => run.resources.filter((r) => r.type === T.service);

beforeAll(async () => {
  docker = await engine();
  const info = (await docker.info()) as { Swarm: { LocalNodeState: string } };
  if (info.Swarm.LocalNodeState !== 'active') {
    await docker.swarmInit({ ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' });
    madeSwarm = true;
    report('swarm initialised on 127.0.0.1 (single node)');
  }
  const t0 = Date.now();
  run = await declareAws(CONFIG);
  report(
    `program (stack aws) declared ${run.resources.length} resources, ${services().length} swarm services`,
  );
  stack = new Deployment(docker, run.resources, {
    exclude: (r) => r.type === T.service && labelOf(r, 'smartmeter.service') === 'grafana',
    singleNode: true,
    log: (line) => report(line),
  });
  upFailures = await stack.up();
  for (const f of upFailures) report(`FAILED ${f.split('\n')[0]}`);
  report(`swarm services up in ${((Date.now() - t0) / 1000).toFixed(0)}s`);
}, 40 * 60_000);

/** The stack's state between program runs (generated passwords and secret names are kept). */
const memory: NonNullable<Parameters<typeof runProgram>[2]>['memory'] = new Map();
/** The outputs of the AWS and tls resources, kept between program runs like the state keeps them. */
const kept = new Map<string, Record<string, unknown>>();

/** One run of the program for the aws stack with the given config. */
function declareAws(config: Record<string, string>): Promise<ProgramRun> {
  return runProgram(
    'aws',
    { ...config, ...localImages() },
    {
      memory,
      // Only the AWS side comes from the aws stack's mocks; docker and random resources are answered as
      // the real providers would (tests/e2e/program.ts).
      state: (type, name, inputs) => {
        if (type.startsWith('docker:') || type.startsWith('random:')) return {};
        // What the state keeps: a resource declared again with the same inputs keeps its outputs (the tls
        // mocks would otherwise issue new keys and certificates on every run, and replace what holds them).
        const key = `${type}::${name}::${JSON.stringify(inputs)}`;
        let state = kept.get(key);
        if (!state) {
          state = (
            aws.newResource({ type, name, inputs, custom: true }) as { state: Record<string, unknown> }
          ).state;
          kept.set(key, state);
        }
        return state;
      },
      call: (token, inputs) => aws.call({ token, inputs }) as Record<string, unknown>,
    },
  );
}

afterAll(async () => {
  if (stack) {
    const failures = await stack.down();
    report(
      `swarm teardown: removed ${stack.created.length - failures.length}/${stack.created.length} objects`,
    );
    expect(failures).toEqual([]);
  }
  if (madeSwarm) {
    await docker.swarmLeave({ force: true });
    // `swarm init` created the bridge that connects overlay tasks to the host; `leave` keeps it.
    await docker.getNetwork('docker_gwbridge').remove();
    report('swarm left');
  }
}, 10 * 60_000);

test(
  'every service of the aws platform is created, with the configured replicas running',
  async () => {
    expect(upFailures).toEqual([]);
    const expected = services().filter((r) => !stack.excluded.includes(r));
    const summary: string[] = [];
    for (const r of expected) {
      const name = String(r.inputs.name);
      const replicas = Number(
        ((r.inputs.mode as Record<string, unknown>).replicated as Record<string, unknown> | undefined)
          ?.replicas ?? 1,
      );
      const job =
        (r.inputs.taskSpec as { restartPolicy?: { condition?: string } }).restartPolicy?.condition ===
        'on-failure';
      if (job) {
        // A job's task runs to completion.
        const done = await awaitTasks(name, (states) => states.includes('complete'));
        summary.push(`${name}: ${done.filter((s) => s === 'complete').length} complete`);
      } else {
        await stack.waitServiceRunning(name, replicas, 600);
        summary.push(`${name}: ${replicas}/${replicas}`);
      }
    }
    report(`swarm replicas: ${summary.join(', ')}`);
    const injectors = services().find((r) => r.inputs.name === 'inject');
    expect((injectors?.inputs.mode as { replicated: { replicas: number } }).replicated.replicas).toBe(
      Number(CONFIG.injectors),
    );
    // What a single node cannot honour, and was left out: workers only, one slot per stateful member.
    for (const [service, constraints] of stack.droppedConstraints) {
      expect(constraints).toContain('node.role == worker');
      if (/-\d+$/.test(service))
        expect(constraints.some((c) => c.startsWith('engine.labels.smartmeter.slot'))).toBe(true);
    }
    report(`placement constraints left out on one node: ${stack.droppedConstraints.size} services`);
  },
  20 * 60_000,
);

async function awaitTasks(service: string, done: (states: string[]) => boolean): Promise<string[]> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const tasks = (await docker.listTasks({ filters: { service: [service] } })) as {
      Status: { State: string };
    }[];
    const states = tasks.map((t) => t.Status.State);
    if (done(states)) return states;
    if (Date.now() > deadline) throw new Error(`service ${service}: tasks ${states.join(', ')}`);
    await new Promise((res) => setTimeout(res, 2000));
  }
}

test(
  'secrets are mounted as files and absent from every container environment',
  async () => {
    const secrets = run.resources.filter((r) => r.type === T.secret && !stack.excluded.includes(r));
    expect(secrets.length).toBeGreaterThan(0);
    const values = secrets.map((s) => Buffer.from(String(s.inputs.data), 'base64').toString('utf8'));
    const containers = await docker.listContainers({ filters: { label: ['com.docker.swarm.service.name'] } });
    expect(containers.length).toBeGreaterThan(0);
    let files = 0;
    for (const c of containers) {
      const info = await docker.getContainer(c.Id).inspect();
      const env = (info.Config.Env ?? []).join('\n');
      for (const v of values) expect(env.includes(v)).toBe(false);
      const service = c.Labels['com.docker.swarm.service.name'];
      const spec = run.resources.find((r) => r.type === T.service && r.inputs.name === service);
      const mounted = (
        (spec?.inputs.taskSpec as { containerSpec: { secrets?: { fileName: string; secretId: string }[] } })
          .containerSpec.secrets ?? []
      ).map((s) => s.fileName);
      for (const file of mounted) {
        const exec = await docker.getContainer(c.Id).exec({ Cmd: ['test', '-s', file], AttachStdout: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        await new Promise((res) => {
          stream.on('end', res);
          stream.resume();
        });
        const { ExitCode } = await exec.inspect();
        expect({ service, file, present: ExitCode === 0 }).toEqual({ service, file, present: true });
        files++;
      }
    }
    report(
      `swarm secrets: ${secrets.length} secrets, ${files} secret files checked in ${containers.length} task containers, none in an environment`,
    );
  },
  10 * 60_000,
);

/**
 * GET over HTTPS, trusting only `ca` and checking the certificate for `name` (one of its names);
 * resolves with the status and body.
 */
function httpsGet(
  host: string,
  port: number,
  path: string,
  ca: string,
  name = 'localhost',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host, port, path, ca, servername: name, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET https://${host}:${port}${path}: timed out`)));
    req.on('error', reject);
  });
}

/** The first task container of `service`. */
async function taskContainer(service: string): Promise<string> {
  const [c] = await docker.listContainers({
    filters: { label: [`com.docker.swarm.service.name=${service}`] },
  });
  if (!c) throw new Error(`no running container of ${service}`);
  return c.Id;
}

/** Runs `cmd` in the first task container of `service`; resolves with its exit code and output. */
async function execIn(service: string, cmd: string[]): Promise<{ code: number; output: string }> {
  const exec = await docker
    .getContainer(await taskContainer(service))
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  let output = '';
  stream.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await new Promise((res) => stream.on('end', res));
  const { ExitCode } = await exec.inspect();
  return { code: ExitCode ?? -1, output };
}

test(
  "Prometheus serves TLS only, with a certificate from the stack's CA, and scrapes itself over HTTPS",
  async () => {
    const ca = String(run.outputs.caCertificate);
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(String(run.outputs.prometheusUrl)).toMatch(new RegExp(`^https://[^/]+:${CONFIG.prometheusPort}$`));
    // The routing mesh does not forward published ports on this machine (its virtual IPs do not answer),
    // so the suite reaches the task's port, the one the mesh forwards to, through the bridge Swarm
    // gives every task to the host (docker_gwbridge). The user's own view, with the exported CA:
    const id = await taskContainer('prometheus-0');
    const gw = (await docker.getNetwork('docker_gwbridge').inspect()) as {
      Containers: Record<string, { IPv4Address: string }>;
    };
    const host = gw.Containers[id].IPv4Address.split('/')[0];
    const ready = await httpsGet(host, 9090, '/-/ready', ca);
    expect(ready.status).toBe(200);
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
    await expect(httpsGet(host, 9090, '/-/ready', String(otherCa))).rejects.toThrow(/certificate/i);
    // Plain HTTP gets no page: the server speaks TLS only (Go answers such a request with a 400).
    const plain = await fetch(`http://${host}:9090/-/ready`).then((r) => r.status);
    expect(plain).toBe(400);
    // Inside the swarm, by a swarm name with the CA, as Grafana's data source calls it (`prometheus`, the
    // service's virtual IP, does not answer on this machine; `prometheus-0` resolves to the task).
    const inside = await execIn('prometheus-0', [
      'wget',
      '-q',
      '-O',
      '-',
      '--ca-certificate=/etc/prometheus/ca.pem',
      'https://prometheus-0:9090/-/ready',
    ]);
    expect(inside).toMatchObject({ code: 0 });
    // The self-scrape job reaches https://127.0.0.1:9090 and trusts the CA: its target is up.
    const up = await eventually('up{job="prometheus"} == 1', 120, async () => {
      const res = await httpsGet(host, 9090, '/api/v1/query?query=up%7Bjob%3D%22prometheus%22%7D', ca);
      const result = (JSON.parse(res.body) as { data: { result: { value: [number, string] }[] } }).data
        .result;
      return result[0]?.value[1] === '1' ? result : undefined;
    });
    expect(up).toHaveLength(1);
    report(
      `swarm TLS: Prometheus answers https on its task port with the stack's CA (another CA refused, plain HTTP ${plain}), ` +
        'in-swarm https with the CA ok, self-scrape over HTTPS up',
    );
  },
  5 * 60_000,
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
    const up = await scaleInjectors(Number(CONFIG.injectors) + 1);
    const down = await scaleInjectors(Number(CONFIG.injectors));
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
