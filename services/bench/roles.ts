// Role processes for the bench: `node services/dist/main.js <role>` against the backing services,
// exactly as deployed (the role's own defaults unless the bench's caller sets its variables).
import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { BackingEnv, roleProcessEnv } from '../harness/backing';

/**
 * Extra node flags for the role processes: BENCH_PROFILE_DIR=/tmp/prof for --cpu-prof, and
 * BENCH_NODE_FLAGS (space-separated) for any other, e.g. `--require ./probe.js`.
 */
function nodeFlags(role: string): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const profile = dir
    ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${role}-${Date.now()}.cpuprofile`]
    : [];
  return [...profile, ...extra];
}

/** The variables a caller may set to measure another configuration than the defaults. */
function passThrough(prefix: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[0].startsWith(prefix) && e[1] !== undefined,
    ),
  );
}

export function startRole(
  role: 'ingest' | 'stream',
  env: BackingEnv,
  keyspace: string,
  vars: Record<string, string>,
): ChildProcess {
  // BENCH_MAIN: another build's main.js, to compare an ingest change against it on the same machine.
  const main = process.env.BENCH_MAIN ?? resolve(__dirname, '../src/main.js');
  return spawn(process.execPath, [...nodeFlags(role), main, role], {
    env: {
      ...roleProcessEnv(env, keyspace),
      ...passThrough(role === 'ingest' ? 'INGEST_' : 'STREAM_'),
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...vars,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** Exits once every process is gone; SIGKILL for any still running after `graceS`. */
export async function stopAll(procs: ChildProcess[], graceS: number): Promise<void> {
  const running = procs.filter((p) => p.exitCode === null && p.signalCode === null);
  const exits = running.map((p) => new Promise((res) => p.once('exit', res)));
  for (const p of running) p.kill('SIGTERM');
  const timer = setTimeout(() => running.forEach((p) => p.kill('SIGKILL')), graceS * 1000);
  await Promise.all(exits);
  clearTimeout(timer);
}

/** Sum of a counter's series in a Prometheus text exposition. */
export function counterSum(exposition: string, name: string): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.split(' ').pop());
  }
  return sum;
}
