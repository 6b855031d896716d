// The local stack, end to end on a real Docker engine: the Pulumi program (stack `local`) runs under mocks,
// the docker resources it declares are created on the engine (tests/e2e/engine.ts), then the stack is fed,
// looked at, broken and torn down. Needs: scripts/docker-engine.sh up && scripts/build-images.sh.
// Figures (throughput, fault results) are printed and appended to $SMARTMETER_DOCKER_STATE/e2e-report.txt.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';
import type { Client } from 'cassandra-driver';
import { connect, JSONCodec, NatsConnection } from 'nats';

import { buildImages, Deployment, T } from './engine';
import { describe as describePlan, Step } from './plan';
import { Declared, ProgramRun, runProgram } from './program';
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
  provisioningProblems,
  rateProblem,
  ROWS_TOLERANCE,
} from './pipeline-checks';
import { engine, eventually, localImages, panelQueries, prometheus, report, sleep } from './support';
import { SUBJECTS } from '../../services/src/wire/subjects';
import { OUTAGE_STREAM } from '../../services/src/streaming/settings';
import { shutdownAfterRestart } from '../../services/test/support/backing';
import { readLedgers } from '../../services/src/simulator/ledger';
import { cassandraCommitLogSync, natsSync } from '../../services/harness/durability';

// The injectors' delivery ledgers (smartmeter:injectLedgerDir): what the broker acknowledged to each, on
// this host, written by the services' user (uid 1000); the suite judges the pipeline against them.
const LEDGER_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'smartmeter-e2e-ledger-'));
fs.chmodSync(LEDGER_DIR, 0o777);
const ledger = () => readLedgers(LEDGER_DIR);
// Published ports away from the defaults: the shared backing services use those on this machine.
const PORTS = { nats: 14222, natsMonitoring: 18222, cassandra: 19042, prometheus: 19090, grafana: 13000 };
const CONFIG = {
  platform: 'local',
  // The lifetime below scales to 3 and back (tests/e2e/README.md).
  injectors: '1',
  injectRate: '50',
  // Below the simulator's daily peaks (~119-121 V), so alerts happen within minutes.
  alertThreshold: '118',
  // Injected outages (a simulated day is 96 real seconds at 50/s and 900×): several meter outages a
  // minute, and a transformer's now and then, so the stream job reports some within the suite's run.
  injectOutageRate: '1',
  injectTransformerOutageRate: '0.5',
  natsPort: String(PORTS.nats),
  natsMonitoringPort: String(PORTS.natsMonitoring),
  cassandraPort: String(PORTS.cassandra),
  prometheusPort: String(PORTS.prometheus),
  grafanaPort: String(PORTS.grafana),
  injectLedgerDir: LEDGER_DIR,
};
const PROMETHEUS = `http://127.0.0.1:${PORTS.prometheus}`;
const serviceOf = (r: Declared) =>
  (r.inputs.labels as { label: string; value: string }[] | undefined)?.find(
    (l) => l.label === 'smartmeter.service',
  )?.value;

let docker: Docker;
/** The declarations the stack holds now (updated by every redeploy of the lifetime). */
let run: ProgramRun;
/** The stack's state between program runs (generated passwords are kept, as Pulumi keeps them). */
const memory: NonNullable<Parameters<typeof runProgram>[2]>['memory'] = new Map();
/** Containers, volumes and networks on the engine before the run: after teardown nothing else is left. */
let engineBefore: Set<string>;
const runStarted = Date.now();
let stack: Deployment;
let nc: NatsConnection;
let cql: Client;
let cqlHostsBeforeRestart: unknown[] = [];
/** What failed to come up (the first test reports it; the others look at what runs). */
let upFailures: string[] = [];

const containersOf = (service: string) =>
  run.resources.filter((r) => r.type === T.container && serviceOf(r) === service);

