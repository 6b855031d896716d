// The max-voltage band against the real Cassandra and NATS, on synthetic data whose noise is known
// (synthetic.ts: the profile plus uniform ±0.15 V, so the true 0.1–0.9 band is 0.24 V wide and holds
// 80 % of the outcomes): train stores a band that is ordered and calibrated on the held-out range and
// beats the seasonal naive, and predict publishes it with every forecast and answers it on request. A
// model stored by an older build (the label-trained MLP) is replaced by train, and predict waits meanwhile.
import { Client } from 'cassandra-driver';
import { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { deserializeModel } from '../../src/training/model';
import { PredictionMessage, Predictor, startPredictor } from '../../src/training/predictor';
import { inBand } from '../../src/training/quantiles';
import { latestModel, ModelMetrics, saveModel } from '../../src/training/registry';
import { writeObservations } from '../../harness/simulated-observations';
import { modelSubjects } from '../../src/training/subjects';
import { DEFAULT_TRAIN_SETTINGS, trainOnce, TrainSettings } from '../../src/training/trainer';
import { encodeTemperature } from '../../src/wire/codec';
import { backingEnv, freshKeyspace, natsConnect, quietLog as log, requireService } from '../support/backing';
import { syntheticObservations } from './synthetic';

const env = backingEnv();
const id = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
const keyspace = `band_${id}`;
const subjects = modelSubjects(`band${id}`);
const train: TrainSettings = {
  ...DEFAULT_TRAIN_SETTINGS,
  keyspace,
  minRows: 200,
  modelUpdatedSubject: subjects.modelUpdated,
};
// 28 days of 15-minute epochs: 2,688 rows, 538 held out, 430 of the training range calibrate the band.
const rows = syntheticObservations(28);
const heldOut = rows.slice(Math.round(rows.length * 0.8));

let client: Client;
let nc: NatsConnection;
let predictor: Predictor | undefined;

const ordered = (q: Record<string, number>) => q['0.1'] <= q['0.5'] && q['0.5'] <= q['0.9'];

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  await requireService('nats', env.natsUrl);
  client = await freshKeyspace(env, keyspace);
  nc = await natsConnect(env, 'band-test');
  await writeObservations(client, keyspace, rows);
}, 120_000);

afterAll(async () => {
  await predictor?.stop();
  await nc?.drain();
  await client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client?.shutdown();
}, 60_000);

test('train stores an ordered band that holds about 80 % of the held-out outcomes', async () => {
  const outcome = await trainOnce({ client, nc, log }, train);
  expect(outcome.status).toBe('accepted');
  const stored = (await latestModel(client, keyspace))!;
  const { band, comparable } = stored.metrics.forecast;
  expect(band.rows).toBe(heldOut.length);
  // Tolerance: were the band exactly the true one, the held-out share inside it would be a binomial
  // proportion with sd √(0.8·0.2/538) = 0.017, and the conformal correction, set on 430 rows, adds an
  // error of sd √(0.8·0.2/430) = 0.019: together sd 0.026, so ±3 sd is 0.72–0.88.
  expect(band.coverage).toBeGreaterThanOrEqual(0.72);
  expect(band.coverage).toBeLessThanOrEqual(0.88);
  // Better than the value a week earlier with the week-over-week changes' quantiles, on the same rows.
  expect(comparable!.model.rows).toBe(heldOut.length);
  expect(comparable!.model.pinball).toBeLessThan(comparable!.seasonalNaive.pinball);

  // The stored model reproduces the stored figure, and every band it gives is ordered.
  const model = await deserializeModel(stored.topology, stored.weights);
  try {
    const bands = model.forecast(heldOut);
    for (const [low, median, high] of bands) {
      expect(low).toBeLessThanOrEqual(median);
      expect(median).toBeLessThanOrEqual(high);
    }
    const inside = heldOut.filter((r, i) => inBand(r.voltage, bands[i])).length;
    expect(inside / heldOut.length).toBeCloseTo(band.coverage, 6);
  } finally {
    model.dispose();
  }
}, 180_000);

test('predict publishes the band with every forecast and answers it on request', async () => {
  const registry = new Registry();
  predictor = await startPredictor(
    { nc, client, log, registry },
    { keyspace, modelName: train.modelName, subjects, queueGroup: `q${id}`, modelRetryS: 0.2 },
  );
  const probe = heldOut[100];
  const reply = JSON.parse(
    new TextDecoder().decode(
      (
        await nc.request(
          subjects.predict,
          JSON.stringify({ epoch: probe.epoch, temperature: probe.temperature }),
          {
            timeout: 10_000,
          },
        )
      ).data,
    ),
  ) as PredictionMessage;
  expect(reply.forecast.horizonSteps).toBe(12);
  expect(Object.keys(reply.forecast.quantiles).sort()).toEqual(['0.1', '0.5', '0.9']);
  expect(ordered(reply.forecast.quantiles)).toBe(true);
  // The alert is the band's: median above the threshold.
  expect(reply.alert).toBe(reply.forecast.quantiles['0.5'] > reply.thresholdV);

  const forecasts = heldOut.slice(0, 10);
  const got: PredictionMessage[] = [];
  const done = new Promise<void>((resolve) => {
    const sub = nc.subscribe(subjects.prediction, {
      callback: (_err, msg) => {
        got.push(JSON.parse(new TextDecoder().decode(msg.data)) as PredictionMessage);
        if (got.length === forecasts.length) {
          sub.unsubscribe();
          resolve();
        }
      },
    });
  });
  await nc.flush();
  for (const r of forecasts) nc.publish(subjects.forecast, encodeTemperature(r));
  await done;
  for (const p of got) {
    expect(p.forecast.horizonSteps).toBe(12);
    expect(ordered(p.forecast.quantiles)).toBe(true);
    expect(p.forecast.quantiles['0.9'] - p.forecast.quantiles['0.1']).toBeGreaterThan(0);
  }
  const gauge = await registry.getSingleMetricAsString('smartmeter_predict_max_voltage_volts');
  expect(gauge.match(/quantile="0\.(1|5|9)"/g)).toHaveLength(3);
}, 60_000);

test('a model of the older format: predict waits for one it can load, train replaces it', async () => {
  const legacy = { ...train, modelName: 'legacy' };
  await saveModel(client, keyspace, {
    name: legacy.modelName,
    topology: JSON.stringify({ format: 'smartmeter-mlp/1', thresholdV: 116 }),
    weights: Buffer.from([0, 0, 0, 0]),
    metrics: { thresholdV: 116, totalRows: 100 } as ModelMetrics,
    trainingRows: 80,
  });
  const settings = {
    keyspace,
    modelName: legacy.modelName,
    subjects,
    queueGroup: `l${id}`,
    modelRetryS: 0.2,
  };
  const registry = new Registry();
  let waits = 0;
  const waiting = await startPredictor(
    { nc, client, log, registry, aborted: () => waits >= 2, onWaiting: () => waits++ },
    settings,
  );
  expect(waiting).toBeUndefined();
  expect(await registry.getSingleMetricAsString('smartmeter_model_reloads_total')).toMatch(
    /outcome="failed"} [1-9]/,
  );

  const outcome = await trainOnce({ client, nc, log }, legacy);
  expect(outcome).toMatchObject({ status: 'accepted', version: 2 });
  const serving = await startPredictor({ nc, client, log, registry: new Registry() }, settings);
  try {
    expect(serving!.version()).toBe(2);
  } finally {
    await serving?.stop();
  }
}, 180_000);
