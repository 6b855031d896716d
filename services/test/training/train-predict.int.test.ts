// train and predict against the real NATS and Cassandra: simulator rows in max_voltage/temperature →
// trainOnce → a model row and smartmeter.model.updated → the predictor answers requests and turns
// forecasts into predictions; bad input gets error replies or dead letters; a second version is swapped
// in while requests keep flowing, and none is lost. (Rows come from the simulator model directly here;
// pipeline.int.test.ts produces them with the real stream role.)
import { Client } from 'cassandra-driver';
import { NatsConnection, Subscription } from 'nats';
import { Registry } from 'prom-client';
import { encodeTemperature } from '../../src/wire/codec';
import { DEFAULT_SPEC } from '../../src/training/model';
import { PredictionMessage, Predictor, startPredictor } from '../../src/training/predictor';
import { latestModel } from '../../src/training/registry';
import { simulatedObservations, writeObservations } from '../../harness/simulated-observations';
import { modelSubjects } from '../../src/training/subjects';
import {
  DEFAULT_TRAIN_SETTINGS,
  TooLittleDataError,
  TrainMetrics,
  trainOnce,
  TrainSettings,
} from '../../src/training/trainer';
import { backingEnv, freshKeyspace, natsConnect, quietLog as log, requireService } from '../support/backing';

const env = backingEnv();
const id = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
const keyspace = `train_${id}`;
const subjects = modelSubjects(`tp${id}`);
const train: TrainSettings = {
  ...DEFAULT_TRAIN_SETTINGS,
  keyspace,
  minRows: 200,
  spec: { ...DEFAULT_SPEC, epochs: 30 },
  modelUpdatedSubject: subjects.modelUpdated,
};
const predictSettings = {
  keyspace,
  modelName: train.modelName,
  subjects,
  queueGroup: `q${id}`,
  modelRetryS: 0.2,
};
// Ten simulated days from 2024-03-15, 15-minute cycles: 960 rows.
const rows = simulatedObservations({ startEpoch: Date.UTC(2024, 2, 15) / 1000, days: 10, rate: 50 });

let client: Client;
let nc: NatsConnection;
const predictors: Predictor[] = [];
const subs: Subscription[] = [];

function decode<T>(data: Uint8Array): T {
  return JSON.parse(new TextDecoder().decode(data)) as T;
}

async function ask(body: unknown): Promise<PredictionMessage & { error?: string }> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return decode((await nc.request(subjects.predict, text, { timeout: 10_000 })).data);
}

/** Collects messages on a subject until `count` arrived (bounded by the test timeout). */
function collect(subject: string, count: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  return new Promise((resolve) => {
    const sub = nc.subscribe(subject, {
      callback: (_err, msg) => {
        got.push(msg.data);
        if (got.length === count) {
          sub.unsubscribe();
          resolve(got);
        }
      },
    });
    subs.push(sub);
  });
}

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  await requireService('nats', env.natsUrl);
  client = await freshKeyspace(env, keyspace);
  nc = await natsConnect(env, 'training-test');
}, 120_000);

afterAll(async () => {
  for (const p of predictors) await p.stop();
  for (const s of subs) s.unsubscribe();
  await nc?.drain();
  await client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client?.shutdown();
}, 60_000);

test('predict waits, visibly, while no model exists', async () => {
  const reasons: string[] = [];
  let waits = 0;
  const registry = new Registry();
  const p = await startPredictor(
    { nc, client, log, registry, aborted: () => waits >= 2, onWaiting: (r) => (waits++, reasons.push(r)) },
    predictSettings,
  );
  expect(p).toBeUndefined();
  expect(reasons[0]).toMatch(new RegExp(`waiting for a model "overvoltage" in ${keyspace}.models`));
  expect(await registry.getSingleMetricAsString('smartmeter_predict_waiting_for_model')).toMatch(/ 1$/m);
});

test('too little data is a clear error', async () => {
  await expect(trainOnce({ client, log }, train)).rejects.toThrow(TooLittleDataError);
  await expect(trainOnce({ client, log }, train)).rejects.toThrow(
    `too little data to train: 0 joined max_voltage ⋈ temperature rows in keyspace "${keyspace}", TRAIN_MIN_ROWS is 200`,
  );
});

test('rows → train → a model row, announced on model.updated', async () => {
  await writeObservations(client, keyspace, rows);
  const announced = collect(subjects.modelUpdated, 1);
  const registry = new Registry();
  const outcome = await trainOnce({ client, nc, log, metrics: new TrainMetrics(registry) }, train);
  expect(outcome).toMatchObject({ status: 'accepted', version: 1 });
  expect(decode((await announced)[0])).toEqual({ name: 'overvoltage', version: 1 });

  const stored = await latestModel(client, keyspace);
  expect(stored).toMatchObject({ name: 'overvoltage', version: 1, trainingRows: 768 });
  expect(stored!.weights.length).toBeGreaterThan(0);
  const m = stored!.metrics;
  expect(m).toMatchObject({ thresholdV: 116, trainRows: 768, totalRows: 960 });
  expect(m.heldOut.rows).toBe(192);
  expect(m.heldOut.fromEpoch).toBe(rows[768].epoch);
  for (const v of [m.heldOut.accuracy, m.baselineAccuracy, m.majorityRate]) expect(v).toBeGreaterThan(0);
  expect(await registry.getSingleMetricAsString('smartmeter_training_epochs_total')).toMatch(/ 30$/m);
  expect(await registry.getSingleMetricAsString('smartmeter_model_version')).toMatch(/ 1$/m);
}, 120_000);