/** What is on the engine: every container (build containers included), volume and network, by id. */
async function engineObjects(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of await docker.listContainers({ all: true }))
    out.set(c.Id, `container ${c.Names[0]} (${c.Command})`);
  for (const v of (await docker.listVolumes()).Volumes ?? []) out.set(`volume:${v.Name}`, `volume ${v.Name}`);
  for (const n of await docker.listNetworks()) out.set(n.Id, `network ${n.Name}`);
  return out;
}

/**
 * One `pulumi up`'s view of the program: it runs under mocks, its docker.Image is built (from `context`
 * instead of the declared one, if given), and it runs again with the built image's ID as repoDigest (what
 * the provider returns for an image it does not push), so a code change reaches the containers' inputs.
 */
async function declare(config: Record<string, string>, context?: string): Promise<ProgramRun> {
  const full = { ...config, ...localImages() };
  const first = await runProgram('local', full, { memory });
  const built = await buildImages(docker, first.resources, (line) => report(line), context);
  const declared = await runProgram('local', full, {
    memory,
    state: (type, _name, inputs) =>
      type === T.image ? { repoDigest: built.get(String(inputs.imageName))?.id } : {},
  });
  for (const r of declared.resources.filter((x) => x.type === T.image)) {
    // The provider's Check adds the context's digest to the inputs: a changed file updates the image.
    (r.inputs.build as Record<string, unknown>).contextDigest = built.get(
      String(r.inputs.imageName),
    )?.contextDigest;
  }
  return declared;
}

