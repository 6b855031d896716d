// ingest's own settings, read from the environment and validated (the shared NATS_* and CASSANDRA_*
// variables are read by lib/nats.ts and lib/cassandra.ts).
import { ConfigError, EnvReader } from '../lib/config';
import { RAW_STREAM, rawStreamSettings } from '../lib/jetstream';

export interface IngestSettings {
  /** JetStream stream to read (created if missing). */
  stream: string;
  /** How long the stream keeps a reading when ingest creates or converges it (RAW_STREAM_MAX_AGE_S). */
  streamMaxAgeSeconds: number;
  /** Disk budget of the stream when ingest creates or converges it (RAW_STREAM_MAX_BYTES). */
  streamMaxBytes: number;
  /** Copies of the stream on a NATS cluster (JETSTREAM_REPLICAS). */
  streamReplicas: number;
  /** How long the stream drops a resent reading as a duplicate (RAW_STREAM_DUPLICATE_WINDOW_S). */
  streamDuplicateWindowSeconds?: number;
  /** Durable pull consumer shared by every ingest replica. */
  consumer: string;
  /** First token of every subject read and written: `<root>.raw.>` in, `<root>.deadletter.<reason>` out. */
  subjectRoot: string;
  /** Most messages being written at once by this replica (fetched but not yet acknowledged). */
  concurrency: number;
  /** Most messages asked for in one fetch. */
  batch: number;
  /** How long the server waits for an ack before redelivering; longer than a write with retries. */
  ackWaitMs: number;
  /** Unacknowledged messages the server lets out across all replicas. */
  maxAckPending: number;
  /** On SIGTERM, how long in-flight writes may keep retrying before their messages are handed back. */
  drainTimeoutMs: number;
  /** How often consumer lag and the current rate are refreshed. */
  pollIntervalMs: number;
}

const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+$/;
// JetStream stream and consumer names: no dots, wildcards or white space.
const JS_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function jsName(env: EnvReader, name: string, fallback: string): string {
  const value = env.string(name, fallback);
  if (!JS_NAME.test(value)) throw new ConfigError(`${name} must match ${JS_NAME}, got "${value}"`);
  return value;
}

export function ingestSettings(env: EnvReader): IngestSettings {
  const subjectRoot = env.string('INGEST_SUBJECT_ROOT', 'smartmeter');
  if (!SUBJECT_TOKEN.test(subjectRoot)) {
    throw new ConfigError(
      `INGEST_SUBJECT_ROOT must be one subject token (${SUBJECT_TOKEN}), got "${subjectRoot}"`,
    );
  }
  const rawStream = rawStreamSettings(env);
  const concurrency = env.integer('INGEST_CONCURRENCY', 1024, { min: 1, max: 4096 });
  return {
    stream: jsName(env, 'INGEST_STREAM', RAW_STREAM),
    streamMaxAgeSeconds: rawStream.maxAgeSeconds,
    streamMaxBytes: rawStream.maxBytes,
    streamReplicas: rawStream.replicas,
    streamDuplicateWindowSeconds: rawStream.duplicateWindowSeconds,
    consumer: jsName(env, 'INGEST_CONSUMER', 'ingest'),
    subjectRoot,
    concurrency,
    batch: env.integer('INGEST_BATCH', 512, { min: 1, max: 4096 }),
    ackWaitMs: env.integer('INGEST_ACK_WAIT_MS', 60_000, { min: 5_000 }),
    maxAckPending: env.integer('INGEST_MAX_ACK_PENDING', 8192, { min: concurrency }),
    drainTimeoutMs: env.integer('INGEST_DRAIN_TIMEOUT_MS', 15_000, { min: 0, max: 20_000 }),
    pollIntervalMs: env.integer('INGEST_POLL_INTERVAL_MS', 5_000, { min: 100 }),
  };
}
