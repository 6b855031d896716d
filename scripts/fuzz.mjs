// npm run fuzz [-- --seed <n>] [--seconds <s>] [--only <pattern>]: every fuzz suite (*.fuzz.test.ts and
// *.fuzz.int.test.ts, the latter needing the backing services) with a seed (default: random, printed) and a
// time per property (default 60 s), instead of `npm test`'s fixed seed and 2 s. Exits non-zero on a failure.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const usage = 'usage: npm run fuzz -- [--seed <integer>] [--seconds <1..86400>] [--only <path pattern>]';
let values;
try {
  ({ values } = parseArgs({
    options: { seed: { type: 'string' }, seconds: { type: 'string' }, only: { type: 'string' } },
  }));
} catch (err) {
  console.error(`${err.message}\n${usage}`);
  process.exit(2);
}
const seed = values.seed ?? String(Math.floor(Math.random() * 2 ** 31));
const seconds = values.seconds ?? '60';
if (!/^-?\d+$/.test(seed) || !Number.isSafeInteger(Number(seed))) {
  console.error(`--seed must be an integer, got "${seed}"\n${usage}`);
  process.exit(2);
}
if (!(Number(seconds) > 0 && Number(seconds) <= 86_400)) {
  console.error(`--seconds must be in (0, 86400], got "${seconds}"\n${usage}`);
  process.exit(2);
}
console.log(`fuzz: seed ${seed}, ${seconds} s per property`);
const pattern = values.only ?? '\\.fuzz(\\.int)?\\.test\\.ts$';
const run = spawnSync('npx', ['jest', '--runInBand', '--testPathPatterns', pattern], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SEED: seed, FUZZ_SECONDS: seconds },
});
process.exit(run.status ?? 1);
