// `npm run plan -- --meters 2000000 --interval 15m [--retention 30d] [--replication 3]`: sizes a deployment
// for a fleet from the figures `npm run bench` saved, prints every number with the figure and headroom it
// came from, draws cost and node counts against fleet size, and with `--write-config aws` sets the plan as
// the aws stack's keys. README, "Plan a deployment (`npm run plan`)".
import { statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { BenchFigures, readFigures } from '../services/bench/figures';
import { ConfigError, LIMITS } from '../components/config';
import type { AwsConfig } from '../components/platforms/aws/config';
import { AwsPlan, awsDiskBudget, planAws } from './aws';
import { INSTANCE_TYPES, PRICES } from './aws-prices';
import { ChartPoint, fleetSizes, renderChart } from './chart';
import { CapacityError, Fleet, Figure, fmt, gib, planSizing, Sizing, UTILISATION } from './sizing';
import {
  CommandRunner,
  configCommands,
  planKeys,
  readAwsValues,
  readStackFile,
  repoRoot,
  spawnRunner,
  STACK,
  validateAwsValues,
  withPlan,
} from './stack-config';

const USAGE =
  'usage: npm run plan -- --meters <n> [--interval 15m] [--retention 7d] [--replication 3] [--peak-factor 1]\n' +
  '         [--worker-type t3.large] [--figures <last.json>] [--chart plan.svg] [--print-config] [--write-config aws]';
/** What a refusal ends with: one line, pointing at the usage. */
const SEE_USAGE = '(npm run plan -- --help)';

/**
 * The largest fleet the planner considers, far beyond what the largest allowed cluster carries (about 25 M
 * meters at 15 min on the 2-core bench figures): it bounds the search for the largest fleet.
 */
export const MAX_METERS = 1_000_000_000;
/** The longest reporting interval planned: a day (the stack's windows are at most a day long). */
export const MAX_INTERVAL_SECONDS = 86_400;
export const MAX_PEAK_FACTOR = 100;

/** Where `npm run bench` saves its figures (services/bench/figures.ts, defaultFiguresPath). */
export const figuresPath = (root: string) => join(root, 'services', 'dist', 'bench', 'last.json');

export class UsageError extends Error {
  override name = 'UsageError';
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function parseInterval(text: string): number {
  const m = /^([1-9][0-9]*)([smhd])$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2]] : NaN;
  if (!(seconds <= MAX_INTERVAL_SECONDS)) {
    throw new UsageError(
      `--interval must be a duration such as 30s, 15m or 1h, from 1s to 1d, got ${JSON.stringify(text)}`,
    );
  }
  return seconds;
}

/** Whole days, as `rawRetentionDays` takes them (1…7300). */
export function parseRetention(text: string): number {
  const m = /^([1-9][0-9]*)d?$/.exec(text.trim());
  const days = m ? Number(m[1]) : NaN;
  if (!(days >= 1 && days <= 7300)) {
    throw new UsageError(`--retention must be whole days from 1d to 7300d, got ${JSON.stringify(text)}`);
  }
  return days;
}

