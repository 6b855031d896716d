// Rows from the real pipeline: the inject publisher (simulator → core NATS) → a JetStream stream → the
// stream job → max_voltage and temperature in Cassandra → train → a model row → predict answers requests
// and turns the injector's forecasts into predictions. A short bounded run at high acceleration (10
// meters, 15-minute simulated cycles, 3 simulated days), each part started in-process with its own
// subjects, stream, buckets and keyspace.
import { Client } from 'cassandra-driver';
import { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { sleep } from '../../src/lib/retry';
import { createSimulator, topologyFromRate } from '../../src/simulator';
import { runInjector } from '../../src/simulator/publisher';
import { StreamJob } from '../../src/streaming/job';
import { createStreamMetrics } from '../../src/streaming/metrics';
import { loadObservations } from '../../src/training/dataset';
import { DEFAULT_SPEC } from '../../src/training/model';
import { PredictionMessage, Predictor, startPredictor } from '../../src/training/predictor';
import { latestModel } from '../../src/training/registry';
import { modelSubjects } from '../../src/training/subjects';
import { DEFAULT_TRAIN_SETTINGS, trainOnce } from '../../src/training/trainer';
import {
  backingEnv,
  freshKeyspace,
  natsConnect,
  quietLog as log,
  requireService,
  testDelivery,
} from '../support/backing';

const env = backingEnv();
const id = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
const keyspace = `pipe_${id}`;
const root = `pipe${id}`;
const subjects = modelSubjects(root);
const streamSettings = {
  stream: `PIPE_${id}`,
  // A small disk budget: JetStream reserves it, and the shared server's storage is shared by every test.
  streamMaxBytes: 64 * 1024 ** 2,
  subjectRoot: root,
  statePrefix: `pipe-${id}`,
  allowedLatenessS: 900,
  flushIntervalMs: 200,
  idleTimeoutMs: 500,
  leaseTtlMs: 3000,
  instanceId: 'pipeline-test',
  alertThresholdV: 120,
  alertMinCount: 2,
  alertWindowS: 0,
  maxAheadS: 14_400,
  outageStream: `${root.toUpperCase()}_OUTAGES`,
  outageIntervals: 3,
  transformerOutageShare: 0.5,
};
// 10 meters + temperature + forecast = 12 messages per cycle; at 2,400 msg/s a cycle lasts 5 ms of real
// time, which acceleration 180,000 makes 15 simulated minutes.
const sim = createSimulator({ seed: 3, topology: topologyFromRate(10) });
const PER_CYCLE = sim.meters.length + 2;
const CYCLES = 3 * 96;
const inject = (cycles: number, start: number) =>
  runInjector(testDelivery(nc), sim, {
    rate: 2400,
    acceleration: 180_000,
    start,
    maxReadings: cycles * PER_CYCLE,
    durationSeconds: 60,
    subjectRoot: root,
  });

let client: Client;
let nc: NatsConnection;
let job: StreamJob;
let predictor: Predictor | undefined;

async function count(table: string): Promise<number> {
  const rs = await client.execute(`SELECT count(*) AS n FROM ${keyspace}.${table}`);
  return Number(rs.first().n);
}

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  await requireService('nats', env.natsUrl);
  client = await freshKeyspace(env, keyspace);
  nc = await natsConnect(env, 'training-pipeline-test');
  job = new StreamJob(streamSettings, {
    nc,
    cassandra: client,
    keyspace,
    log,
    metrics: createStreamMetrics(new Registry()),
  });
  await job.start();
}, 120_000);

afterAll(async () => {
  await predictor?.stop();
  await job?.stop();
  const jsm = await nc.jetstreamManager();
  const { stream, outageStream } = streamSettings;
  for (const name of [stream, outageStream, `KV_pipe-${id}-lease`, `KV_pipe-${id}-checkpoint`]) {
    await jsm.streams.delete(name).catch(() => undefined);
  }
  await nc?.drain();
  await client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client?.shutdown();
}, 60_000);

test('inject → NATS → stream → Cassandra → train → a model row → predict', async () => {
  const stats = await inject(CYCLES, Math.floor(Date.now() / 1000));
  expect(stats.cycles).toBe(CYCLES);

  // The stream job writes one row per epoch to each table; wait (bounded) until all are there.
  const deadline = Date.now() + 90_000;
  while (
    Date.now() < deadline &&
    ((await count('max_voltage')) < CYCLES || (await count('temperature')) < CYCLES)
  ) {
    await sleep(500);
  }
  const rows = await loadObservations(client, keyspace);
  expect(rows).toHaveLength(CYCLES);
  // 15 simulated minutes apart, as the injector scheduled them.
  expect(rows[1].epoch - rows[0].epoch).toBeGreaterThanOrEqual(840);
  expect(rows[1].epoch - rows[0].epoch).toBeLessThanOrEqual(960);

  const outcome = await trainOnce(
    { client, nc, log },
    {
      ...DEFAULT_TRAIN_SETTINGS,
      keyspace,
      minRows: 200,
      spec: { ...DEFAULT_SPEC, epochs: 30 },
      modelUpdatedSubject: subjects.modelUpdated,
    },
  );
  expect(outcome.status).toBe('accepted');
  const stored = await latestModel(client, keyspace);
  expect(stored).toMatchObject({ version: 1, trainingRows: Math.round(CYCLES * 0.8) });
  expect(stored!.metrics.totalRows).toBe(CYCLES);

  predictor = await startPredictor(
    { nc, client, log, registry: new Registry() },
    { keyspace, modelName: 'overvoltage', subjects, queueGroup: `q${id}`, modelRetryS: 0.2 },
  );
  const reply = JSON.parse(
    new TextDecoder().decode(
      (
        await nc.request(
          subjects.predict,
          JSON.stringify({ epoch: rows[5].epoch, temperature: rows[5].temperature }),
          {
            timeout: 10_000,
          },
        )
      ).data,
    ),
  ) as PredictionMessage;
  expect(reply).toMatchObject({ epoch: rows[5].epoch, modelVersion: 1 });

  // The injector's own forecasts, one per cycle, each become a published prediction (at least once: predict
  // hears forecasts with core NATS, so a batch the injector sends again reaches it again).
  const predictions: PredictionMessage[] = [];
  const sub = nc.subscribe(subjects.prediction, {
    callback: (_e, msg) =>
      predictions.push(JSON.parse(new TextDecoder().decode(msg.data)) as PredictionMessage),
  });
  const more = await inject(10, Math.floor(Date.now() / 1000));
  await nc.flush();
  const until = Date.now() + 30_000;
  const epochs = () => new Set(predictions.map((p) => p.epoch)).size;
  while (epochs() < more.published.forecast && Date.now() < until) await sleep(100);
  sub.unsubscribe();
  expect(more.published.forecast).toBe(10);
  expect(epochs()).toBe(10);
  for (const p of predictions) {
    expect(p.modelVersion).toBe(1);
    expect(p.probability).toBeGreaterThanOrEqual(0);
    expect(p.probability).toBeLessThanOrEqual(1);
    expect(p.forecast.quantiles['0.1']).toBeLessThanOrEqual(p.forecast.quantiles['0.9']);
  }
}, 240_000);
