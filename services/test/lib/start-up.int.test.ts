// A role started with a misspelt variable of a prefix it owns refuses to start and names it (the process,
// from services/dist, as a container runs it), before it reads anything else: a bad LOG_LEVEL beside it,
// the first value a role reads, would otherwise be what stops it (and without either it would run on).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const MAIN = join(__dirname, '../../dist/main.js');

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build --workspace services\``);
});

test.each([
  ['stream', 'STREAM_OUTAGE_INTERVAL', 'STREAM_OUTAGE_INTERVALS'],
  ['inject', 'INJECT_RATES', 'INJECT_RATE'],
])('%s refuses %s, suggesting %s', async (role, misspelt, meant) => {
  const child = spawn(process.execPath, [MAIN, role], {
    env: { PATH: process.env.PATH, [misspelt]: '5', LOG_LEVEL: 'loud', METRICS_PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(1);
  expect(JSON.parse(err.trim())).toMatchObject({
    level: 'error',
    role,
    msg: `unknown variable: ${misspelt} is not a variable of any role (did you mean ${meant}?)`,
  });
});
