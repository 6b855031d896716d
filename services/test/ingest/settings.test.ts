import { EnvReader } from '../../src/lib/config';
import { ingestSettings } from '../../src/ingest/settings';

test('defaults', () => {
  expect(ingestSettings(new EnvReader({}))).toEqual({
    stream: 'SMARTMETER_RAW',
    streamMaxAgeSeconds: 24 * 3600,
    streamMaxBytes: 4 * 1024 ** 3,
    streamReplicas: 1,
    streamDuplicateWindowSeconds: 120,
    consumer: 'ingest',
    subjectRoot: 'smartmeter',
    concurrency: 1024,
    batch: 512,
    ackWaitMs: 60_000,
    maxAckPending: 8192,
    drainTimeoutMs: 15_000,
    pollIntervalMs: 5_000,
  });
});

test.each([
  [{ INGEST_CONCURRENCY: '0' }, /INGEST_CONCURRENCY must be an integer >= 1/],
  [{ INGEST_BATCH: 'lots' }, /INGEST_BATCH must be an integer/],
  [{ INGEST_STREAM: 'a.b' }, /INGEST_STREAM must be a JetStream name/],
  [{ INGEST_CONSUMER: 'in gest' }, /INGEST_CONSUMER must be a JetStream name/],
  [{ INGEST_SUBJECT_ROOT: 'smart.meter' }, /INGEST_SUBJECT_ROOT must be one subject token/],
  [
    { INGEST_CONCURRENCY: '512', INGEST_MAX_ACK_PENDING: '100' },
    /INGEST_MAX_ACK_PENDING must be >= INGEST_CONCURRENCY \(512\)/,
  ],
  [{ INGEST_ACK_WAIT_MS: '1000' }, /INGEST_ACK_WAIT_MS must be an integer >= 5000/],
])('%j is rejected naming the variable', (env, message) => {
  expect(() => ingestSettings(new EnvReader(env))).toThrow(message);
});

test.each([
  [{ RAW_STREAM_MAX_AGE_S: '9223372037' }, /RAW_STREAM_MAX_AGE_S must be an integer >= 60 and <= 9223372036/],
  [
    { RAW_STREAM_MAX_BYTES: String(1024 ** 5 + 1) },
    /RAW_STREAM_MAX_BYTES must be an integer >= 1048576 and <= 1125899906842624/,
  ],
  [
    { RAW_STREAM_DUPLICATE_WINDOW_S: '86401' },
    /RAW_STREAM_DUPLICATE_WINDOW_S must be an integer >= 1 and <= 86400/,
  ],
  [
    { RAW_STREAM_MAX_AGE_S: '60', RAW_STREAM_DUPLICATE_WINDOW_S: '120' },
    /RAW_STREAM_DUPLICATE_WINDOW_S \(120\) must not be longer than RAW_STREAM_MAX_AGE_S \(60\)/,
  ],
])('the raw stream has upper bounds as the stack has (%j)', (env, message) => {
  expect(() => ingestSettings(new EnvReader(env))).toThrow(message);
});
