// `npm run plan -- --meters 2000000 --interval 15m [--retention 30d] [--replication 3]`: sizes a deployment
// for a fleet from the figures `npm run bench` saved, prints every number with the figure and headroom it
// came from, draws cost and node counts against fleet size, and with `--write-config aws` sets the plan as
// the aws stack's keys. README, "Plan a deployment (`npm run plan`)".
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { BenchFigures, readFigures } from '../services/bench/figures';
import { ConfigError } from '../components/config';
import type { AwsConfig } from '../components/platforms/aws/config';
import { AwsPlan, awsDiskBudget, planAws } from './aws';
import { PRICES } from './aws-prices';
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

/** Where `npm run bench` saves its figures (services/bench/figures.ts, defaultFiguresPath). */
export const figuresPath = (root: string) => join(root, 'services', 'dist', 'bench', 'last.json');

export class UsageError extends Error {
  override name = 'UsageError';
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function parseInterval(text: string): number {
  const m = /^([1-9][0-9]*)([smhd])$/.exec(text.trim());
  if (!m)
    throw new UsageError(`--interval must be a duration such as 30s, 15m or 1h, got ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT_SECONDS[m[2]];
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

function positive(name: string, text: string, integer: boolean): number {
  const n = Number(text.replace(/[_,]/g, ''));
  if (!(n > 0 && Number.isFinite(n)) || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`,
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

export function parsePlanArgs(argv: string[], root: string, cwd: string): PlanOptions {
  const { values } = parseArgs({
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
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.meters === undefined) throw new UsageError(`--meters is required\n${USAGE}`);
  if (values['write-config'] !== undefined && values['write-config'] !== STACK) {
    throw new UsageError(
      `--write-config takes the stack to write, only "${STACK}", got ${JSON.stringify(values['write-config'])}`,
    );
  }
  return {
    fleet: {
      meters: positive('meters', values.meters, true),
      intervalSeconds: parseInterval(values.interval),
      retentionDays: parseRetention(values.retention),
      replication: positive('replication', values.replication, true),
      peakFactor: positive('peak-factor', values['peak-factor'], false),
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

/** The most meters `plan` accepts with these settings (bisection: the plan grows with the fleet). */
export function largestFleet(fleet: Fleet, figures: BenchFigures, workerType: string): number {
  const fits = (meters: number) => chartPoints(fleet, figures, workerType, meters).plan !== undefined;
  if (!fits(1)) return 0;
  let [lo, hi] = [1, 2];
  while (fits(hi)) [lo, hi] = [hi, hi * 2];
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

/** The command; returns its exit code. Refusals print one clear message and return 1. */
export function runPlan(argv: string[], io: PlanIo): number {
  try {
    const options = parsePlanArgs(argv, io.root, io.cwd);
    const figures = readFigures(options.figuresPath);
    // The raw stream keeps readings as long as the aws stack's rawStreamMaxAge says (24 h by default).
    const stackFile = join(io.root, `Pulumi.${STACK}.yaml`);
    const stackValues = readStackFile(stackFile);
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
    io.out(`largest fleet the largest allowed cluster carries at this interval: ${fmt(limit)} meters`);
    writeFileSync(options.chartPath, renderChart(points, marked, title, subtitle, limit));
    io.out(`chart: ${options.chartPath}`);

    const commands = configCommands(keys);
    if (options.printConfig || options.writeConfig) {
      io.out(`${options.writeConfig ? 'setting' : 'to deploy this plan'}:`);
      for (const argv of commands) io.out(`  pulumi ${argv.slice(2).join(' ')}`);
    }
    if (options.writeConfig) {
      for (const argv of commands) io.runner(argv, io.root);
      io.out(`Pulumi.${STACK}.yaml now holds the plan: pulumi up -s ${STACK}`);
    }
    return 0;
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof CapacityError ||
      err instanceof ConfigError ||
      isFiguresError(err)
    ) {
      io.out(`npm run plan: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
}

const isFiguresError = (err: unknown) => err instanceof Error && /bench figures/.test(err.message);

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
