// `npm run plan` as a user runs it (runPlan with the fixture figures): what it prints, its refusals, the
// chart it writes, and `--write-config aws` read back through the program's own config validation.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';

import { LIMITS } from '../../components/config';
import { AWS_LIMITS } from '../../components/platforms/aws/config';
import { fleetSizes } from '../../planner/chart';
import { plan, runPlan } from '../../planner/cli';
import { CapacityError } from '../../planner/sizing';
import {
  CommandRunner,
  planKeys,
  readStackFile,
  validateAwsValues,
  withPlan,
} from '../../planner/stack-config';
import { SERVICES_NODE_MAJOR } from '../../services/bench/figures';
import { FIXTURE, fixture } from './support';

const REPO = join(__dirname, '..', '..');

/** A repository copy with the aws stack file only, and the runner's and the output's records. */
function sandbox() {
  const root = mkdtempSync(join(tmpdir(), 'plan-'));
  copyFileSync(join(REPO, 'Pulumi.aws.yaml'), join(root, 'Pulumi.aws.yaml'));
  const lines: string[] = [];
  const commands: string[][] = [];
  // What `pulumi config set <key> <value> -s aws` does to the stack file: the project's namespace, a string.
  const runner: CommandRunner = (argv, cwd) => {
    commands.push(argv);
    const [, , , , key, value, , stack] = argv;
    const file = join(cwd, `Pulumi.${stack}.yaml`);
    const doc = parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['config', `smartmeter:${key}`], value);
    writeFileSync(file, doc.toString());
  };
  const run = (...argv: string[]) => runPlan(argv, { out: (l) => lines.push(l), runner, root, cwd: root });
  return { root, lines, commands, run, output: () => lines.join('\n') };
}

test('prints every number with its basis, names the figures it used, and draws the chart', () => {
  const box = sandbox();
  expect(box.run('--meters', '1000000', '--figures', FIXTURE, '--chart', 'fleet.svg')).toBe(0);
  const out = box.output();
  expect(out).toContain(`bench figures: ${FIXTURE}`);
  expect(out).toContain('at commit be5c914-fixture on fixture-2core (2 × AMD EPYC');
  expect(out).toMatch(/readings\/s at peak +1,111\.1 +← 1,000,000 meters \/ 900 s × peak factor 1/);
  expect(out).toMatch(/Cassandra nodes +3 +← the most of: 3 copies/);
  expect(out).toMatch(/aws workers +3 × t3\.large/);
  expect(out).toMatch(/aws cost per month +\$\d+ +← \$\/h × 730 h/);
  expect(out).toContain(
    'largest fleet the largest allowed cluster carries at this interval: 25,200,000 meters',
  );
  expect(out).toContain('still to set yourself: allowedCidr, sshPublicKey');
  const svg = readFileSync(join(box.root, 'fleet.svg'), 'utf8');
  expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  expect(svg).toContain('1 M meters: $');
  expect(svg).toContain('beyond the largest allowed cluster (25.2 M)');
  expect(box.commands).toEqual([]);
});

test('refuses clearly without bench figures, naming the file and what to run', () => {
  const box = sandbox();
  const missing = join(box.root, 'services', 'dist', 'bench', 'last.json');
  expect(box.run('--meters', '1000')).toBe(1);
  expect(box.output()).toBe(`npm run plan: no bench figures at ${missing}: run \`npm run bench\` first`);
});

test('refuses figures measured on another Node.js major than the services run on', () => {
  const box = sandbox();
  const node20 = join(box.root, 'node20.json');
  writeFileSync(node20, JSON.stringify(fixture({ machine: { ...fixture().machine, node: 'v20.20.2' } })));
  expect(box.run('--meters', '1000', '--figures', node20)).toBe(1);
  expect(box.output()).toBe(
    `npm run plan: bench figures at ${node20} were measured on Node v20.20.2, the services run on Node 24: ` +
      "run `npm run bench` again (it runs on the project's Node)",
  );
});

