// ingest's own settings, read from the environment and validated (the shared NATS_* and CASSANDRA_*
// variables are read by lib/nats.ts and lib/cassandra.ts).
import { ConfigError, EnvReader } from '../lib/config';
import { rawStreamSettings } from '../lib/jetstream';

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

export function ingestSettings(env: EnvReader): IngestSettings {
  const rawStream = rawStreamSettings(env);
  const concurrency = env.get('INGEST_CONCURRENCY');
  const maxAckPending = env.get('INGEST_MAX_ACK_PENDING');
  if (maxAckPending < concurrency) {
    throw new ConfigError(
      `INGEST_MAX_ACK_PENDING must be >= INGEST_CONCURRENCY (${concurrency}), got "${maxAckPending}"`,
    );
  }
  return {
    stream: env.get('INGEST_STREAM'),
    streamMaxAgeSeconds: rawStream.maxAgeSeconds,
    streamMaxBytes: rawStream.maxBytes,
    streamReplicas: rawStream.replicas,
    streamDuplicateWindowSeconds: rawStream.duplicateWindowSeconds,
    consumer: env.get('INGEST_CONSUMER'),
    subjectRoot: env.get('INGEST_SUBJECT_ROOT'),
    concurrency,
    batch: env.get('INGEST_BATCH'),
    ackWaitMs: env.get('INGEST_ACK_WAIT_MS'),
    maxAckPending,
    drainTimeoutMs: env.get('INGEST_DRAIN_TIMEOUT_MS'),
    pollIntervalMs: env.get('INGEST_POLL_INTERVAL_MS'),
  };
}
