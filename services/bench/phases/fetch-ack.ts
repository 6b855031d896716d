// (a′) The raw JetStream loop: this process pulls a backlog as ingest does (same consumer settings, fetches
// of ingest's batch, messages to a callback) and acks each one, doing nothing else: with (b)'s driver loop,
// the floor of what ingest's two libraries cost per row.
import { ConsumeCallback, FetchMessages, JetStreamManager, NatsConnection } from 'nats';
import { ensureIngestConsumer } from '../../src/ingest/consumer';
import { FETCH_EXPIRES_MS } from '../../src/ingest/ingest';
import { ingestSettings } from '../../src/ingest/settings';
import { EnvReader } from '../../src/lib/config';
import { processCpuUs } from '../cpu';
import { now } from '../settings';

export interface FetchAckRun {
  rate: number;
  /** This process's CPU per message: pull, receive, ack. */
  rawUs: number;
  natsServerUs?: number;
}

/** Pulls stream sequences 1..count with ingest's consumer settings and pull shape, acking each at once. */
export async function rawFetchAck(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
  count: number,
  natsPid: number | undefined,
  timeoutS: number,
): Promise<FetchAckRun> {
  const settings = ingestSettings(new EnvReader(process.env)); // ingest's defaults, or the INGEST_* set
  await ensureIngestConsumer(jsm, { ...settings, stream, consumer: 'raw' });
  const consumer = await nc.jetstream().consumers.get(stream, 'raw');
  let acked = 0;
  const self0 = processCpuUs(process.pid);
  const nats0 = processCpuUs(natsPid);
  const t0 = now();
  while (acked < count) {
    if (now() - t0 > timeoutS) throw new Error(`(a′) ${acked} of ${count} acked in ${timeoutS} s`);
    const pull: FetchMessages & ConsumeCallback = {
      max_messages: Math.min(settings.batch, count - acked),
      expires: FETCH_EXPIRES_MS,
      callback: (msg) => {
        msg.ack();
        acked++;
      },
    };
    const err = await (await consumer.fetch(pull)).closed();
    if (err) throw err;
  }
  await nc.flush(); // the last acks are on the wire
  const seconds = now() - t0;
  const nats1 = processCpuUs(natsPid);
  return {
    rate: count / seconds,
    rawUs: ((processCpuUs(process.pid) ?? NaN) - (self0 ?? NaN)) / count,
    natsServerUs: nats0 !== undefined && nats1 !== undefined ? (nats1 - nats0) / count : undefined,
  };
}
