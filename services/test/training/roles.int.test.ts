// The train and predict roles as processes (node dist/main.js <role>; built by `npm test`'s pretest):
// train exits 1 with a clear error when there is too little data, and waits visibly in schedule mode;
// predict waits visibly (healthz reason, log, gauge) while no model exists, loads one announced on model.updated, answers, and exits 0
// on SIGTERM.
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';
import { NatsConnection } from 'nats';
import { sleep } from '../../src/lib/retry';
import { DEFAULT_SPEC } from '../../src/training/model';
import { simulatedObservations, writeObservations } from '../../harness/simulated-observations';
import { modelSubjects } from '../../src/training/subjects';
import { DEFAULT_TRAIN_SETTINGS, trainOnce } from '../../src/training/trainer';
import {
  backingEnv,
  freePort,
  freshKeyspace,
  natsConnect,
  quietLog as log,
  requireService,
  roleProcessEnv,
} from '../support/backing';

const env = backingEnv();
const id = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
const keyspace = `roles_${id}`;
const root = `roles${id}`;
const MAIN = join(__dirname, '../../dist/main.js');
let client: Client;
let nc: NatsConnection;
const children: ChildProcess[] = [];

interface Proc {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function start(role: string, extra: Record<string, string>): Proc {
  const child = spawn(process.execPath, [MAIN, role], {
    env: {
      ...roleProcessEnv(env, keyspace),
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

/** Waits (bounded) until a log line matches. */
async function logged(p: Proc, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const line = p.lines.find((l) => pattern.test(l));
    if (line) return line;
    await sleep(100);
  }
  throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms; got:\n${p.lines.join('\n')}`);
}

async function healthz(port: number): Promise<{ status: number; body: { reason: string } }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: (await res.json()) as { reason: string } };
}

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  await requireService('nats', env.natsUrl);
  client = await freshKeyspace(env, keyspace);
  nc = await natsConnect(env, 'training-test');
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await nc?.drain();
  await client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client?.shutdown();
}, 60_000);

test('train, once, with too little data exits 1 and says why', async () => {
  const p = start('train', { TRAIN_ONCE: 'true', METRICS_PORT: '0' });
  expect(await p.exited).toBe(1);
  const line = await logged(p, /too little data/);
  expect(JSON.parse(line).err.message).toBe(
    `too little data to train: 0 joined max_voltage ⋈ temperature rows in keyspace "${keyspace}", ` +
      'TRAIN_MIN_ROWS is 500 (run inject and stream longer)',
  );
  expect(p.lines.join('\n')).not.toContain(env.cassandraPassword);
}, 90_000);

test('train on a schedule waits visibly for data, and stops on SIGTERM', async () => {
  const port = await freePort();
  const p = start('train', { TRAIN_INTERVAL_S: '1', METRICS_PORT: String(port) });
  await logged(p, /waiting for data to train/);
  const h = await healthz(port);
  expect(h.body.reason).toBe('waiting for data: 0 of 500 rows');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(metrics).toMatch(/^smartmeter_training_waiting_for_data\{role="train"\} 1$/m);
  expect(metrics).toMatch(/^smartmeter_cassandra_nodes\{state="up",role="train"\} 1$/m);
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
}, 90_000);

test('predict waits visibly for a model, loads the one announced, answers, exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const p = start('predict', {
    PREDICT_SUBJECT_ROOT: root,
    PREDICT_MODEL_RETRY_S: '30',
    METRICS_PORT: String(port),
  });
  await logged(p, /waiting for a model/);
  const waiting = await healthz(port);
  expect(waiting.status).toBe(200);
  expect(waiting.body.reason).toMatch(/waiting for a model "overvoltage"/);
  const gauges = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(gauges).toMatch(/^smartmeter_predict_waiting_for_model\{role="predict"\} 1$/m);

  // Retry is every 30 s: the model comes through the announcement, not the retry.
  await writeObservations(
    client,
    keyspace,
    simulatedObservations({ startEpoch: Date.UTC(2024, 9, 1) / 1000, days: 6, rate: 50 }),
  );
  const outcome = await trainOnce(
    { client, nc, log },
    {
      ...DEFAULT_TRAIN_SETTINGS,
      keyspace,
      spec: { ...DEFAULT_SPEC, epochs: 10 },
      modelUpdatedSubject: modelSubjects(root).modelUpdated,
    },
  );
  expect(outcome.status).toBe('accepted');
  await logged(p, /serving predictions/);
  expect((await healthz(port)).status).toBe(200);
  const reply = await nc.request(
    `${root}.predict`,
    JSON.stringify({ epoch: 1_727_740_800, temperature: 4 }),
    {
      timeout: 10_000,
    },
  );
  expect(JSON.parse(new TextDecoder().decode(reply.data))).toMatchObject({
    modelVersion: 1,
    epoch: 1_727_740_800,
  });
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(metrics).toMatch(/^smartmeter_model_version\{role="predict"\} 1$/m);
  expect(metrics).toMatch(/^smartmeter_cassandra_nodes\{state="up",role="predict"\} 1$/m);
  expect(metrics).toMatch(
    /^smartmeter_predictions_total\{source="request",outcome="(alert|normal)",role="predict"\} 1$/m,
  );

  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
}, 120_000);

test('predict stops promptly on SIGTERM while waiting for a model', async () => {
  const p = start('predict', {
    PREDICT_SUBJECT_ROOT: `${root}x`,
    MODEL_NAME: 'never_trained',
    PREDICT_MODEL_RETRY_S: '600',
    METRICS_PORT: '0',
  });
  await logged(p, /waiting for a model .*never_trained/);
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
}, 60_000);
