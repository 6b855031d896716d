// npm run fuzz [-- --seed <n>] [--seconds <s>] [--only <pattern>]: every fuzz suite (*.fuzz.test.ts and
// *.fuzz.int.test.ts, the latter needing the backing services) with a seed (default: random, printed) and a
// time per property (default 60 s), instead of `npm test`'s fixed seed and 2 s. Exits non-zero on a failure.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const usage = 'usage: npm run fuzz -- [--seed <integer>] [--seconds <1..86400>] [--only <path pattern>]';
/** A refusal: one line, with the usage, and exit code 2. */
function refuse(message) {
  console.error(`npm run fuzz: ${message.split('\n')[0]} (${usage})`);
  process.exit(2);
}
let values;
try {
  ({ values } = parseArgs({
    options: { seed: { type: 'string' }, seconds: { type: 'string' }, only: { type: 'string' } },
  }));
} catch (err) {
  refuse(err.message);
}
const seed = values.seed ?? String(Math.floor(Math.random() * 2 ** 31));
const seconds = values.seconds ?? '60';
if (!/^-?\d+$/.test(seed) || !Number.isSafeInteger(Number(seed))) {
  refuse(`--seed must be an integer, got ${JSON.stringify(seed)}`);
}
if (!(Number(seconds) > 0 && Number(seconds) <= 86_400)) {
  refuse(`--seconds must be in (0, 86400], got ${JSON.stringify(seconds)}`);
}
const pattern = values.only ?? '\\.fuzz(\\.int)?\\.test\\.ts$';
try {
  new RegExp(pattern);
} catch (err) {
  refuse(`--only must be a regular expression: ${err.message}`);
}
console.log(`fuzz: seed ${seed}, ${seconds} s per property`);
const run = spawnSync('npx', ['jest', '--runInBand', '--testPathPatterns', pattern], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SEED: seed, FUZZ_SECONDS: seconds },
});
process.exit(run.status ?? 1);