test('predict answers requests and publishes a prediction for every forecast', async () => {
  const registry = new Registry();
  const p = await startPredictor({ nc, client, log, registry }, predictSettings);
  predictors.push(p!);
  expect(p!.version()).toBe(1);

  const reply = await ask({ epoch: rows[900].epoch, temperature: rows[900].temperature });
  expect(reply).toMatchObject({ epoch: rows[900].epoch, modelVersion: 1, thresholdV: 116 });
  expect(reply.probability).toBeGreaterThanOrEqual(0);
  expect(reply.probability).toBeLessThanOrEqual(1);
  expect(reply.alert).toBe(reply.class === 1);
  const band = reply.forecast.quantiles;
  expect(band['0.1']).toBeLessThanOrEqual(band['0.5']);
  expect(band['0.5']).toBeLessThanOrEqual(band['0.9']);

  const forecasts = rows.slice(800, 820);
  const published = collect(subjects.prediction, forecasts.length);
  for (const r of forecasts) nc.publish(subjects.forecast, encodeTemperature(r));
  const predictions = (await published).map((d) => decode<PredictionMessage>(d));
  expect(predictions.map((x) => x.epoch).sort()).toEqual(forecasts.map((r) => r.epoch).sort());
  for (const x of predictions) {
    expect(x).toMatchObject({ modelVersion: 1, thresholdV: 116 });
    expect(typeof x.probability).toBe('number');
    expect(x.forecast).toMatchObject({ horizonSteps: 12, quantiles: expect.any(Object) });
    expect(x.temperature).toBeCloseTo(forecasts.find((r) => r.epoch === x.epoch)!.temperature, 4);
  }
  const counted = await registry.getSingleMetricAsString('smartmeter_predictions_total');
  const forecastCount = [...counted.matchAll(/source="forecast"[^}]*} (\d+)/g)].reduce(
    (s, m) => s + Number(m[1]),
    0,
  );
  expect(forecastCount).toBe(20);
}, 60_000);

test('bad requests get an error reply that says what is wrong; a bad forecast is dead-lettered', async () => {
  expect((await ask('not json')).error).toMatch(/not valid JSON/);
  expect((await ask([1, 2])).error).toMatch(/expected a JSON object/);
  expect((await ask({ temperature: 3 })).error).toMatch(/"epoch" must be an integer .* got undefined/);
  expect((await ask({ epoch: '1700000000', temperature: 3 })).error).toMatch(/"epoch" .* got "1700000000"/);
  expect((await ask({ epoch: 1_700_000_000, temperature: 'warm' })).error).toMatch(
    /"temperature" must be a number/,
  );
  expect((await ask({ epoch: 1_700_000_000, temperature: 1e9 })).error).toMatch(/\[-100, 100\]/);

  const dead = collect(`${subjects.root}.deadletter.size`, 1);
  const bytes = new Uint8Array([1, 2, 3, 4, 5]);
  nc.publish(subjects.forecast, bytes);
  expect(Array.from((await dead)[0])).toEqual([1, 2, 3, 4, 5]);
  // Still serving after all that.
  expect((await ask({ epoch: rows[10].epoch, temperature: 1 })).modelVersion).toBe(1);
}, 60_000);

test('hot reload: a new version is served without losing a request; a worse model is rejected', async () => {
  // Requests flow continuously, 4 in flight, until replies carry version 2 (bounded: 20,000 requests).
  let stop = false;
  const versions: number[] = [];
  const failures: unknown[] = [];
  let sent = 0;
  const loop = async () => {
    while (!stop && sent < 20_000) {
      sent++;
      const r = rows[sent % rows.length];
      try {
        const reply = await ask({ epoch: r.epoch, temperature: r.temperature });
        versions.push(reply.modelVersion);
        if (reply.modelVersion === 2) stop = true;
      } catch (err) {
        failures.push(err);
      }
    }
  };
  const load = Promise.all([loop(), loop(), loop(), loop()]);
  // Same data and seed: exactly as good as version 1, so "no worse" accepts it.
  const outcome = await trainOnce({ client, nc, log }, train);
  expect(outcome).toMatchObject({ status: 'accepted', version: 2 });
  await load;
  expect(failures).toEqual([]);
  expect(versions).toHaveLength(sent);
  expect(versions).toContain(1);
  expect(versions).toContain(2);
  // Once version 2 answered, no later reply comes from version 1.
  expect(versions.slice(versions.indexOf(2)).every((v) => v === 2)).toBe(true);
  expect(predictors[0].version()).toBe(2);

  // An untrained network (learning rate 0) is worse on the same held-out rows: not saved, not announced.
  const worse = await trainOnce(
    { client, nc, log },
    { ...train, spec: { ...train.spec, epochs: 1, learningRate: 0 } },
  );
  expect(worse.status).toBe('rejected');
  expect((await latestModel(client, keyspace))!.version).toBe(2);
}, 180_000);