function bounded(name: string, text: string, integer: boolean, min: number, max: number): number {
  const n = /^\s*$/.test(text) ? NaN : Number(text.replace(/[_,]/g, ''));
  if (!(n >= min && n <= max) || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `--${name} must be ${integer ? 'an integer' : 'a number'} from ${fmt(min)} to ${fmt(max)}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

export interface PlanOptions {
  readonly fleet: Fleet;
  readonly workerType: string;
  readonly figuresPath: string;
  readonly chartPath: string;
  readonly printConfig: boolean;
  readonly writeConfig: boolean;
}

/** node:util parseArgs, its refusals (unknown flag, missing value, positional) as one-line UsageErrors. */
function readFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        meters: { type: 'string' },
        interval: { type: 'string', default: '15m' },
        retention: { type: 'string', default: '7d' },
        replication: { type: 'string', default: '3' },
        'peak-factor': { type: 'string', default: '1' },
        'worker-type': { type: 'string', default: 't3.large' },
        figures: { type: 'string' },
        chart: { type: 'string', default: 'plan.svg' },
        'print-config': { type: 'boolean', default: false },
        'write-config': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) {
      throw new UsageError(`${(err as Error).message.split('\n')[0]} ${SEE_USAGE}`);
    }
    throw err;
  }
}

/** `--help`: the usage, and nothing else. */
export class HelpRequested extends Error {
  override name = 'HelpRequested';
}

export function parsePlanArgs(argv: string[], root: string, cwd: string): PlanOptions {
  const values = readFlags(argv);
  if (values.help) throw new HelpRequested(USAGE);
  if (values.meters === undefined) throw new UsageError(`--meters is required ${SEE_USAGE}`);
  if (!INSTANCE_TYPES.some((t) => t.name === values['worker-type'])) {
    throw new UsageError(
      `--worker-type must be one of ${INSTANCE_TYPES.map((t) => t.name).join(', ')}, got ${JSON.stringify(values['worker-type'])}`,
    );
  }
  if (values['write-config'] !== undefined && values['write-config'] !== STACK) {
    throw new UsageError(
      `--write-config takes the stack to write, only "${STACK}", got ${JSON.stringify(values['write-config'])}`,
    );
  }
  return {
    fleet: {
      meters: bounded('meters', values.meters, true, 1, MAX_METERS),
      intervalSeconds: parseInterval(values.interval),
      retentionDays: parseRetention(values.retention),
      // Copies of each reading: at most one per Cassandra node the stack allows.
      replication: bounded('replication', values.replication, true, 1, LIMITS.cassandraNodes),
      peakFactor: bounded('peak-factor', values['peak-factor'], false, 1, MAX_PEAK_FACTOR),
    },
    workerType: values['worker-type'],
    figuresPath: values.figures ? resolve(cwd, values.figures) : figuresPath(root),
    chartPath: resolve(cwd, values.chart),
    printConfig: values['print-config'],
    writeConfig: values['write-config'] === STACK,
  };
}

export interface Plan {
  readonly sizing: Sizing;
  readonly aws: AwsPlan;
}

/** `stackZones`: the stack's zone keys, which the plan keeps unless a zone's loss would take a quorum. */
export function plan(
  fleet: Fleet,
  figures: BenchFigures,
  workerType: string,
  stackZones: Partial<Pick<AwsConfig, 'availabilityZones' | 'allowZoneQuorumLoss'>> = {},
): Plan {
  const sizing = planSizing(fleet, figures, awsDiskBudget());
  return {
    sizing,
    aws: planAws(sizing, workerType, undefined, { ...stackZones, replication: fleet.replication }),
  };
}

function source(figures: BenchFigures, path: string): string {
  const m = figures.machine;
  return (
    `bench figures: ${path}\n` +
    `  measured ${figures.measuredAt} at commit ${figures.commit} on ${m.hostname} ` +
    `(${m.cpus} × ${m.cpuModel}, ${fmt(m.memoryBytes / 1024 ** 3, 1)} GiB, Node ${m.node}, load ${m.loadStart}→${m.loadEnd})`
  );
}

function report(fleet: Fleet, p: Plan): string {
  const { sizing: s, aws } = p;
  const rows: [string, string, Figure][] = [
    ['readings/s at peak', fmt(s.readingsPerSecond.value, 1), s.readingsPerSecond],
    ['inject replicas (injectors)', fmt(s.injectors.value), s.injectors],
    ['  readings/s each (injectRate)', fmt(s.injectRate.value), s.injectRate],
    ['ingest replicas', fmt(s.ingestReplicas.value), s.ingestReplicas],
    ['stream job (one active)', `${fmt(s.streamLoad.value * 100, 1)} % of plan`, s.streamLoad],
    ['NATS nodes', fmt(s.natsNodes.value), s.natsNodes],
    ['Cassandra nodes', fmt(s.cassandraNodes.value), s.cassandraNodes],
    [
      'disk per Cassandra node',
      `${fmt(gib(s.cassandraDiskBytesPerNode.value), 1)} GiB`,
      s.cassandraDiskBytesPerNode,
    ],
    ['JetStream disk (raw stream)', `${fmt(gib(s.jetstreamBytes.value), 1)} GiB`, s.jetstreamBytes],
    ['vCPUs in use', fmt(s.vcpus.value, 1), s.vcpus],
    ['aws managers', `${aws.managers.value} × ${aws.managerType.name}`, aws.managers],
    ['aws workers', `${aws.workers.value} × ${aws.workerType.name}`, aws.workers],
    ['aws root volume per node', `${aws.rootVolumeGiB.value} GiB`, aws.rootVolumeGiB],
    ['aws availability zones', fmt(aws.availabilityZones.value), aws.availabilityZones],
    ['aws cost per hour', `$${fmt(aws.perHour.value, 3)}`, aws.perHour],
    ['aws cost per month', `$${fmt(aws.perMonth.value)}`, aws.perMonth],
  ];
  const width = Math.max(...rows.map(([l, v]) => l.length + v.length)) + 2;
  return [
    `fleet: ${fmt(fleet.meters)} meters every ${fmt(fleet.intervalSeconds)} s, raw_data kept ${fleet.retentionDays} d, ` +
      `replication ${fleet.replication}; every rate planned at ${UTILISATION * 100} % of what was measured`,
    ...rows.map(
      ([label, value, f]) =>
        `  ${label}${' '.repeat(width - label.length - value.length)}${value}   ← ${f.basis}`,
    ),
    `  prices: ${PRICES.region} on-demand, assumed (planner/aws-prices.ts, as in the README); check the current AWS price list`,
  ].join('\n');
}

function chartPoints(fleet: Fleet, figures: BenchFigures, workerType: string, meters: number): ChartPoint {
  try {
    const { sizing: s, aws } = plan({ ...fleet, meters }, figures, workerType);
    return {
      meters,
      plan: {
        perMonth: aws.perMonth.value,
        workers: aws.workers.value,
        cassandraNodes: s.cassandraNodes.value,
        natsNodes: s.natsNodes.value,
        ingestReplicas: s.ingestReplicas.value,
        injectors: s.injectors.value,
      },
    };
  } catch (err) {
    if (err instanceof CapacityError) return { meters };
    throw err;
  }
}

/**
 * The most meters `plan` accepts with these settings, up to MAX_METERS (bisection: the plan grows with the
 * fleet). Bounded, so that settings every fleet fits (a long interval) end, within safe integers.
 */
export function largestFleet(fleet: Fleet, figures: BenchFigures, workerType: string): number {
  const fits = (meters: number) => chartPoints(fleet, figures, workerType, meters).plan !== undefined;
  if (!fits(1)) return 0;
  if (fits(MAX_METERS)) return MAX_METERS;
  let [lo, hi] = [1, 2];
  while (fits(hi)) [lo, hi] = [hi, Math.min(hi * 2, MAX_METERS)];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface PlanIo {
  readonly out: (line: string) => void;
  readonly runner: CommandRunner;
  /** The repository (its Pulumi.aws.yaml and scripts/pulumi.sh). */
  readonly root: string;
  /** Where relative paths given on the command line are read from. */
  readonly cwd: string;
}

/** Bench figures are a few KiB of JSON. */
const MAX_FIGURES_BYTES = 1024 ** 2;

/** The figures the plan reads, each a positive number (a hand-edited or truncated file is refused). */
const FIGURES_USED: readonly string[] = [
  'natsPubSub',
  'cassandraCeiling.median',
  'pipeline.median',
  'streamDrain',
  'injectorRate',
  'machine.cpus',
  'machine.memoryBytes',
  'storage.cassandraBytesPerRow',
  'storage.jetstreamBytesPerMessage',
];

/** The bench figures at `path`, or a one-line UsageError saying why they cannot be used. */
export function loadFigures(path: string): BenchFigures {
  // Read only a regular file of a plausible size: a device or a pipe (/dev/zero, /dev/stdin) never ends.
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat && !(stat.isFile() && stat.size <= MAX_FIGURES_BYTES)) {
    throw new UsageError(`--figures ${path}: not bench figures (a regular file of at most 1 MiB)`);
  }
  let figures: BenchFigures;
  try {
    figures = readFigures(path);
  } catch (err) {
    const message = (err as Error).message;
    throw new UsageError(
      /bench figures/.test(message) ? message : `cannot read bench figures at ${path}: ${message}`,
    );
  }
  for (const field of FIGURES_USED) {
    const value = field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], figures);
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
      throw new UsageError(
        `bench figures at ${path} have no positive number at ${field}: run \`npm run bench\` again`,
      );
    }
  }
  return figures;
}

