// The stream job's settings, read from the environment and validated (the shared NATS_* and CASSANDRA_*
// variables are read by lib/nats.ts and lib/cassandra.ts). Variables are documented in roles/stream.ts.
import { hostname } from 'node:os';
import { ConfigError, EnvReader } from '../lib/config';
import { RAW_STREAM, rawStreamSettings } from '../lib/jetstream';
import { OutageRules } from './outages';
import { WindowRules } from './windows';

export interface StreamSettings extends WindowRules, OutageRules {
  /** JetStream stream holding the raw readings. */
  stream: string;
  /** How long the raw stream keeps a reading (RAW_STREAM_MAX_AGE_S, shared with ingest). */
  streamMaxAgeSeconds?: number;
  /** Disk budget of the raw stream when this role creates it (RAW_STREAM_MAX_BYTES, shared with ingest). */
  streamMaxBytes?: number;
  /** Copies of the raw stream and of the lease/checkpoint buckets on a NATS cluster (JETSTREAM_REPLICAS). */
  replicas?: number;
  /** How long the raw stream drops a resent reading as a duplicate (RAW_STREAM_DUPLICATE_WINDOW_S, shared with ingest). */
  streamDuplicateWindowSeconds?: number;
  /** JetStream stream of the outage events (`<root>.extract.outage.>`), which drops replayed ones by id. */
  outageStream: string;
  /** First token of every subject read and written: `<root>.raw.>` in, `<root>.extract.*` out. */
  subjectRoot: string;
  /** Prefix of the two KV buckets: `<prefix>-lease` (who is active) and `<prefix>-checkpoint`. */
  statePrefix: string;
  /** How often changed windows are written, published and checkpointed (real ms). */
  flushIntervalMs: number;
  /** Real ms without input after which every open window is written (the last epoch of a run). */
  idleTimeoutMs: number;
  /** How long the active instance's lease lasts without renewal (real ms); standbys take over after it. */
  leaseTtlMs: number;
  /** This instance's name in the lease. */
  instanceId: string;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

function token(env: EnvReader, name: string, fallback: string): string {
  const value = env.string(name, fallback);
  if (!TOKEN.test(value)) throw new ConfigError(`${name} must match ${TOKEN}, got "${value}"`);
  return value;
}

export const OUTAGE_STREAM = 'SMARTMETER_OUTAGES';

/** The KV buckets of the lease (who is active) and of the checkpoint. */
export const stateBuckets = (s: StreamSettings) => ({
  lease: `${s.statePrefix}-lease`,
  checkpoint: `${s.statePrefix}-checkpoint`,
});

/** Every JetStream stream the job creates or uses (a KV bucket is the stream KV_<bucket>), for clean-ups. */
export function jetStreamStreamsOf(s: StreamSettings): string[] {
  const { lease, checkpoint } = stateBuckets(s);
  return [s.stream, s.outageStream, `KV_${lease}`, `KV_${checkpoint}`];
}

function transformerShare(env: EnvReader): number {
  const share = env.number('STREAM_TRANSFORMER_OUTAGE_SHARE', 0.5, { min: 0, max: 1 });
  if (share === 0) throw new ConfigError('STREAM_TRANSFORMER_OUTAGE_SHARE must be > 0 and <= 1, got 0');
  return share;
}

export function streamSettings(env: EnvReader): StreamSettings {
  const rawStream = rawStreamSettings(env);
  return {
    stream: token(env, 'STREAM_RAW_STREAM', RAW_STREAM),
    streamMaxAgeSeconds: rawStream.maxAgeSeconds,
    streamMaxBytes: rawStream.maxBytes,
    replicas: rawStream.replicas,
    streamDuplicateWindowSeconds: rawStream.duplicateWindowSeconds,
    outageStream: token(env, 'STREAM_OUTAGE_STREAM', OUTAGE_STREAM),
    subjectRoot: token(env, 'STREAM_SUBJECT_ROOT', 'smartmeter'),
    statePrefix: token(env, 'STREAM_STATE_PREFIX', 'smartmeter-stream'),
    allowedLatenessS: env.integer('STREAM_ALLOWED_LATENESS_S', 900, { min: 0 }),
    // 4 simulated hours: 16 cycles at the default 15 simulated minutes (16 real s at 900×). At least one
    // simulated minute (the shortest cycle), at most a year; a larger jump needs two readings to agree.
    maxAheadS: env.integer('STREAM_MAX_AHEAD_S', 14_400, { min: 60, max: 366 * 86_400 }),
    flushIntervalMs: env.integer('STREAM_FLUSH_INTERVAL_MS', 1000, { min: 50, max: 60_000 }),
    idleTimeoutMs: env.integer('STREAM_IDLE_TIMEOUT_MS', 5000, { min: 100 }),
    leaseTtlMs: env.integer('STREAM_LEASE_TTL_MS', 10_000, { min: 1000, max: 120_000 }),
    instanceId: token(
      env,
      'STREAM_INSTANCE_ID',
      `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '_'),
    ),
    alertThresholdV: env.number('ALERT_THRESHOLD_V', 120, { min: 0 }),
    alertMinCount: env.integer('ALERT_MIN_COUNT', 2, { min: 1 }),
    alertWindowS: env.integer('ALERT_WINDOW_S', 0, { min: 0 }),
    outageIntervals: env.number('STREAM_OUTAGE_INTERVALS', 3, { min: 1, max: 1000 }),
    transformerOutageShare: transformerShare(env),
  };
}