beforeAll(async () => {
  docker = await engine();
  engineBefore = new Set((await engineObjects()).keys());
  const t0 = Date.now();
  run = await declare(CONFIG);
  report(`program (stack local) declared ${run.resources.length} resources`);
  // Grafana's image cannot be built here: left out of the run, its provisioning checked below.
  stack = new Deployment(docker, run.resources, {
    exclude: (r) => r.type === T.container && serviceOf(r) === 'grafana',
    log: (line) => report(line),
    prebuilt: true,
  });
  upFailures = await stack.up();
  for (const f of upFailures) report(`FAILED ${f.split('\n')[0]}`);
  report(
    `local stack up in ${((Date.now() - t0) / 1000).toFixed(0)}s (${stack.created.length} objects created)`,
  );
  nc = await connect({
    servers: `127.0.0.1:${PORTS.nats}`,
    user: String(run.outputs.natsUser),
    pass: String(run.outputs.natsPassword),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  cql = stackCassandra(`127.0.0.1:${PORTS.cassandra}`, run.outputs);
}, 30 * 60_000);

afterAll(async () => {
  fs.rmSync(LEDGER_DIR, { recursive: true, force: true });
  await nc?.close().catch(() => undefined);
  await shutdownAfterRestart(cql, cqlHostsBeforeRestart);
  if (stack) {
    const failures = await stack.down();
    report(`teardown: removed ${stack.created.length - failures.length}/${stack.created.length} objects`);
    if (failures.length) throw new Error(`teardown left:\n${failures.join('\n')}`);
    // Nothing the run created is left on the engine: no container (an image build's included), volume
    // or network that was not there before.
    const left = [...(await engineObjects())].filter(([id]) => !engineBefore.has(id)).map(([, what]) => what);
    report(
      `after teardown: ${left.length} object(s) left that the run created${left.length ? `: ${left.join('; ')}` : ''}`,
    );
    expect(left).toEqual([]);
  }
}, 10 * 60_000);

test('the program declares the stack, and the harness created all of it but Grafana', () => {
  const declaredContainers = run.resources.filter((r) => r.type === T.container);
  const created = stack.created.filter((c) => c.kind === 'container').map((c) => c.name);
  const expected = declaredContainers
    .filter((r) => !stack.excluded.includes(r))
    .map((r) => String(r.inputs.name));
  expect(created.sort()).toEqual(expected.sort());
  // Left out: Grafana's container and what only it uses (its volume, its image).
  const grafana = containersOf('grafana')[0];
  const grafanaVolumes = (grafana.inputs.volumes as { volumeName: string }[]).map((v) => v.volumeName);
  expect(stack.excluded.map((r) => r.name).sort()).toEqual(
    run.resources
      .filter(
        (r) =>
          r === grafana ||
          (r.type === T.volume && grafanaVolumes.includes(String(r.inputs.name))) ||
          (r.type === T.remoteImage && r.inputs.name === grafana.inputs.image),
      )
      .map((r) => r.name)
      .sort(),
  );
  expect(containersOf('inject')).toHaveLength(Number(CONFIG.injectors));
});

test(
  'every container is running and healthy; jobs exited 0',
  async () => {
    expect(upFailures).toEqual([]);
    for (const c of stack.created.filter((x) => x.kind === 'container')) {
      const info = await docker.getContainer(c.id).inspect();
      if (info.HostConfig.RestartPolicy?.Name === 'no') {
        expect({ name: c.name, exit: info.State.ExitCode, status: info.State.Status }).toEqual({
          name: c.name,
          exit: 0,
          status: 'exited',
        });
      } else {
        expect({ name: c.name, running: info.State.Running }).toEqual({ name: c.name, running: true });
        if (info.Config.Healthcheck?.Test?.length) {
          await stack.waitHealthy(docker.getContainer(c.id), c.name, 180);
        }
      }
    }
  },
  10 * 60_000,
);

test('the stores sync before they acknowledge: read back from the running NATS and Cassandra', async () => {
  const nats = await natsSync(`http://127.0.0.1:${PORTS.natsMonitoring}`);
  const cassandra = await cassandraCommitLogSync(cql);
  report(`durability: JetStream sync_always ${nats.always}; Cassandra commitlog_sync ${cassandra.mode}`);
  expect({ nats: nats.always, cassandra }).toEqual({
    nats: true,
    cassandra: { mode: 'batch', period: '0ms' },
  });
});

test('Grafana provisioning: the data source and dashboards parse, dashboards use the Prometheus data source', () => {
  const grafana = containersOf('grafana')[0];
  expect(grafana).toBeDefined();
  const uploads = grafana.inputs.uploads as { file: string; content: string }[];
  const { problems, dashboards } = provisioningProblems(uploads, 'http://prometheus:9090');
  report(`grafana provisioning: ${dashboards} dashboard file(s); ${problems.length} problem(s)`);
  expect(problems).toEqual([]);
});

/** Stream state: how many voltage readings JetStream accepted so far. */
test(
  'readings flow inject → NATS → ingest → Cassandra, with the measured throughput',
  async () => {
    const t = await throughput(nc, cql);
    report(
      `throughput: ${t.accepted.toFixed(1)} voltage readings/s accepted by JetStream, ` +
        `${t.rows.toFixed(1)} new raw_data rows/s (${CONFIG.injectors} injectors × ${CONFIG.injectRate}/s; ` +
        `rows are keyed per meter and simulated minute) over ${t.seconds.toFixed(0)}s`,
    );
    const expected = configuredVoltageRate(Number(CONFIG.injectors), Number(CONFIG.injectRate));
    expect([
      rateProblem('accepted', t.accepted, expected, ACCEPTED_TOLERANCE),
      rateProblem('raw_data rows', t.rows, expected, ROWS_TOLERANCE),
    ]).toEqual([undefined, undefined]);
  },
  10 * 60_000,
);

const first = (subject: string, seconds?: number) => firstMessage(nc, subject, seconds);

test(
  'stream publishes max voltage and alerts',
  async () => {
    const [max, alert] = await Promise.all([first(SUBJECTS.maxVoltage), first(SUBJECTS.alert)]);
    report(`stream: max voltage ${JSON.stringify(max)}; alert ${JSON.stringify(alert)}`);
    expect(typeof max.voltage).toBe('number');
    expect(alertProblems(alert, Number(CONFIG.alertThreshold))).toEqual([]);
  },
  6 * 60_000,
);

test(
  'stream detects injected outages: an outage opened and closed on smartmeter.extract.outage.*, and its rows',
  async () => {
    const codec = JSONCodec<Record<string, unknown>>();
    // The events are kept in the outage stream, so the ones before this test count too.
    const consumer = await nc.jetstream().consumers.get(OUTAGE_STREAM);
    const seen: { subject: string; body: Record<string, unknown> }[] = [];
    const closed = await eventually(
      'a closed meter outage on smartmeter.extract.outage.meter.>',
      300,
      async () => {
        const batch = await consumer.fetch({ max_messages: 500, expires: 2000 });
        for await (const m of batch) seen.push({ subject: m.subject, body: codec.decode(m.data) });
        return seen.find((e) => e.subject.includes('.meter.') && e.body.state === 'closed');
      },
    );
    const b = closed.body;
    const opened = seen.find(
      (e) => e.subject === closed.subject && e.body.state === 'open' && e.body.start === b.start,
    );
    report(
      `outages: ${seen.length} events (${seen.filter((e) => e.subject.includes('.transformer.')).length} of ` +
        `transformers); e.g. ${closed.subject} ${JSON.stringify(b)}`,
    );
    expect(opened).toBeDefined();
    expect(b.duration).toBe(Number(b.end) - Number(b.start));
    const [row] = (
      await cql.execute(
        'SELECT state, end_epoch, duration_s FROM smartmeter.meter_outages WHERE line = ? AND transformer = ? AND usagepoint = ? AND start_epoch = ?',
        [b.line, b.transformer, b.usagepoint, b.start],
        { prepare: true },
      )
    ).rows;
    expect({ state: row?.get('state'), end: Number(row?.get('end_epoch')) }).toEqual({
      state: 'closed',
      end: b.end,
    });
  },
  6 * 60_000,
);

test(
  'train writes a model and predict answers a request',
  async () => {
    // Both roles must be up first (a crash loop fails here, with its log, not after the wait below).
    for (const role of ['train', 'predict']) {
      const name = String(containersOf(role)[0].inputs.name);
      await stack.waitHealthy(docker.getContainer(name), name, 120);
    }
    const model = await eventually(
      'a model row in smartmeter.models',
      600,
      async () => {
        const rs = await cql.execute('SELECT name, version, metrics FROM smartmeter.models LIMIT 1');
        return rs.first() ?? undefined;
      },
      5000,
    );
    report(`train: model ${model.get('name')} v${model.get('version')} metrics ${model.get('metrics')}`);
    const answer = await prediction(nc, 120);
    report(`predict: ${JSON.stringify(answer)}`);
    expect(answer).not.toHaveProperty('error');
    // Every prediction carries the max-voltage band, ordered: the reply and those published per forecast.
    const published = await first(SUBJECTS.prediction, 120);
    report(`predict: published ${JSON.stringify(published)}`);
    expect({ reply: bandProblems(answer), published: bandProblems(published) }).toEqual({
      reply: [],
      published: [],
    });
  },
  12 * 60_000,
);

test(
  'Prometheus scrapes every target and answers every dashboard panel query with data',
  async () => {
    type Target = { labels: { job: string; instance: string }; health: string };
    const activeTargets = async () =>
      (await prometheus<{ activeTargets: Target[] }>(PROMETHEUS, '/api/v1/targets?state=active'))
        .activeTargets;
    await eventually('every scrape target up', 120, async () =>
      (await activeTargets()).every((t) => t.health === 'up') ? true : undefined,
    ).catch(() => undefined);
    const targets = await activeTargets();
    const down = targets.filter((t) => t.health !== 'up').map((t) => `${t.labels.job}/${t.labels.instance}`);
    report(
      `prometheus: ${targets.length - down.length}/${targets.length} targets up${down.length ? `; down: ${down.join(', ')}` : ''}`,
    );
    const { allDashboards } = await import('../../dashboards');
    const queries = allDashboards().flatMap((d) =>
      panelQueries(d.json).map((q) => ({ ...q, dashboard: d.title })),
    );
    // Grafana's range variables become a fixed window; every query is asked until all have data (bounded).
    const withoutData = async () => {
      const empty: string[] = [];
      for (const q of queries) {
        const expr = q.expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '1m');
        const data = await prometheus<{ result: unknown[] }>(
          PROMETHEUS,
          `/api/v1/query?query=${encodeURIComponent(expr)}`,
        );
        if (!data.result.length) empty.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
      }
      return empty;
    };
    await eventually('every panel query has data', 240, async () =>
      (await withoutData()).length === 0 ? true : undefined,
    ).catch(() => undefined);
    const empty = await withoutData();
    for (const e of empty) report(`no data: ${e}`);
    report(
      `prometheus: ${queries.length - empty.length}/${queries.length} dashboard panel queries return data`,
    );
    expect({ down, empty }).toEqual({ down: [], empty: [] });
  },
  10 * 60_000,
);

/** Stops the injectors' publishing (pause), waits until ingest has acknowledged everything accepted. */
async function quiesce(): Promise<void> {
  for (const r of containersOf('inject')) await docker.getContainer(String(r.inputs.name)).pause();
  await drained(nc);
}

async function resume(): Promise<void> {
  for (const r of containersOf('inject')) await docker.getContainer(String(r.inputs.name)).unpause();
}

test(
  'faults under load: ingest, Cassandra and NATS stopped and restarted; every acknowledged reading stored at least once, in the stream once, no stray row',
  async () => {
    for (const target of ['ingest', 'cassandra', 'nats']) {
      const name = String(containersOf(target)[0].inputs.name);
      const container = docker.getContainer(name);
      const before = ledger().length;
      const healthyBefore: typeof stack.created = [];
      for (const c of stack.created.filter((x) => x.kind === 'container')) {
        const state = (await docker.getContainer(c.id).inspect()).State;
        if (state.Health?.Status === 'healthy') healthyBefore.push(c);
      }
      await sleep(15_000);
      if (target === 'cassandra') cqlHostsBeforeRestart = cql.hosts?.values() ?? [];
      const t0 = Date.now();
      await container.stop({ t: 30 });
      await sleep(20_000);
      await container.start();
      await stack.waitHealthy(container, name, 300);
      const downSeconds = (Date.now() - t0) / 1000;
      // Everything that was healthy before recovers (restart policies, client reconnects).
      for (const c of healthyBefore) await stack.waitHealthy(docker.getContainer(c.id), c.name, 300);
      await sleep(15_000);
      await quiesce();
      const r = await eventually('reconciliation', 180, () => reconcile(nc, cql, ledger()), 5000);
      const agg = await maxVoltageSettled(cql);
      report(
        `fault ${name} (down and back in ${downSeconds.toFixed(0)}s): ${r.acknowledged - before} readings acknowledged to ` +
          `the injector during the phase, ${r.acknowledged} in all, ${r.stored} stored, ${r.lost} lost, ` +
          `${r.lostInStream} gone from the stream, ${r.storedTwice} in it twice, ${r.extra} rows of no reading; ` +
          `max voltage of ${agg.epochs} epochs against the raw rows: ${agg.mismatched.length} differ`,
      );
      expect({
        target,
        lost: r.lost,
        lostInStream: r.lostInStream,
        twice: r.storedTwice,
        extra: r.extra,
      }).toEqual({ target, lost: 0, lostInStream: 0, twice: 0, extra: 0 });
      expect({ target, mismatched: agg.mismatched.slice(0, 5) }).toEqual({ target, mismatched: [] });
      await resume();
    }
  },
  40 * 60_000,
);

/** Container name → engine id, for every container the stack runs now. */
function containerIds(): Map<string, string> {
  return new Map(stack.created.filter((c) => c.kind === 'container').map((c) => [c.name, c.id]));
}

/** A copy of the services image's build context with a harmless change to a built source file. */
function changedServicesContext(): string {
  const image = run.resources.find((r) => r.type === T.image);
  const root = String((image?.inputs.build as { context: string }).context);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartmeter-upgrade-'));
  const parts = [
    '.dockerignore',
    'package.json',
    'package-lock.json',
    'tsconfig.base.json',
    'services/package.json',
  ];
  for (const p of [...parts, 'services/tsconfig.json', 'services/Dockerfile', 'services/src']) {
    fs.cpSync(path.join(root, p), path.join(dir, p), { recursive: true });
  }
  const main = path.join(dir, 'services/src/main.ts');
  fs.appendFileSync(main, `\n// Upgraded by the e2e lifetime at ${new Date().toISOString()}.\n`);
  return dir;
}

/** The slot (1-based injector replica) a line belongs to: slot s publishes lines 10s+1 … 10s+10. */
const slotOfLine = (line: number) => Math.floor((line - 1) / 10);

async function slotsIn(table: 'max_voltage_by_line' | 'voltage_alerts'): Promise<number[]> {
  const rs = await cql.execute(
    `SELECT DISTINCT line${table === 'voltage_alerts' ? ', transformer' : ''} FROM smartmeter.${table}`,
  );
  return [...new Set(rs.rows.map((r) => slotOfLine(Number(r.get('line')))))].sort();
}

test(
  'a lifetime: scale 1→3→1, restart an injector, redeploy unchanged, upgrade the services under load',
  async () => {
    const rows: { step: string; plan: string; replaced: string; refresh: string; seconds: number }[] = [];
    /** One step: what it did (a redeploy's plan), which containers changed id, and what a refresh would plan. */
    const step = async (name: string, action: () => Promise<readonly Step[] | undefined>) => {
      const before = containerIds();
      const t0 = Date.now();
      const steps = (await action()) ?? [];
      const after = containerIds();
      const replaced = [...before].filter(([n, id]) => after.has(n) && after.get(n) !== id).map(([n]) => n);
      const planned = steps
        .filter((x) => x.action === 'replace' && x.type === T.container)
        .map((x) => x.name);
      const refresh = await stack.refreshDiffs();
      rows.push({
        step: name,
        plan: steps.length ? describePlan(steps).join('; ') : '(no change)',
        replaced: replaced.length ? replaced.sort().join(', ') : 'none',
        refresh: refresh.length ? refresh.join('; ') : 'no change',
        seconds: (Date.now() - t0) / 1000,
      });
      report(`lifetime ${name}: ${rows[rows.length - 1].plan}; replaced ${rows[rows.length - 1].replaced}`);
      // A container changes id only when the plan replaced it; a refresh plans nothing.
      expect({ name, replaced: replaced.sort() }).toEqual({ name, replaced: planned.sort() });
      expect({ name, refresh }).toEqual({ name, refresh: [] });
      return steps;
    };
    const redeploy = async (config: Record<string, string>, context?: string) => {
      const next = await declare(config, context);
      const steps = await stack.apply(next.resources);
      run = next;
      return steps;
    };

    await step('deployed (injectors=1)', async () => undefined);
    const scaleUp = await step('scale injectors 1→3', () => redeploy({ ...CONFIG, injectors: '3' }));
    expect(scaleUp.map((x) => `${x.action} ${x.name}`).sort()).toEqual([
      'create inject-1',
      'create inject-2',
    ]);
    await sleep(150_000);
    const slotsWhileScaled = {
      maxVoltage: await slotsIn('max_voltage_by_line'),
      alerts: await slotsIn('voltage_alerts'),
    };
    const scaleDown = await step('scale injectors 3→1', () => redeploy(CONFIG));
    expect(scaleDown.map((x) => `${x.action} ${x.name}`).sort()).toEqual([
      'delete inject-1',
      'delete inject-2',
    ]);
    await sleep(30_000);
    await step('restart inject-0', async () => {
      const inject = docker.getContainer('inject-0');
      await inject.restart({ t: 10 });
      await stack.waitHealthy(inject, 'inject-0', 120);
      return undefined;
    });
    await sleep(30_000);
    const unchanged = await step('redeploy, no change', () => redeploy(CONFIG));
    expect(unchanged).toEqual([]);
    const imageBefore = run.resources.find((r) => r.type === T.image);
    const context = changedServicesContext();
    let upgrade: readonly Step[];
    try {
      upgrade = await step('upgrade the services code', () => redeploy(CONFIG, context));
    } finally {
      fs.rmSync(context, { recursive: true, force: true });
    }
    // The image changed; exactly the containers running it were replaced; NATS, Cassandra, Prometheus
    // (and the exporter, the auth job) kept theirs.
    const builtId = (run.resources.find((r) => r.type === T.image)?.inputs.build as { contextDigest: string })
      .contextDigest;
    expect(builtId).not.toBe((imageBefore?.inputs.build as { contextDigest: string }).contextDigest);
    const onServicesImage = run.resources
      .filter((r) => r.type === T.container && r.dependencies.includes(imageBefore?.urn ?? '-'))
      .map((r) => r.name);
    expect(
      upgrade
        .filter((x) => x.action === 'replace')
        .map((x) => x.name)
        .sort(),
    ).toEqual(onServicesImage.sort());
    expect(upgrade.filter((x) => x.action === 'update').map((x) => x.name)).toEqual([imageBefore?.name]);
    for (const stateful of ['nats-0', 'cassandra-0', 'prometheus-0'])
      expect(onServicesImage).not.toContain(stateful);
    await sleep(60_000);

    // Over the whole run: the stream job's maxima agree with the raw rows (nothing it left out, a late
    // reading included), every acknowledged reading stored (at least once: a row each), in the stream once, no stray row, and the analytics covered every injector
    // slot while it ran.
    const seconds = Math.ceil((Date.now() - runStarted) / 1000);
    const amended = await prometheus<{ result: { value: [number, string] }[] }>(
      PROMETHEUS,
      `/api/v1/query?query=${encodeURIComponent(`sum(increase(smartmeter_stream_messages_total{outcome="amended"}[${seconds}s]))`)}`,
    );
    const amendedCount = Number(amended.result[0]?.value[1] ?? NaN);
    await quiesce();
    const r = await eventually('reconciliation', 180, () => reconcile(nc, cql, ledger()), 5000);
    const agg = await maxVoltageSettled(cql);
    report('lifetime steps:');
    report(`| step | plan | containers replaced | refresh plans | s |`);
    for (const x of rows)
      report(`| ${x.step} | ${x.plan} | ${x.replaced} | ${x.refresh} | ${x.seconds.toFixed(0)} |`);
    report(
      `lifetime totals over ${seconds}s: ${r.acknowledged} readings acknowledged, ${r.stored} stored, ${r.lost} lost, ` +
        `${r.lostInStream} gone from the stream, ${r.storedTwice} in it twice, ${r.rows} rows, ${r.extra} of no reading; ` +
        `${amendedCount} readings amended into closed windows; max voltage of ${agg.epochs} epochs against the raw ` +
        `rows: ${agg.mismatched.length} differ; slots while scaled: max_voltage_by_line ` +
        `${slotsWhileScaled.maxVoltage.join(',')}, voltage_alerts ${slotsWhileScaled.alerts.join(',')}`,
    );
    expect({ lost: r.lost, lostInStream: r.lostInStream, twice: r.storedTwice, extra: r.extra }).toEqual({
      lost: 0,
      lostInStream: 0,
      twice: 0,
      extra: 0,
    });
    expect(agg.mismatched.slice(0, 5)).toEqual([]);
    expect(slotsWhileScaled.maxVoltage).toEqual(expect.arrayContaining([1, 2, 3]));
    expect(slotsWhileScaled.alerts).toEqual(expect.arrayContaining([1, 2, 3]));
  },
  40 * 60_000,
);
