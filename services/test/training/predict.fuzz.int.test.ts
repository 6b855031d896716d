// predict survives every request and every forecast, against the real nats-server and Cassandra: any
// request gets a reply that fits max_payload, any forecast becomes a prediction or a dead letter, and the
// subscriptions keep answering. A forecast of max_payload bytes used to throw (its dead letter did not fit)
// inside nats.js's reader, which then stopped reading the connection; a request of quotes near
// max_payload got an error reply quoting it twice escaped, which respond() refused, with the same effect.
import fc from 'fast-check';
import { Client } from 'cassandra-driver';
import { Msg, NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { DEFAULT_SPEC } from '../../src/training/model';
import { PredictionMessage, Predictor, startPredictor } from '../../src/training/predictor';
import { simulatedObservations, writeObservations } from '../../harness/simulated-observations';
import { modelSubjects } from '../../src/training/subjects';
import { DEFAULT_TRAIN_SETTINGS, trainOnce } from '../../src/training/trainer';
import { encodeTemperature } from '../../src/wire/codec';
import { fuzz, fuzzTimeoutMs } from '../../../tests/fuzz/support';
import {
  backingEnv,
  freshKeyspace,
  natsConnect,
  quietLog as log,
  requireService,
  uniqueName,
} from '../support/backing';
import { rawPayload } from '../support/raw-input';

const env = backingEnv();
const keyspace = uniqueName('predictfz_');
const subjects = modelSubjects(uniqueName('pf'));
const EPOCH = Date.UTC(2024, 2, 20, 12) / 1000;

let client: Client;
let nc: NatsConnection;
let predictorNc: NatsConnection;
let predictor: Predictor;
const registry = new Registry();
const health: string[] = [];
const deadLetters: Msg[] = [];
let predictions = 0;

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  await requireService('nats', env.natsUrl);
  client = await freshKeyspace(env, keyspace);
  nc = await natsConnect(env, 'predict-fuzz');
  // Four simulated days and a few epochs of training: a model to serve, quickly.
  await writeObservations(
    client,
    keyspace,
    simulatedObservations({ startEpoch: Date.UTC(2024, 2, 15) / 1000, days: 4, rate: 50 }),
  );
  const outcome = await trainOnce(
    { client, log },
    { ...DEFAULT_TRAIN_SETTINGS, keyspace, minRows: 100, spec: { ...DEFAULT_SPEC, epochs: 3 } },
  );
  expect(outcome).toMatchObject({ status: 'accepted', version: 1 });
  nc.subscribe(`${subjects.root}.deadletter.>`, { callback: (_e, m) => deadLetters.push(m) });
  nc.subscribe(subjects.prediction, { callback: () => predictions++ });
  await nc.flush();
  predictorNc = await natsConnect(env, 'predict-fuzz-predictor');
  predictor = (await startPredictor(
    {
      nc: predictorNc,
      client,
      log,
      registry,
      setReady: (ready, reason) => health.push(`${ready} ${reason}`),
    },
    { keyspace, modelName: DEFAULT_TRAIN_SETTINGS.modelName, subjects, queueGroup: 'q', modelRetryS: 0.2 },
  ))!;
}, 180_000);

afterAll(async () => {
  await predictor?.stop();
  if (predictorNc && !predictorNc.isClosed()) await predictorNc.drain();
  await nc?.drain();
  await client?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client?.shutdown();
}, 60_000);

const maxPayload = () => nc.info!.max_payload;

/** The raw reply to a request, within 5 s. */
const request = async (body: Uint8Array | string) =>
  (await nc.request(subjects.predict, body, { timeout: 5_000 })).data;

async function waitForHealth(changes: number): Promise<void> {
  for (let i = 0; i < 100 && health.length < changes; i++) await new Promise((r) => setTimeout(r, 50));
}

async function stillServing(): Promise<void> {
  const reply = JSON.parse(
    new TextDecoder().decode(await request(JSON.stringify({ epoch: EPOCH, temperature: 12 }))),
  );
  expect((reply as PredictionMessage).modelVersion).toBe(1);
}