test('the services Node.js major is the one install-node.sh installs and package.json requires', () => {
  const installed = /^NODE_VERSION=(\d+)\./m.exec(
    readFileSync(join(REPO, 'scripts/install-node.sh'), 'utf8'),
  );
  const engines = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).engines.node;
  expect(Number(installed?.[1])).toBe(SERVICES_NODE_MAJOR);
  expect(engines).toBe(`>=${SERVICES_NODE_MAJOR} <${SERVICES_NODE_MAJOR + 1}`);
});

test('refuses bad arguments and a fleet beyond the largest cluster, naming the limit', () => {
  const box = sandbox();
  expect(box.run('--figures', FIXTURE)).toBe(1);
  expect(box.lines[0]).toMatch(/^npm run plan: --meters is required/);
  expect(box.run('--meters', '10', '--interval', '15 minutes', '--figures', FIXTURE)).toBe(1);
  expect(box.lines.at(-1)).toBe(
    'npm run plan: --interval must be a duration such as 30s, 15m or 1h, from 1s to 1d, got "15 minutes"',
  );
  expect(box.run('--meters', '10000000', '--interval', '1m', '--figures', FIXTURE)).toBe(1);
  expect(box.lines.at(-1)).toMatch(/^npm run plan: 166,667 readings\/s are more than the stream job takes/);
});

test('--write-config aws sets the plan with pulumi config set, and the stack file passes validation', () => {
  const box = sandbox();
  const argv = ['--meters', '10000000', '--retention', '30d', '--figures', FIXTURE];
  expect(box.run(...argv, '--write-config', 'aws')).toBe(0);
  const fleet = {
    meters: 10_000_000,
    intervalSeconds: 900,
    retentionDays: 30,
    replication: 3,
    peakFactor: 1,
  };
  const planned = plan(fleet, fixture(), 't3.large');
  const keys = planKeys(fleet, planned.sizing, planned.aws);
  expect(box.commands).toEqual(
    keys.map(([k, v]) => ['bash', 'scripts/pulumi.sh', 'config', 'set', k, v, '-s', 'aws']),
  );
  expect(box.output()).toContain('  pulumi config set cassandraNodes 6 -s aws');

  // Read back as `pulumi up -s aws` reads it.
  const stack = readStackFile(join(box.root, 'Pulumi.aws.yaml'));
  const { config, aws } = validateAwsValues(stack);
  expect(config).toMatchObject({
    platform: 'aws',
    injectors: planned.sizing.injectors.value,
    injectRate: planned.sizing.injectRate.value,
    ingestReplicas: planned.sizing.ingestReplicas.value,
    natsNodes: planned.sizing.natsNodes.value,
    cassandraNodes: planned.sizing.cassandraNodes.value,
    cassandraReplicationFactor: 3,
    retention: { rawDays: 30 },
  });
  expect(config.retention.rawStreamMaxBytes).toBeGreaterThanOrEqual(planned.sizing.jetstreamBytes.value);
  expect(aws).toMatchObject({
    managers: planned.aws.managers.value,
    workers: planned.aws.workers.value,
    workerInstanceType: 't3.large',
    rootVolumeGiB: planned.aws.rootVolumeGiB.value,
  });
  // The stack's own keys are kept.
  expect(stack.natsPort).toBe('0');
});

test('--print-config prints the commands and runs none', () => {
  const box = sandbox();
  expect(box.run('--meters', '100000', '--figures', FIXTURE, '--print-config')).toBe(0);
  expect(box.output()).toContain('to deploy this plan:\n  pulumi config set managers 1 -s aws');
  expect(box.commands).toEqual([]);
});

/** The plan of each fleet, or nothing for one the planner refuses (with a CapacityError, nothing else). */
function plannable(fleets: Parameters<typeof plan>[0][]) {
  const figures = fixture();
  return fleets.flatMap((fleet) => {
    try {
      return [{ fleet, planned: plan(fleet, figures, 't3.large') }];
    } catch (err) {
      expect(err).toBeInstanceOf(CapacityError);
      return [];
    }
  });
}

