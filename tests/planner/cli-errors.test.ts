// Regressions of issue 23: `npm run plan` printed a stack trace for a bad flag, file or path, and never
// finished for some huge --interval values. Every bad argument must give one line and exit code 1.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runPlan } from '../../planner/cli';
import { spawnRunner } from '../../planner/stack-config';
import { FIXTURE } from './support';

const REPO = join(__dirname, '..', '..');

function plan(...argv: string[]): { code: number; lines: string[] } {
  const lines: string[] = [];
  const cwd = mkdtempSync(join(tmpdir(), 'plan-err-'));
  const code = runPlan(argv, { out: (l) => lines.push(l), runner: spawnRunner, root: REPO, cwd });
  return { code, lines };
}

const oneLineRefusal = (run: { code: number; lines: string[] }, says: RegExp) => {
  expect(run.code).toBe(1);
  expect(run.lines).toHaveLength(1);
  expect(run.lines[0]).not.toContain('\n');
  expect(run.lines[0]).toMatch(/^npm run plan: /);
  expect(run.lines[0]).toMatch(says);
};

test('an unknown flag, or a flag without its value', () => {
  oneLineRefusal(plan('--meters', '10', '--nope'), /--nope/);
  oneLineRefusal(plan('--meters'), /--meters/);
  oneLineRefusal(plan('--meters', '10', 'extra'), /extra/);
});

test('figures that are a directory, not JSON, or a device', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plan-figs-'));
  oneLineRefusal(plan('--meters', '10', '--figures', dir), /bench figures/);
  const garbage = join(dir, 'garbage.json');
  writeFileSync(garbage, '{"version": ');
  oneLineRefusal(plan('--meters', '10', '--figures', garbage), /bench figures/);
  // A device is never read: /dev/zero would never end.
  oneLineRefusal(
    plan('--meters', '10', '--figures', '/dev/zero'),
    /--figures \/dev\/zero: not bench figures/,
  );
});

test('a chart path in a directory that does not exist', () => {
  oneLineRefusal(
    plan('--meters', '10', '--figures', FIXTURE, '--chart', '/nonexistent-dir/plan.svg'),
    /--chart/,
  );
});

test('a huge interval is refused at once rather than planned for ever', () => {
  oneLineRefusal(plan('--meters', '10', '--figures', FIXTURE, '--interval', '99999999999999d'), /--interval/);
  oneLineRefusal(plan('--meters', '1e300', '--figures', FIXTURE), /--meters/);
});
