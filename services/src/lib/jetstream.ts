// The JetStream stream that captures every raw reading published with core NATS, so that ingest and
// stream read durably and at least once. Created or updated idempotently by whichever role starts first.
import { DiscardPolicy, JetStreamManager, NatsError, RetentionPolicy, StorageType, StreamInfo } from 'nats';
import { SUBJECTS } from '../wire/subjects';
import { EnvReader } from './config';

export const RAW_STREAM = 'SMARTMETER_RAW';

/**
 * The raw stream's shape, read the same way by every role that may create or converge it (ingest,
 * stream), so that they never undo each other's settings:
 *   RAW_STREAM_MAX_BYTES  disk budget; past it the oldest readings are discarded (default 4 GiB)
 *   JETSTREAM_REPLICAS    copies of the stream and of the roles' KV buckets on a NATS cluster (default 1)
 */
export interface RawStreamSettings {
  maxBytes: number;
  replicas: number;
}

export function rawStreamSettings(env: EnvReader): RawStreamSettings {
  return {
    maxBytes: env.integer('RAW_STREAM_MAX_BYTES', 4 * 1024 ** 3, { min: 1024 ** 2 }),
    replicas: env.integer('JETSTREAM_REPLICAS', 1, { min: 1, max: 5 }),
  };
}

export interface RawStreamOptions {
  name?: string;
  subjects?: string[];
  /** How long readings stay in the stream after they are stored (default 24 h). */
  maxAgeSeconds?: number;
  /** Disk budget (default 4 GiB); past it the oldest readings are discarded. */
  maxBytes?: number;
  replicas?: number;
}

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
    max_age: (opts.maxAgeSeconds ?? 24 * 3600) * 1e9,
    max_bytes: opts.maxBytes ?? 4 * 1024 ** 3,
    num_replicas: opts.replicas ?? 1,
  };
  try {
    const existing = await jsm.streams.info(config.name);
    return await jsm.streams.update(config.name, { ...existing.config, ...config });
  } catch (err) {
    if (err instanceof NatsError && /stream not found/i.test(err.message)) return jsm.streams.add(config);
    throw err;
  }
}