test('every plan over the chart’s fleets either passes the stack validation or is refused', () => {
  const base = readStackFile(join(REPO, 'Pulumi.aws.yaml'));
  const fleets = [60, 900, 3600].flatMap((interval) =>
    fleetSizes(1_000, 100_000_000, 30).map((meters) => ({
      meters,
      intervalSeconds: interval,
      retentionDays: 30,
      replication: 3,
      peakFactor: 1,
    })),
  );
  for (const { fleet, planned } of plannable(fleets)) {
    const { config, aws } = validateAwsValues(withPlan(base, planKeys(fleet, planned.sizing, planned.aws)));
    expect(config.injectors).toBeLessThanOrEqual(LIMITS.injectors);
    expect(aws.workers).toBeGreaterThanOrEqual(Math.max(config.natsNodes, config.cassandraNodes));
    expect(aws.rootVolumeGiB).toBeLessThanOrEqual(AWS_LIMITS.rootVolumeGiB);
  }
});

test('plans the fewest zones, from the stack’s, in which a zone’s loss keeps every quorum', () => {
  const base = readStackFile(join(REPO, 'Pulumi.aws.yaml'));
  const zonesFor = new Map<string, number>();
  const fleets = Array.from({ length: LIMITS.cassandraNodes }, (_, r) =>
    fleetSizes(1_000, 100_000_000, 12).map((meters) => ({
      meters,
      intervalSeconds: 900,
      retentionDays: 30,
      replication: r + 1,
      peakFactor: 1,
    })),
  ).flat();
  for (const { fleet, planned } of plannable(fleets)) {
    const keys = planKeys(fleet, planned.sizing, planned.aws);
    // validateAwsValues throws on a layout the stack refuses; an accepted one has no warning either.
    expect(validateAwsValues(withPlan(base, keys)).zoneWarning).toBeUndefined();
    const zones = Number(Object.fromEntries(keys).availabilityZones);
    zonesFor.set(`${fleet.replication} on ${planned.sizing.cassandraNodes.value}`, zones);
    expect(zones).toBeGreaterThanOrEqual(3);
  }
  // Three zones carry 3 replicas (one each); 4 need a fourth zone, as 2 of 4 in one zone leave no quorum.
  expect(zonesFor.get('3 on 3')).toBe(3);
  expect(zonesFor.get('4 on 4')).toBe(4);
  expect(zonesFor.get('1 on 1')).toBe(3);
});

test('a stack with too few zones gets enough; one that accepts the loss keeps its own, and is warned', () => {
  const box = sandbox();
  const file = join(box.root, 'Pulumi.aws.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['config', 'smartmeter:availabilityZones'], '2');
  writeFileSync(file, doc.toString());
  expect(box.run('--meters', '100000', '--figures', FIXTURE, '--print-config')).toBe(0);
  expect(box.output()).toMatch(/aws availability zones +3 +← the fewest from 2 in which a zone's loss keeps/);
  expect(box.output()).toContain('  pulumi config set availabilityZones 3 -s aws');
  expect(box.output()).not.toContain('warning:');

  doc.setIn(['config', 'smartmeter:allowZoneQuorumLoss'], 'true');
  writeFileSync(file, doc.toString());
  expect(box.run('--meters', '100000', '--figures', FIXTURE, '--print-config')).toBe(0);
  expect(box.output()).toContain('  pulumi config set availabilityZones 2 -s aws');
  expect(box.output()).toMatch(
    /warning: smartmeter:availabilityZones 2 with smartmeter:workers 3 lets one zone's loss stop a quorum/,
  );
});

test('the raw stream is sized for the stack’s own rawStreamMaxAge', () => {
  const box = sandbox();
  const file = join(box.root, 'Pulumi.aws.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['config', 'smartmeter:rawStreamMaxAge'], '6h');
  writeFileSync(file, doc.toString());
  expect(box.run('--meters', '1000000', '--figures', FIXTURE)).toBe(0);
  // 1,111.1 msg/s × 140 B × 21,600 s / 0.7 = 4.8 GB = 4.5 GiB (24 h: 17.9 GiB).
  expect(box.output()).toMatch(
    /JetStream disk \(raw stream\) +4\.5 GiB +← 1,111 msg\/s × 140 B\/msg \(measured\) × 6 h/,
  );
});
