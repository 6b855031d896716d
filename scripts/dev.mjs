#!/usr/bin/env node
// `npm run dev`: the whole pipeline on one machine, without Docker, on the project's Node.js 24 (the npm
// script puts scripts/install-node.sh's Node first on PATH; roles run on process.execPath). Installs what is missing
// (scripts/install-deps.sh), starts the backing services (scripts/backing-services.sh), builds the services, runs `migrate`, then one process per role with its
// log lines prefixed by the role's name; registers every role with Prometheus; Ctrl-C stops it all
// (SIGTERM to each role, which finishes its in-flight work; the backing services keep running —
// `npm run services:down` stops them).
//
//   DEV_ROLES=inject,ingest,stream,train,predict   roles to run (default: all)
//   INJECT_RATE, INJECT_OVERVOLTAGE_RATE, ...      passed through to the roles
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Settings come from the environment only: an argument is a mistake, not something to ignore.
if (process.argv.length > 2) {
  console.error(
    `npm run dev takes no arguments, got ${JSON.stringify(process.argv.slice(2).join(' '))}: ` +
      'set DEV_ROLES, INJECT_RATE, … in the environment instead',
  );
  process.exit(2);
}
const ALL_ROLES = ['inject', 'ingest', 'stream', 'train', 'predict'];
const roles = (process.env.DEV_ROLES ?? ALL_ROLES.join(',')).split(',').filter(Boolean);
const unknown = roles.filter((r) => !ALL_ROLES.includes(r));
if (unknown.length) {
  console.error(`DEV_ROLES: unknown role(s) ${unknown.join(', ')}; allowed: ${ALL_ROLES.join(', ')}`);
  process.exit(2);
}
const FIRST_PORT = 9464;
const COLORS = [36, 33, 35, 32, 34, 31];

function run(cmd, args, what, env = process.env) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (res.status !== 0) {
    console.error(`[dev] ${what} failed (exit ${res.status})`);
    process.exit(1);
  }
}

function backingEnv() {
  const out = spawnSync('bash', ['scripts/backing-services.sh', 'env'], { cwd: root, encoding: 'utf8' });
  const env = {};
  for (const line of out.stdout.split('\n')) {
    const m = /^export ([A-Z_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

function prefixLines(stream, label, color, sink) {
  createInterface({ input: stream }).on('line', (line) =>
    sink.write(`\x1b[${color}m${label}\x1b[0m ${line}\n`),
  );
}

/**
 * A role's own NATS user, with the permissions the stack gives it (components/tiers/nats-auth.ts), so that
 * development runs under the same least privilege. A server started before there were role users (its
 * backing.env has no NATS_<ROLE>_PASSWORD) leaves every role on the admin user, and says so.
 */
function natsLogin(role) {
  const password = backing[`NATS_${role.toUpperCase()}_PASSWORD`];
  if (password) return { NATS_USER: role, NATS_PASSWORD: password };
  console.log(`[dev] ${role}: NATS has no role users yet (npm run services:down, then again): admin user`);
  return {};
}

function startRole(role, env, index) {
  const label = role.padEnd(8);
  const child = spawn(process.execPath, ['services/dist/main.js', role], { cwd: root, env });
  prefixLines(child.stdout, label, COLORS[index % COLORS.length], process.stdout);
  prefixLines(child.stderr, label, COLORS[index % COLORS.length], process.stderr);
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ role, code, signal })),
  );
  return { role, child, exited };
}

run('bash', ['scripts/install-deps.sh'], 'installing system packages');
run('bash', ['scripts/backing-services.sh', 'up'], 'starting the backing services');
run('npm', ['run', '--silent', 'build', '--workspace', 'services'], 'building the services');
const backing = backingEnv();
// Each role gets its own NATS password only (natsLogin), not the others'.
const baseEnv = Object.fromEntries(
  Object.entries({ ...process.env, ...backing, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' }).filter(
    ([k]) => !/^NATS_[A-Z]+_PASSWORD$/.test(k),
  ),
);

console.log('[dev] migrate');
run(process.execPath, ['services/dist/main.js', 'migrate'], 'migrate', { ...baseEnv, METRICS_PORT: '0' });

const targetsFile = join(backing.PROMETHEUS_TARGETS_DIR, 'dev-roles.json');
mkdirSync(dirname(targetsFile), { recursive: true });
const procs = roles.map((role, i) =>
  startRole(
    role,
    {
      ...baseEnv,
      ...natsLogin(role),
      METRICS_PORT: String(FIRST_PORT + i),
      INJECT_SLOT: process.env.INJECT_SLOT ?? '1',
    },
    i,
  ),
);
writeFileSync(
  targetsFile,
  JSON.stringify(roles.map((role, i) => ({ targets: [`127.0.0.1:${FIRST_PORT + i}`], labels: { role } }))),
);

// The Prometheus built here (scripts/prometheus.sh) has no web UI (/graph and /query answer 500): its HTTP
// API, and promtool for a readable answer.
const EXAMPLE_QUERY = 'sum by (outcome) (rate(smartmeter_ingest_messages_total[1m]))';
const promtool = join(
  spawnSync('bash', ['scripts/prometheus.sh'], { cwd: root, encoding: 'utf8' }).stdout.trim(),
  'promtool',
);
console.log(`
[dev] running: ${roles.join(', ')}
[dev]   metrics:    ${roles.map((r, i) => `${r} http://127.0.0.1:${FIRST_PORT + i}/metrics`).join('  ')}
[dev]   Prometheus: no web UI in this build; the API: ${backing.PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(EXAMPLE_QUERY)}
[dev]               scrape targets: ${backing.PROMETHEUS_URL}/api/v1/targets?state=active
[dev]               readable: ${promtool} query instant ${backing.PROMETHEUS_URL} '${EXAMPLE_QUERY}'
[dev]   NATS:       ${backing.NATS_MONITOR_URL}/jsz?streams=true
[dev]   cqlsh:      eval "$(bash scripts/backing-services.sh env)"; ~/.cache/smartmeter/cqlsh-6.2.2/bin/cqlsh -u "$CASSANDRA_USERNAME" -p "$CASSANDRA_PASSWORD"
[dev] Ctrl-C stops the roles (the backing services keep running; npm run services:down stops them).
`);

let stopping = false;
async function stopAll(reason) {
  if (stopping) return;
  stopping = true;
  console.log(`[dev] ${reason}: stopping ${roles.join(', ')}`);
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
  const results = await Promise.all(procs.map((p) => p.exited));
  rmSync(targetsFile, { force: true });
  for (const r of results) console.log(`[dev] ${r.role} exited (${r.signal ?? `code ${r.code}`})`);
  process.exit(results.every((r) => r.code === 0) ? 0 : 1);
}
process.on('SIGINT', () => stopAll('Ctrl-C'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
for (const p of procs) {
  p.exited.then(({ role, code, signal }) => {
    if (!stopping) void stopAll(`${role} exited unexpectedly (${signal ?? `code ${code}`})`);
  });
}
