// The stream job's settings, read from the environment and validated (the shared NATS_* and CASSANDRA_*
// variables are read by lib/nats.ts and lib/cassandra.ts). Variables are documented in roles/stream.ts.
import { hostname } from 'node:os';
import { VARIABLES } from '../contract/variables';
import { EnvReader } from '../lib/config';
import { rawStreamSettings } from '../lib/jetstream';
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

export const OUTAGE_STREAM = VARIABLES.STREAM_OUTAGE_STREAM.default;

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

export function streamSettings(env: EnvReader): StreamSettings {
  const rawStream = rawStreamSettings(env);
  return {
    stream: env.get('STREAM_RAW_STREAM'),
    streamMaxAgeSeconds: rawStream.maxAgeSeconds,
    streamMaxBytes: rawStream.maxBytes,
    replicas: rawStream.replicas,
    streamDuplicateWindowSeconds: rawStream.duplicateWindowSeconds,
    outageStream: env.get('STREAM_OUTAGE_STREAM'),
    subjectRoot: env.get('STREAM_SUBJECT_ROOT'),
    statePrefix: env.get('STREAM_STATE_PREFIX'),
    allowedLatenessS: env.get('STREAM_ALLOWED_LATENESS_S'),
    // 4 simulated hours: 16 cycles at the default 15 simulated minutes (16 real s at 900×). At least one
    // simulated minute (the shortest cycle), at most a year; a larger jump needs two readings to agree.
    maxAheadS: env.get('STREAM_MAX_AHEAD_S'),
    flushIntervalMs: env.get('STREAM_FLUSH_INTERVAL_MS'),
    idleTimeoutMs: env.get('STREAM_IDLE_TIMEOUT_MS'),
    leaseTtlMs: env.get('STREAM_LEASE_TTL_MS'),
    instanceId:
      env.get('STREAM_INSTANCE_ID') ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '_'),
    alertThresholdV: env.get('ALERT_THRESHOLD_V'),
    alertMinCount: env.get('ALERT_MIN_COUNT'),
    alertWindowS: env.get('ALERT_WINDOW_S'),
    outageIntervals: env.get('STREAM_OUTAGE_INTERVALS'),
    transformerOutageShare: env.get('STREAM_TRANSFORMER_OUTAGE_SHARE'),
  };
}
