// ensureRawStream against the real NATS: creates the stream with the configured budgets, converges an existing
// stream's age and size limits when the stack keys change, and leaves a stream that already matches alone.
import { NatsConnection } from 'nats';
import { EnvReader } from '../../src/lib/config';
import { ensureRawStream, rawStreamSettings } from '../../src/lib/jetstream';
import { backingEnv, natsConnect, requireService, uniqueName } from '../support/backing';

const env = backingEnv();
const root = uniqueName('rawstream');
const name = root.toUpperCase();
let nc: NatsConnection;

beforeAll(async () => {
  await requireService('nats', env.natsUrl);
  nc = await natsConnect(env, 'jetstream-test');
});

afterAll(async () => {
  await (await nc.jetstreamManager()).streams.delete(name).catch(() => undefined);
  await nc.close();
});

test('RAW_STREAM_MAX_AGE_S, RAW_STREAM_MAX_BYTES and RAW_STREAM_DUPLICATE_WINDOW_S are read and validated', () => {
  expect(rawStreamSettings(new EnvReader({}))).toEqual({
    maxAgeSeconds: 86400,
    maxBytes: 4 * 1024 ** 3,
    replicas: 1,
    duplicateWindowSeconds: 120,
  });
  expect(
    rawStreamSettings(new EnvReader({ RAW_STREAM_DUPLICATE_WINDOW_S: '600' })).duplicateWindowSeconds,
  ).toBe(600);
  expect(() => rawStreamSettings(new EnvReader({ RAW_STREAM_DUPLICATE_WINDOW_S: '0' }))).toThrow(
    /RAW_STREAM_DUPLICATE_WINDOW_S must be an integer >= 1/,
  );
  expect(rawStreamSettings(new EnvReader({ RAW_STREAM_MAX_AGE_S: '3600' })).maxAgeSeconds).toBe(3600);
  expect(() => rawStreamSettings(new EnvReader({ RAW_STREAM_MAX_AGE_S: '10' }))).toThrow(
    /RAW_STREAM_MAX_AGE_S must be an integer >= 60/,
  );
});

test('creates the stream with its budgets, converges changed limits, and keeps a matching stream as it is', async () => {
  const jsm = await nc.jetstreamManager();
  const subjects = [`${root}.raw.>`];
  const created = await ensureRawStream(jsm, {
    name,
    subjects,
    maxAgeSeconds: 7200,
    maxBytes: 64 * 1024 ** 2,
  });
  expect([created.config.max_age, created.config.max_bytes]).toEqual([7200 * 1e9, 64 * 1024 ** 2]);
  // The injectors' atomic batches are allowed, and a resend is dropped within the duplicate window.
  expect(created.config).toMatchObject({ allow_atomic: true, duplicate_window: 120 * 1e9 });

  // A later deploy with other stack keys: the running stream takes the new limits, its messages stay.
  const js = nc.jetstream();
  await js.publish(`${root}.raw.voltage.data.1.1.1`, new Uint8Array(56));
  const updated = await ensureRawStream(jsm, {
    name,
    subjects,
    maxAgeSeconds: 3600,
    maxBytes: 32 * 1024 ** 2,
  });
  expect([updated.config.max_age, updated.config.max_bytes]).toEqual([3600 * 1e9, 32 * 1024 ** 2]);
  expect((await jsm.streams.info(name)).config).toMatchObject({
    max_age: 3600 * 1e9,
    max_bytes: 32 * 1024 ** 2,
  });
  expect(updated.state.messages).toBe(1);

  // The same settings again (every replica of ingest and stream at start): no update is made.
  const update = jest.spyOn(jsm.streams, 'update');
  const again = await ensureRawStream(jsm, { name, subjects, maxAgeSeconds: 3600, maxBytes: 32 * 1024 ** 2 });
  expect(update).not.toHaveBeenCalled();
  expect(again.config).toEqual(updated.config);
}, 30_000);

test('a stream made before atomic batches (and with another duplicate window) is converged to them', async () => {
  const jsm = await nc.jetstreamManager();
  const old = `${name}_OLD`;
  await jsm.streams.add({ name: old, subjects: [`${root}old.raw.>`], duplicate_window: 30 * 1e9 });
  const converged = await ensureRawStream(jsm, {
    name: old,
    subjects: [`${root}old.raw.>`],
    duplicateWindowSeconds: 600,
  });
  expect(converged.config).toMatchObject({ allow_atomic: true, duplicate_window: 600 * 1e9 });
  await jsm.streams.delete(old);
});
