// Shared pieces of the ingest integration tests: a fresh keyspace and unique stream/subjects per test
// file (others use the same NATS and Cassandra), readings made with the codec, publishing through
// JetStream (so "accepted by the stream" is known exactly) and row counts by CQL.
import { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { sleep } from '../../src/lib/retry';
import { IngestSettings } from '../../src/ingest/settings';
import { encodeTemperature, encodeVoltage, voltageSubject } from '../../src/wire/codec';
import { underRoot } from '../../src/wire/subjects';

export { cassandraSettingsFor, freshKeyspace, natsConnect, quietLog, uniqueName } from '../support/backing';
export { countRows } from '../../harness/rows';

/** Test streams are small: the shared server's JetStream disk budget is shared by everyone. */
export const STREAM_MAX_BYTES = 64 * 1024 ** 2;

/** Settings for one test file: its own stream, consumer and subject root. */
export function testIngestSettings(root: string, overrides: Partial<IngestSettings> = {}): IngestSettings {
  return {
    stream: root.toUpperCase(),
    streamMaxAgeSeconds: 24 * 3600,
    streamMaxBytes: STREAM_MAX_BYTES,
    streamReplicas: 1,
    consumer: 'ingest',
    subjectRoot: root,
    concurrency: 128,
    batch: 64,
    ackWaitMs: 30_000,
    maxAckPending: 4096,
    drainTimeoutMs: 10_000,
    pollIntervalMs: 500,
    ...overrides,
  };
}

export interface RawMessage {
  subject: string;
  data: Uint8Array;
}

const BASE_EPOCH = Date.UTC(2024, 0, 1) / 1000;
const METERS = 100;

/** Reading k: meter k % 100 (lines 1..10), simulated minute k / 100 — every one a distinct raw_data row. */
export function voltageMessage(root: string, k: number): RawMessage {
  const m = k % METERS;
  const meter = { line: 1 + Math.floor(m / 10), transformer: m % 10, usagePoint: 1 + (k % 7) };
  return {
    subject: underRoot(root, voltageSubject(meter)),
    data: encodeVoltage({
      epoch: BASE_EPOCH + Math.floor(k / METERS) * 60,
      voltage: 110 + (k % 150) / 10,
      demand: (k % 40) / 10,
      values: Array.from({ length: 10 }, (_, i) => i + k / 1000),
    }),
  };
}

export function temperatureMessage(root: string, k: number, forecast = false): RawMessage {
  const kind = forecast ? 'forecast.12' : 'data';
  return {
    subject: `${root}.raw.temperature.${kind}`,
    data: encodeTemperature({ epoch: BASE_EPOCH + k * 900, temperature: 10 + (k % 20) }),
  };
}

/** Publishes through JetStream with a window of acks in flight; every one must be accepted. */
export async function publishToStream(nc: NatsConnection, messages: RawMessage[], window = 256) {
  const js = nc.jetstream();
  for (let i = 0; i < messages.length; i += window) {
    await Promise.all(messages.slice(i, i + window).map((m) => js.publish(m.subject, m.data)));
  }
}

/** Polls until `done()` or the deadline; returns the last value so the assertion shows it. */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await sleep(everyMs);
    value = await probe();
  }
  return value;
}

/** A counter's value by label set, read from a registry as Prometheus would. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, unknown> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
