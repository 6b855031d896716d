// Every CLI of the project refuses a bad argument with one line on stderr and a non-zero exit, never a
// stack trace: the planner's real entry point, `npm run fuzz`, `npm run dev`, and the services' role.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { parseRoleArgs, ROLE_NAMES } from '../../services/src/role-args';

const ROOT = join(__dirname, '..', '..');
const HOOK = join(__dirname, 'register-ts.cjs');

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const oneLine = (text: string) => {
  expect(text.trimEnd().split('\n')).toHaveLength(1);
  expect(text).not.toMatch(/^\s+at /m);
};

test('npm run plan (its require.main path): one line on stdout and exit 1 for a bad flag', () => {
  const run = cli(['-r', HOOK, 'planner/cli.ts', '--meters', '10', '--nope']);
  expect(run.status).toBe(1);
  oneLine(run.stdout);
  expect(run.stdout).toMatch(/^npm run plan: Unknown option '--nope'/);
  expect(run.stderr).toBe('');
});

test.each([[['--nope']], [['--seed', 'x']], [['--seconds', '0']], [['--only', '(']], [['extra']]])(
  'npm run fuzz -- %j: one line and exit 2, before running anything',
  (args) => {
    const run = cli(['scripts/fuzz.mjs', ...args]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    oneLine(run.stderr);
    expect(run.stderr).toMatch(/^npm run fuzz: .*\(usage: npm run fuzz -- /);
  },
);

test('npm run dev takes no arguments: one line and exit 2, before starting anything', () => {
  const run = cli(['scripts/dev.mjs', '--roles', 'ingest']);
  expect(run.status).toBe(2);
  oneLine(run.stderr);
  expect(run.stderr).toMatch(/^npm run dev takes no arguments, got "--roles ingest"/);
});

test('the services take exactly one argument, one of the roles (not an inherited property name)', () => {
  for (const role of ROLE_NAMES) expect(parseRoleArgs([role])).toEqual({ role });
  for (const args of [[], ['ingest', 'extra'], ['constructor'], ['__proto__'], ['toString'], ['INGEST']]) {
    const parsed = parseRoleArgs(args);
    expect(parsed).toEqual({
      error: expect.stringMatching(/^usage: node dist\/main\.js <role>; role must be one of/),
    });
    expect('error' in parsed && parsed.error).not.toContain('\n');
  }
});
