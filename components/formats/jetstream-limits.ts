// What JetStream (nats-server 2.15) accepts for the raw stream's limits, and the file store the program
// gives the server for them. The stream's max_age and duplicate_window are Go time.Durations in
// nanoseconds; the server refuses a duplicate window longer than the max age ("duplicates window can not
// be larger then max age", stream.go checkStreamCfg) and a stream whose max_bytes it cannot reserve from
// its max_file_store ("insufficient storage resources available", jetstream.go checkBytesLimits).

/** The longest max age or duplicate window a time.Duration holds, in whole seconds (~292 years): the
 * services' RAW_STREAM_MAX_AGE_S limit, declared with it. */
export { JETSTREAM_MAX_DURATION_SECONDS } from '../../services/src/contract/variables';

/**
 * File store beyond the raw stream's budget: the outage stream's own max_bytes (256 MiB,
 * services/src/streaming/job.ts OUTAGE_STREAM_LIMITS) and as much again for the roles' KV buckets
 * (lease, checkpoints: no reservation, but their bytes count against the store).
 */
export const JETSTREAM_OTHER_STORE_BYTES = 2 * 256 * 1024 ** 2;

/** The server's `max_file_store`: the raw stream's budget plus what the other streams and buckets hold. */
export function jetStreamFileStoreBytes(rawStreamMaxBytes: number): number {
  return rawStreamMaxBytes + JETSTREAM_OTHER_STORE_BYTES;
}
