// The plan as the `aws` stack's keys: the values `--write-config aws` sets with `pulumi config set`, and the
// check that the stack file with them passes the program's own validation (components/config.ts and
// components/platforms/aws/config.ts), so that `pulumi up -s aws` deploys what was planned.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

import { loadConfig, NAMESPACE, StackConfig } from '../components/config';
import {
  AwsConfig,
  checkAwsResources,
  checkPublishedPorts,
  loadAwsConfig,
} from '../components/platforms/aws/config';
import { checkZoneLayout } from '../components/platforms/aws/zones';
import { type AwsPlan, rawStreamBudgetBytes } from './aws';
import type { Fleet, Sizing } from './sizing';

export const STACK = 'aws';

/** The stack keys (without the `smartmeter:` namespace) and their planned values, in the order set. */
export function planKeys(fleet: Fleet, sizing: Sizing, aws: AwsPlan): [string, string][] {
  const streamGiB = rawStreamBudgetBytes(sizing.jetstreamBytes.value) / 1024 ** 3;
  return [
    ['managers', String(aws.managers.value)],
    ['workers', String(aws.workers.value)],
    ['managerInstanceType', aws.managerType.name],
    ['workerInstanceType', aws.workerType.name],
    ['rootVolumeGiB', String(aws.rootVolumeGiB.value)],
    ['availabilityZones', String(aws.availabilityZones.value)],
    ['injectors', String(sizing.injectors.value)],
    ['injectRate', String(sizing.injectRate.value)],
    ['ingestReplicas', String(sizing.ingestReplicas.value)],
    ['natsNodes', String(sizing.natsNodes.value)],
    ['cassandraNodes', String(sizing.cassandraNodes.value)],
    ['cassandraReplicationFactor', String(fleet.replication)],
    ['rawRetentionDays', String(fleet.retentionDays)],
    ['rawStreamMaxBytes', `${streamGiB}GiB`],
  ];
}

/** `pulumi config set` through the project's launcher (scripts/pulumi.sh), one per key. */
export function configCommands(keys: [string, string][]): string[][] {
  return keys.map(([key, value]) => ['bash', 'scripts/pulumi.sh', 'config', 'set', key, value, '-s', STACK]);
}

/** How a command is run: the real one spawns it in the repository; tests pass their own. */
export type CommandRunner = (argv: string[], cwd: string) => void;

export const spawnRunner: CommandRunner = (argv, cwd) => {
  const result = spawnSync(argv[0], argv.slice(1), { cwd, stdio: 'inherit' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited with ${result.status}`);
};

/** The repository root: the nearest directory above `from` with the program's Pulumi.yaml. */
export function repoRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'Pulumi.yaml')) && existsSync(join(dir, 'components'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no Pulumi.yaml above ${from}`);
  }
}

/** The `smartmeter:*` values of a stack file (Pulumi.<stack>.yaml), without their namespace. */
export function readStackFile(path: string): Record<string, string> {
  const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as { config?: Record<string, unknown> };
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (key.startsWith(`${NAMESPACE}:`) && typeof value !== 'object') {
      values[key.slice(NAMESPACE.length + 1)] = String(value);
    }
  }
  return values;
}

/**
 * Placeholders for the two keys every aws stack must set itself (README, "Deploy to AWS"), so that the
 * planned values can be validated before they are: the planner never writes them.
 */
export const REQUIRED_PLACEHOLDERS: Record<string, string> = {
  allowedCidr: '203.0.113.7/32',
  sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlannerPlaceholderKeyNotWritten0000000 planner',
};

export interface Validated {
  readonly config: StackConfig;
  readonly aws: AwsConfig;
  /** The required keys the stack file does not set yet (validated with placeholders). */
  readonly missing: string[];
  /** Set when a zone holds a quorum and the stack accepts it (`allowZoneQuorumLoss`): what `up` warns. */
  readonly zoneWarning?: string;
}

/**
 * Every key read and checked on its own, not yet the layout they make together: what the planner reads
 * from a stack file before planning the layout anew.
 */
export function readAwsValues(values: Record<string, string>): Omit<Validated, 'zoneWarning'> {
  const missing = Object.keys(REQUIRED_PLACEHOLDERS).filter((k) => !values[k]?.trim());
  const source = (key: string) =>
    values[key] ?? (missing.includes(key) ? REQUIRED_PLACEHOLDERS[key] : undefined);
  const config = loadConfig(source);
  checkPublishedPorts(config.ports);
  const aws = loadAwsConfig(source);
  return { config, aws, missing };
}

/** Runs the program's validation on stack values, as `pulumi up -s aws` does before anything else. */
export function validateAwsValues(values: Record<string, string>): Validated {
  const read = readAwsValues(values);
  checkAwsResources(read.config, read.aws);
  return { ...read, zoneWarning: checkZoneLayout(read.config, read.aws) };
}

/** The stack file's values with the planned keys set over them. */
export function withPlan(values: Record<string, string>, keys: [string, string][]): Record<string, string> {
  return { ...values, ...Object.fromEntries(keys) };
}