test('a forecast of max_payload bytes is dead-lettered cut to fit; predict keeps answering', async () => {
  const before = deadLetters.length;
  nc.publish(subjects.forecast, new Uint8Array(maxPayload()).fill(5));
  await stillServing();
  expect(deadLetters.length).toBe(before + 1);
  const letter = deadLetters[deadLetters.length - 1];
  expect(letter.subject).toBe(`${subjects.root}.deadletter.size`);
  expect(letter.headers?.get('Smartmeter-Truncated')).toBe(String(maxPayload()));
  expect(letter.headers?.get('Smartmeter-Role')).toBe('predict');
  // And forecasts are predicted as before.
  const p = predictions;
  nc.publish(subjects.forecast, encodeTemperature({ epoch: EPOCH, temperature: 20 }));
  await stillServing();
  expect(predictions).toBe(p + 1);
}, 30_000);

test('a request of max_payload bytes of quotes gets a short error reply; predict keeps answering', async () => {
  const body = `{"epoch":"${'\\"'.repeat((maxPayload() - 14) / 2)}"}`;
  expect(Buffer.byteLength(body)).toBeLessThanOrEqual(maxPayload());
  expect(Buffer.byteLength(body)).toBeGreaterThan(maxPayload() - 4);
  const reply = JSON.parse(new TextDecoder().decode(await request(body))) as { error: string };
  expect(reply.error).toMatch(
    /^"epoch" must be an integer number of seconds .* got ".{0,70}… \(\d+ characters\)$/,
  );
  await stillServing();
}, 30_000);

/** Request bodies: raw payloads, request-shaped JSON with any values, and long runs of awkward characters. */
const bodies = () =>
  fc.oneof(
    rawPayload(maxPayload()),
    fc
      .record(
        {
          epoch: fc.oneof(fc.jsonValue(), fc.maxSafeInteger()),
          temperature: fc.oneof(fc.jsonValue(), fc.double()),
        },
        { requiredKeys: [] },
      )
      .map((o) => new TextEncoder().encode(JSON.stringify(o))),
    fc
      .tuple(fc.constantFrom('"', '\\', 'é', '\u0001'), fc.nat(2 ** 19 - 64))
      .map(([c, n]) => new TextEncoder().encode(JSON.stringify({ epoch: 1, temperature: c.repeat(n) }))),
  );

test(
  'fuzz: any request gets a reply that fits max_payload, and the next request is answered',
  async () => {
    await fuzz(
      'predict requests',
      fc.asyncProperty(bodies(), async (body) => {
        fc.pre(body.byteLength <= maxPayload());
        const reply = await request(body);
        expect(reply.byteLength).toBeLessThanOrEqual(maxPayload());
        const parsed = JSON.parse(new TextDecoder().decode(reply)) as {
          error?: string;
          modelVersion?: number;
        };
        expect(parsed.error !== undefined || parsed.modelVersion === 1).toBe(true);
        await stillServing();
      }),
    );
    expect(health).toEqual([]);
  },
  fuzzTimeoutMs(1),
);

test(
  'fuzz: any forecast becomes a prediction or a dead letter, and requests are still answered',
  async () => {
    await fuzz(
      'predict forecasts',
      fc.asyncProperty(rawPayload(maxPayload()), async (data) => {
        const before = predictions + deadLetters.length;
        nc.publish(subjects.forecast, data);
        await stillServing(); // replied after the forecast was handled: its outcome arrived first
        expect(predictions + deadLetters.length).toBe(before + 1);
      }),
    );
    expect(health).toEqual([]);
    expect(
      (await registry.getSingleMetric('smartmeter_predict_deadletter_failures_total')!.get()).values[0].value,
    ).toBe(0);
  },
  fuzzTimeoutMs(1),
);

test('a predictor whose subscriptions close under it (its connection closed) says it stopped consuming', async () => {
  expect(health).toEqual([]);
  await predictorNc.close();
  await waitForHealth(2);
  expect(health).toEqual([
    expect.stringMatching(/^false stopped consuming: the forecasts subscription on .* closed$/),
    expect.stringMatching(/^false stopped consuming: the requests subscription on .* closed$/),
  ]);
  expect((await registry.getSingleMetric('smartmeter_consumer_stopped')!.get()).values[0].value).toBe(1);
  expect((await registry.getSingleMetric('smartmeter_consumer_failures_total')!.get()).values[0].value).toBe(
    2,
  );
}, 30_000);
