// The machine and the backing services the bench runs on: reused or started, their processes' ids (for
// their CPU counters), their durability settings, and where the figures came from.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createCassandraClient } from '../src/lib/cassandra';
import { backingEnv, BackingEnv, cassandraSettingsFor, requireService } from '../harness/backing';
import { cassandraCommitLogSync, natsSync } from '../harness/durability';

export type Durability = 'synced' | 'relaxed';

export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'scripts/backing-services.sh'))) {
    if (dirname(dir) === dir) throw new Error('scripts/backing-services.sh not found above ' + __dirname);
    dir = dirname(dir);
  }
  return dir;
}

/** scripts/backing-services.sh with `args`, its output on ours. */
export function backingServices(args: string[], env: NodeJS.ProcessEnv = process.env): void {
  execFileSync('bash', [join(repoRoot(), 'scripts/backing-services.sh'), ...args], { stdio: 'inherit', env });
}

export async function backing(): Promise<BackingEnv> {
  try {
    const env = backingEnv();
    await requireService('nats', env.natsUrl);
    await requireService('cassandra', env.cassandraContactPoints[0]);
    console.log(`backing services: reusing ${env.stateDir}`);
    return env;
  } catch (err) {
    console.log(`backing services: ${(err as Error).message.split(';')[0]}; starting them`);
    backingServices(['up', 'nats', 'cassandra']);
    return backingEnv();
  }
}

/** The pid of a backing service, for its CPU counters (undefined when not readable). */
export function backingPid(env: BackingEnv, service: 'nats' | 'cassandra'): number | undefined {
  try {
    return Number(readFileSync(join(env.stateDir, service, 'pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** The backing NATS and Cassandra restarted with `mode` (scripts/backing-services.sh DURABILITY), read back. */
export async function setDurability(env: BackingEnv, mode: Durability): Promise<void> {
  backingServices(['stop', 'nats', 'cassandra']);
  backingServices(['up', 'nats', 'cassandra'], { ...process.env, DURABILITY: mode });
  const cql = createCassandraClient(cassandraSettingsFor(env, 'system'));
  try {
    await cql.connect();
    const [nats, cassandra] = [await natsSync(env.natsMonitorUrl), await cassandraCommitLogSync(cql)];
    const synced = nats.always && cassandra.mode === 'batch';
    const periodic = !nats.always && cassandra.mode === 'periodic';
    if (mode === 'synced' ? !synced : !periodic)
      throw new Error(`asked for ${mode} stores, got ${JSON.stringify({ nats, cassandra })}`);
    console.log(
      `  stores ${mode}: JetStream sync_always ${nats.always}, Cassandra commitlog_sync ${cassandra.mode}`,
    );
  } finally {
    await cql.shutdown();
  }
}

export const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

export function commit(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  try {
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain') ? '-dirty' : '');
  } catch {
    return 'unknown';
  }
}
