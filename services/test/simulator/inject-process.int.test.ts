// inject as a process (`node services/dist/main.js inject`, built by `npm test`'s pretest), as it runs in
// production: over a 3 s run a subscriber on the original subjects receives the configured rate within
// ±5 % (a count, not a timing), decodable and with no (meter, simulated minute) twice; a bounded run
// exits 0 after exactly its readings; SIGTERM stops it, flushes and drains, so every reading it counted
// as published reaches a subscriber, and it exits 0.
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect, NatsConnection } from 'nats';
import { decodeTemperature, decodeVoltage, parseVoltageSubject } from '../../src/wire/codec';
import { SUBJECTS } from '../../src/wire/subjects';
import { backingEnv, requireService, roleProcessEnv } from '../support/backing';

jest.setTimeout(60_000);

const MAIN = join(__dirname, '../../dist/main.js');
const env = backingEnv();
let nc: NatsConnection;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build --workspace services\``);
  await requireService('nats', env.natsUrl);
  nc = await connect({ servers: env.natsUrl, user: env.natsUser, pass: env.natsPassword });
});

afterAll(async () => {
  await nc?.drain();
});

interface Run {
  child: ChildProcess;
  received: () => number;
  /** Received messages by kind, and voltage readings that repeated a (meter, simulated minute). */
  kinds: Record<'voltage' | 'temperature' | 'forecast', number> & { duplicates: number };
  exit: Promise<number | null>;
  /** The injector's closing log line. */
  summary: () => { total: number; published: Record<string, number>; cycles: number } | undefined;
}

async function startInjector(root: string, extra: Record<string, string>, decode = false): Promise<Run> {
  let received = 0;
  const kinds = { voltage: 0, temperature: 0, forecast: 0, duplicates: 0 };
  const seen = new Set<string>();
  const sub = nc.subscribe(`${root}.raw.>`, {
    callback: (_err, msg) => {
      received++;
      const subject = 'smartmeter' + msg.subject.slice(root.length);
      if (subject === SUBJECTS.temperature) kinds.temperature++;
      else if (subject === SUBJECTS.forecast) kinds.forecast++;
      else kinds.voltage++;
      if (!decode) return;
      if (subject === SUBJECTS.temperature || subject === SUBJECTS.forecast) {
        decodeTemperature(msg.data);
        return;
      }
      const m = parseVoltageSubject(subject);
      const key = `${m.line}.${m.transformer}.${m.usagePoint}@${decodeVoltage(msg.data).epoch / 60}`;
      if (seen.has(key)) kinds.duplicates++;
      seen.add(key);
    },
  });
  await nc.flush();
  const child = spawn(process.execPath, [MAIN, 'inject'], {
    env: {
      ...roleProcessEnv(env),
      INJECT_SUBJECT_ROOT: root,
      METRICS_PORT: '0',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let summary: ReturnType<Run['summary']>;
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      if (line.msg === 'injection stopped') summary = line;
    }
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  exit.then(() => sub.unsubscribe()).catch(() => undefined);
  return { child, received: () => received, kinds, exit, summary: () => summary };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

// At 50,000/s the subscriber only counts, so that decoding does not slow the receiving side.
test.each([
  [1, true],
  [1000, true],
  [50_000, false],
])('at %i readings/s a 3 s run delivers the rate within ±5 %%', async (rate, decode) => {
  const run = await startInjector(
    `injrate-${randomUUID().slice(0, 8)}`,
    { INJECT_RATE: String(rate), INJECT_DURATION_S: '3', LOG_LEVEL: 'info' },
    decode,
  );
  expect(await run.exit).toBe(0);
  await nc.flush();
  const expected = rate * 3;
  process.stdout.write(
    `inject process at ${rate}/s for 3 s: ${run.received()} received, ${run.summary()?.total} published (expected ${expected})\n`,
  );
  expect(run.received()).toBeGreaterThanOrEqual(Math.floor(expected * 0.95));
  expect(run.received()).toBeLessThanOrEqual(Math.ceil(expected * 1.05));
  const summary = run.summary()!;
  expect(run.received()).toBe(summary.total); // nothing published was lost
  expect({ ...run.kinds, duplicates: undefined }).toEqual({ ...summary.published, duplicates: undefined });
  expect(run.kinds.duplicates).toBe(0);
  expect(run.kinds.temperature).toBe(summary.cycles);
  expect(run.kinds.forecast).toBe(summary.cycles);
});

test('a bounded run publishes exactly INJECT_MAX_READINGS and exits 0', async () => {
  const run = await startInjector(`injproc-${randomUUID().slice(0, 8)}`, {
    INJECT_RATE: '2000',
    INJECT_MAX_READINGS: '1500',
  });
  expect(await run.exit).toBe(0);
  await nc.flush();
  expect(run.received()).toBe(1500);
  expect(run.summary()?.total).toBe(1500);
});

test('SIGTERM stops, flushes and drains: everything published arrives, exit 0', async () => {
  const run = await startInjector(`injproc-${randomUUID().slice(0, 8)}`, { INJECT_RATE: '5000' });
  await until(() => run.received() >= 2000, 30_000);
  run.child.kill('SIGTERM');
  expect(await run.exit).toBe(0);
  await nc.flush();
  const summary = run.summary();
  expect(summary).toBeDefined();
  expect(summary!.total).toBeGreaterThanOrEqual(2000);
  expect(run.received()).toBe(summary!.total);
});

test('a bad setting stops the role with an error naming the variable', async () => {
  const child = spawn(process.execPath, [MAIN, 'inject'], {
    env: { PATH: process.env.PATH, INJECT_RATE: '-5', METRICS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(1);
  expect(out).toMatch(/INJECT_RATE must be a number >= 1/);
});
