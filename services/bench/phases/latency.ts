// (e) Latency from a reading handed to the injector's delivery to its row, at a fraction of (c)'s rate,
// one ingest replica. Ingest acknowledges a message only after Cassandra accepted its row, and acks are
// NATS messages on `$JS.ACK.<stream>.…<stream seq>…`: the bench subscribes to them, so it sees when each
// reading's row was written without polling Cassandra.
import { NatsConnection } from 'nats';
import { sleep } from '../../src/lib/retry';
import { underRoot } from '../../src/wire/subjects';
import { Bench } from '../context';
import { delivery, makeReadings, Reading } from '../readings';
import { startRole, stopAll } from '../roles';
import { now, STREAM_MAX_BYTES } from '../settings';
import { percentile } from '../stats';

/**
 * Delivers at `rate` as an injector does (acknowledged batches), recording when each reading was handed to
 * the delivery, by the stream sequence its acknowledgement names.
 */
async function publishAt(nc: NatsConnection, readings: Reading[], root: string, rate: number) {
  const sentAt = new Map<string, number>();
  const publishedAt = new Map<number, number>();
  const sink = delivery(nc, readings.length, {
    record: (ids, seqs) =>
      ids.forEach((readingId, k) => {
        const seq = seqs[k];
        if (seq !== undefined) publishedAt.set(seq, sentAt.get(readingId) ?? NaN);
      }),
  });
  const t0 = now();
  let i = 0;
  while (i < readings.length) {
    const due = Math.min(readings.length, Math.floor((now() - t0) * rate) + 1);
    for (; i < due; i++) {
      sentAt.set(readings[i].id, now());
      sink.send({
        subject: underRoot(root, readings[i].subject),
        payload: readings[i].data,
        id: readings[i].id,
      });
    }
    await sleep(1);
  }
  const left = await sink.drain(120_000);
  if (left) throw new Error(`(e) ${left} readings not acknowledged`);
  return { publishedAt, seconds: now() - t0 };
}

/** Stream sequence → time its ack (row written) was seen, from `$JS.ACK.<stream>.>`. */
function watchAcks(nc: NatsConnection, stream: string) {
  const ackedAt = new Map<number, number>();
  nc.subscribe(`$JS.ACK.${stream}.>`, {
    callback: (_err, msg) => {
      if (msg.data.length !== 4 || msg.data[1] !== 65) return; // "+ACK" only (not +WPI, -NAK, +TERM)
      const tokens = msg.subject.split('.');
      const seq = Number(tokens.length === 9 ? tokens[5] : tokens[7]);
      if (!ackedAt.has(seq)) ackedAt.set(seq, now());
    },
  });
  return ackedAt;
}

async function waitAcked(ackedAt: Map<number, number>, lastSeq: number, count: number, timeoutS: number) {
  const deadline = now() + timeoutS;
  while (!ackedAt.has(lastSeq) && now() < deadline) await sleep(100);
  // The last one may overtake an earlier one: wait until the count matches too.
  while (ackedAt.size < count && now() < deadline) await sleep(100);
}

/** `count` readings delivered at `rate`/s into a fresh stream, drained by one ingest replica. */
export async function latency(bench: Bench, count: number, rate: number) {
  const { root, stream } = await bench.freshRoot('e');
  const ingest = startRole('ingest', bench.env, root, {
    INGEST_STREAM: stream,
    INGEST_SUBJECT_ROOT: root,
    RAW_STREAM_MAX_BYTES: String(STREAM_MAX_BYTES),
  });
  bench.procs.push(ingest);
  const ackedAt = watchAcks(bench.nc, stream);
  await bench.nc.flush();
  const pub = await publishAt(bench.nc, makeReadings(bench.sim, count, 0), root, rate);
  await waitAcked(ackedAt, count, count, 120);
  await stopAll([ingest], 30);
  const latencies: number[] = [];
  for (const [seq, at] of pub.publishedAt) {
    const acked = ackedAt.get(seq);
    if (acked !== undefined) latencies.push((acked - at) * 1000);
  }
  if (latencies.length < count) bench.failures.push(`(e) ${count - latencies.length} rows not seen in 120 s`);
  latencies.sort((x, y) => x - y);
  return { seen: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
