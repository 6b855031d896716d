// The JetStream stream that stores every raw reading the injectors deliver (atomic batches with a
// Nats-Msg-Id per reading: simulator/delivery.ts), so that ingest and stream read durably and at least
// once. Created or updated idempotently by whichever role starts first.
import { DiscardPolicy, JetStreamManager, NatsError, RetentionPolicy, StorageType, StreamInfo } from 'nats';
import { SUBJECTS } from '../wire/subjects';
import { VARIABLES } from '../contract/variables';
import { ConfigError, EnvReader } from './config';

export const RAW_STREAM = VARIABLES.INGEST_STREAM.default;

/**
 * The raw stream's shape, read the same way by every role that may create or converge it (ingest,
 * stream), so that they never undo each other's settings:
 *   RAW_STREAM_MAX_AGE_S  how long a reading stays (default 24 h); older ones are discarded, stored or not
 *   RAW_STREAM_MAX_BYTES  disk budget; past it the oldest readings are discarded (default 4 GiB)
 *   JETSTREAM_REPLICAS    copies of the stream and of the roles' KV buckets on a NATS cluster (default 1)
 *   RAW_STREAM_DUPLICATE_WINDOW_S  how long the stream remembers a reading's Nats-Msg-Id, so that an
 *                         injector's resend of a batch whose answer was lost is not stored twice (default
 *                         120, the server's default); the server keeps every id of the window in memory
 */
export interface RawStreamSettings {
  maxAgeSeconds: number;
  maxBytes: number;
  replicas: number;
  duplicateWindowSeconds: number;
}

export const RAW_STREAM_DEFAULTS: RawStreamSettings = {
  maxAgeSeconds: VARIABLES.RAW_STREAM_MAX_AGE_S.default,
  maxBytes: VARIABLES.RAW_STREAM_MAX_BYTES.default,
  replicas: VARIABLES.JETSTREAM_REPLICAS.default,
  duplicateWindowSeconds: VARIABLES.RAW_STREAM_DUPLICATE_WINDOW_S.default,
};

export function rawStreamSettings(env: EnvReader): RawStreamSettings {
  const maxAgeSeconds = env.get('RAW_STREAM_MAX_AGE_S');
  const duplicateWindowSeconds = env.get('RAW_STREAM_DUPLICATE_WINDOW_S');
  // JetStream refuses the stream otherwise (the stack checks the same for its keys).
  if (duplicateWindowSeconds > maxAgeSeconds) {
    throw new ConfigError(
      `RAW_STREAM_DUPLICATE_WINDOW_S (${duplicateWindowSeconds}) must not be longer than RAW_STREAM_MAX_AGE_S ` +
        `(${maxAgeSeconds}): JetStream refuses a duplicate window longer than the stream's max age`,
    );
  }
  return {
    maxAgeSeconds,
    maxBytes: env.get('RAW_STREAM_MAX_BYTES'),
    replicas: env.get('JETSTREAM_REPLICAS'),
    duplicateWindowSeconds,
  };
}

export interface RawStreamOptions extends Partial<RawStreamSettings> {
  name?: string;
  subjects?: string[];
}

/** Creates the stream, or converges an existing one's limits and subjects to these (an update when they differ). */
export async function ensureRawStream(
  jsm: JetStreamManager,
  opts: RawStreamOptions = {},
): Promise<StreamInfo> {
  const config = {
    name: opts.name ?? RAW_STREAM,
    subjects: opts.subjects ?? [SUBJECTS.raw],
    storage: StorageType.File,
    // Limits, not work-queue: ingest and stream consume the same readings independently.
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: (opts.maxAgeSeconds ?? RAW_STREAM_DEFAULTS.maxAgeSeconds) * 1e9,
    max_bytes: opts.maxBytes ?? RAW_STREAM_DEFAULTS.maxBytes,
    num_replicas: opts.replicas ?? RAW_STREAM_DEFAULTS.replicas,
    duplicate_window: (opts.duplicateWindowSeconds ?? RAW_STREAM_DEFAULTS.duplicateWindowSeconds) * 1e9,
    // Injectors publish atomic batches, stored whole or not at all and synced once (NATS ≥ 2.12).
    allow_atomic: true,
  };
  let existing: StreamInfo;
  try {
    existing = await jsm.streams.info(config.name);
  } catch (err) {
    if (err instanceof NatsError && /stream not found/i.test(err.message)) return jsm.streams.add(config);
    throw err;
  }
  const current = existing.config as unknown as Record<string, unknown>;
  const differs = Object.entries(config).some(([k, v]) => JSON.stringify(current[k]) !== JSON.stringify(v));
  return differs ? jsm.streams.update(config.name, { ...existing.config, ...config }) : existing;
}
