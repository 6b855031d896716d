// ingest as a process (`node services/dist/main.js ingest`, built by `npm test`'s pretest): killed with
// SIGKILL mid-run and restarted, every reading still becomes exactly one row; on SIGTERM it finishes and
// acknowledges its in-flight writes and exits 0.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';
import { NatsConnection } from 'nats';
import { ensureRawStream } from '../../src/lib/jetstream';
import { backingEnv, requireService, roleProcessEnv } from '../support/backing';
import {
  countRows,
  freshKeyspace,
  natsConnect,
  publishToStream,
  STREAM_MAX_BYTES,
  uniqueName,
  voltageMessage,
  pollUntil,
} from './support';

const MAIN = join(__dirname, '../../dist/main.js');
const env = backingEnv();
let cassandra: Client;
let nc: NatsConnection;
const children = new Set<ChildProcess>();

function startIngestProcess(keyspace: string, root: string): ChildProcess {
  const child = spawn(process.execPath, [MAIN, 'ingest'], {
    env: {
      ...roleProcessEnv(env, keyspace),
      INGEST_STREAM: root.toUpperCase(),
      RAW_STREAM_MAX_BYTES: String(STREAM_MAX_BYTES),
      INGEST_SUBJECT_ROOT: root,
      // Short, so the readings a killed process held are redelivered soon to its successor.
      INGEST_ACK_WAIT_MS: '5000',
      INGEST_CONCURRENCY: '128',
      INGEST_BATCH: '64',
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function consumerInfo(root: string) {
  const jsm = await nc.jetstreamManager();
  return jsm.consumers.info(root.toUpperCase(), 'ingest');
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build --workspace services\``);
  await requireService('nats', env.natsUrl);
  await requireService('cassandra', env.cassandraContactPoints[0]);
  nc = await natsConnect(env, 'ingest-process-test');
}, 60_000);

afterEach(async () => {
  for (const child of children) {
    child.kill('SIGKILL');
    await exited(child);
  }
});

afterAll(async () => {
  await nc?.drain();
});

async function scenario(signal: 'SIGKILL' | 'SIGTERM') {
  const keyspace = uniqueName('ingest_proc_');
  const root = uniqueName(`ingest_${signal.toLowerCase()}_`);
  cassandra = await freshKeyspace(env, keyspace);
  const n = 20_000;
  try {
    // A backlog first (the stream as ingest would create it), so the process is stopped mid-run.
    await ensureRawStream(await nc.jetstreamManager(), {
      name: root.toUpperCase(),
      subjects: [`${root}.raw.>`],
      maxBytes: STREAM_MAX_BYTES,
    });
    await publishToStream(
      nc,
      Array.from({ length: n }, (_, k) => voltageMessage(root, k)),
    );
    const first = startIngestProcess(keyspace, root);
    // Interrupt it mid-run: some rows written, most not yet.
    const before = await pollUntil(
      () => countRows(cassandra, keyspace),
      (c) => c >= 2000,
      120_000,
      200,
    );
    expect(before).toBeLessThan(n);
    first.kill(signal);
    const exit = await exited(first);
    if (signal === 'SIGTERM') {
      expect(exit).toEqual({ code: 0, signal: null });
      // Graceful: every message it had taken was written and acknowledged before it exited.
      const info = await consumerInfo(root);
      expect(info.num_ack_pending).toBe(0);
    } else {
      expect(exit.signal).toBe('SIGKILL');
    }

    startIngestProcess(keyspace, root);
    const info = await pollUntil(
      () => consumerInfo(root),
      (i) => i.num_pending === 0 && i.num_ack_pending === 0,
      180_000,
    );
    expect([info.num_pending, info.num_ack_pending]).toEqual([0, 0]);
    expect(await countRows(cassandra, keyspace)).toBe(n);
  } finally {
    await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await cassandra.shutdown();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(root.toUpperCase()).catch(() => undefined);
  }
}

test('SIGKILL mid-run, then restart: exactly N rows', () => scenario('SIGKILL'), 300_000);

test(
  'SIGTERM mid-run exits 0 with nothing left unacknowledged; after restart exactly N rows',
  () => scenario('SIGTERM'),
  300_000,
);
