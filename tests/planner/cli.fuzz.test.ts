// Fuzz (issue 23): for arbitrary `npm run plan` arguments (flags, values, figure files, chart paths), the
// planner answers (exit 0) or refuses with one line and exit 1, never throws, and each run ends within a
// bounded time. Commands `--write-config aws` would run are recorded, not run.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';

import { runPlan } from '../../planner/cli';
import { fuzz, fuzzTimeoutMs } from '../fuzz/support';
import { FIXTURE, fixture } from './support';

const REPO = join(__dirname, '..', '..');
/** Far above a plan's time on the 2-core test machine (well under a second): a run past it is unbounded work. */
const RUN_MS = 10_000;

const dir = mkdtempSync(join(tmpdir(), 'plan-fuzz-'));
mkdirSync(join(dir, 'a-directory'));
const files = {
  fixture: FIXTURE,
  truncated: join(dir, 'truncated.json'),
  zeroRates: join(dir, 'zero-rates.json'),
  notJson: join(dir, 'not.json'),
  directory: join(dir, 'a-directory'),
  missing: join(dir, 'missing.json'),
  device: '/dev/zero',
};
writeFileSync(files.truncated, JSON.stringify(fixture()).slice(0, 200));
writeFileSync(files.zeroRates, JSON.stringify({ ...fixture(), streamDrain: 0, injectorRate: -1 }));
writeFileSync(files.notJson, '\u0000\u00ff');

const anything = fc.string({ maxLength: 16 });
const number = fc.oneof(
  fc.integer({ min: -10, max: 50_000_000 }).map(String),
  fc.constantFrom('1e300', '1e9', '1000000001', 'Infinity', 'NaN', '0x10', '1_000', '', ' ', '-0', '2.5'),
  anything,
);
const duration = fc.oneof(
  fc
    .tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.constantFrom('s', 'm', 'h', 'd', 'w', ''))
    .map(([n, u]) => `${n}${u}`),
  anything,
);
const flag = fc.oneof(
  fc.tuple(fc.constant('--meters'), number),
  fc.tuple(fc.constant('--interval'), duration),
  fc.tuple(fc.constant('--retention'), duration),
  fc.tuple(fc.constant('--replication'), number),
  fc.tuple(fc.constant('--peak-factor'), number),
  fc.tuple(
    fc.constant('--worker-type'),
    fc.oneof(fc.constantFrom('t3.large', 'm5.2xlarge', 't3.nano'), anything),
  ),
  fc.tuple(fc.constant('--figures'), fc.constantFrom(...Object.values(files))),
  fc.tuple(
    fc.constant('--chart'),
    fc.constantFrom('plan.svg', 'a-directory', '/nonexistent-dir/plan.svg', ''),
  ),
  fc.tuple(fc.constant('--write-config'), fc.constantFrom('aws', 'local', '')),
  fc.constantFrom(['--print-config'], ['--help'], ['--meters'], ['--nope'], ['positional'], ['--'], ['-m']),
  fc.tuple(anything, anything),
);
// Mostly with the fixture figures and a fleet, so that the search and the chart run, not only refusals.
const argv = fc
  .tuple(fc.array(flag, { maxLength: 5 }), fc.boolean(), number)
  .map(([flags, usual, meters]) => [
    ...(usual ? ['--figures', FIXTURE, '--meters', meters] : []),
    ...flags.flat(),
  ]);

test(
  'any arguments: an answer, or one line and exit 1, within bounded time',
  async () => {
    await fuzz(
      'planner arguments',
      fc.property(argv, (args) => {
        const lines: string[] = [];
        const started = Date.now();
        const cwd = mkdtempSync(join(dir, 'run-'));
        mkdirSync(join(cwd, 'a-directory'));
        const code = runPlan(args, {
          out: (line) => lines.push(line),
          runner: () => undefined,
          root: REPO,
          cwd,
        });
        expect(Date.now() - started).toBeLessThan(RUN_MS);
        expect([0, 1]).toContain(code);
        if (code === 1) {
          expect(lines).toHaveLength(1);
          expect(lines[0]).toMatch(/^npm run plan: \S/);
          expect(lines[0]).not.toContain('\n');
        }
      }),
    );
  },
  fuzzTimeoutMs(1),
);
