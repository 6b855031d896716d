// inject as a process (`node services/dist/main.js inject`, built by `npm test`'s pretest): a bounded run
// exits 0 after exactly its readings; SIGTERM stops it, flushes and drains, so every reading it counted as
// published reaches a subscriber, and it exits 0.
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect, NatsConnection } from 'nats';
import { backingEnv, requireService } from '../support/backing';

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
  exit: Promise<number | null>;
  /** The injector's closing log line. */
  summary: () => { total: number; published: Record<string, number> } | undefined;
}

async function startInjector(root: string, extra: Record<string, string>): Promise<Run> {
  let received = 0;
  const sub = nc.subscribe(`${root}.raw.>`, { callback: () => received++ });
  await nc.flush();
  const child = spawn(process.execPath, [MAIN, 'inject'], {
    env: {
      PATH: process.env.PATH,
      NATS_URL: env.natsUrl,
      NATS_USER: env.natsUser,
      NATS_PASSWORD: env.natsPassword,
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
  return { child, received: () => received, exit, summary: () => summary };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

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
