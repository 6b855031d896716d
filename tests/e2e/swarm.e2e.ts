// The aws platform's Swarm services on a real single-node swarm: the Pulumi program (stack `aws`, with
// Pulumi.aws.yaml) runs under mocks; its AWS resources are only mocked, and its docker.Network, Secrets,
// ServiceConfigs and Services are created on this engine's swarm (`docker swarm init` on loopback, left
// again if this run made it). Checks: configured replicas run, secrets are files and in no environment.
import type Docker from 'dockerode';

import { awsMocks, stackFileConfig, TEST_SSH_KEY } from '../pulumi/aws-mocks';
import { Deployment, T } from './engine';
import { describe as describePlan } from './plan';
import { Declared, ProgramRun, runProgram } from './program';
import { engine, localImages, report } from './support';

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

/** One run of the program for the aws stack with the given config. */
function declareAws(config: Record<string, string>): Promise<ProgramRun> {
  return runProgram(
    'aws',
    { ...config, ...localImages() },
    {
      memory,
      // Only the AWS side comes from the aws stack's mocks; docker and random resources are answered as
      // the real providers would (tests/e2e/program.ts).
      state: (type, name, inputs) =>
        type.startsWith('docker:') || type.startsWith('random:')
          ? {}
          : (aws.newResource({ type, name, inputs, custom: true }) as { state: Record<string, unknown> })
              .state,
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