/** The chart's file must be writable where it is asked for: refused before anything is printed. */
function checkChartPath(path: string): void {
  const dir = statSync(dirname(path), { throwIfNoEntry: false });
  const existing = statSync(path, { throwIfNoEntry: false });
  if (!dir?.isDirectory() || existing?.isDirectory()) {
    throw new UsageError(
      `--chart ${path}: ${dir?.isDirectory() ? 'is a directory' : 'its directory does not exist'}`,
    );
  }
}

/** A step on the file system or a command, its failure as one line naming what failed. */
function step<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    throw new UsageError(`${what}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** The command; returns its exit code. Refusals print one clear message and return 1. */
export function runPlan(argv: string[], io: PlanIo): number {
  try {
    const options = parsePlanArgs(argv, io.root, io.cwd);
    const figures = loadFigures(options.figuresPath);
    checkChartPath(options.chartPath);
    // The raw stream keeps readings as long as the aws stack's rawStreamMaxAge says (24 h by default).
    const stackFile = join(io.root, `Pulumi.${STACK}.yaml`);
    const stackValues = step(`cannot read ${stackFile}`, () => readStackFile(stackFile));
    // The stack's keys as they are; the layout they make is planned anew, then validated whole.
    const stack = readAwsValues(stackValues);
    const streamAgeSeconds = stack.config.retention.rawStreamMaxAgeSeconds;
    const fleet = { ...options.fleet, streamAgeSeconds };
    const { workerType } = options;
    const current = plan(fleet, figures, workerType, stack.aws);
    io.out(source(figures, options.figuresPath));
    io.out(report(fleet, current));

    const keys = planKeys(fleet, current.sizing, current.aws);
    const checked = validateAwsValues(withPlan(stackValues, keys));
    io.out(
      `the ${STACK} stack's keys pass its validation` +
        (checked.missing.length ? ` (still to set yourself: ${checked.missing.join(', ')})` : ''),
    );
    if (checked.zoneWarning) io.out(`warning: ${checked.zoneWarning}`);

    const sizes = [...new Set([...fleetSizes(), fleet.meters])];
    const points = sizes.map((m) => chartPoints(fleet, figures, workerType, m));
    const title = `The aws stack against fleet size, a reading every ${fmt(fleet.intervalSeconds)} s`;
    const subtitle =
      `raw_data kept ${fleet.retentionDays} d, replication ${fleet.replication}, ${workerType} workers; ` +
      `bench ${figures.commit} on ${figures.machine.hostname}, ${figures.measuredAt}`;
    const marked = chartPoints(fleet, figures, workerType, fleet.meters);
    const limit = largestFleet(fleet, figures, workerType);
    io.out(
      `largest fleet the largest allowed cluster carries at this interval: ` +
        `${limit >= MAX_METERS ? 'over ' : ''}${fmt(limit)} meters`,
    );
    const chart = renderChart(points, marked, title, subtitle, limit);
    step(`--chart ${options.chartPath}`, () => writeFileSync(options.chartPath, chart));
    io.out(`chart: ${options.chartPath}`);

    const commands = configCommands(keys);
    if (options.printConfig || options.writeConfig) {
      io.out(`${options.writeConfig ? 'setting' : 'to deploy this plan'}:`);
      for (const argv of commands) io.out(`  pulumi ${argv.slice(2).join(' ')}`);
    }
    if (options.writeConfig) {
      for (const argv of commands) step(`${argv.slice(1).join(' ')}`, () => io.runner(argv, io.root));
      io.out(`Pulumi.${STACK}.yaml now holds the plan: pulumi up -s ${STACK}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.out(err.message);
      return 0;
    }
    if (err instanceof UsageError || err instanceof CapacityError || err instanceof ConfigError) {
      io.out(`npm run plan: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (require.main === module) {
  const root = repoRoot();
  process.exitCode = runPlan(process.argv.slice(2), {
    out: (line) => console.log(line),
    runner: spawnRunner,
    root,
    // npm runs scripts from the package's root; INIT_CWD is where the user typed the command.
    cwd: process.env.INIT_CWD ?? process.cwd(),
  });
}
