// ingest: JetStream → Cassandra with no reading lost and none stored twice.
//
// A fetch loop takes at most `concurrency` unacknowledged messages at a time from the shared durable
// consumer. Each message is decoded and written with a prepared statement; it is acknowledged only once
// Cassandra accepted the write. A failed write is retried with backoff for as long as it takes (the
// message is kept alive with `working()` so the server does not redeliver it meanwhile); since every
// slot is then busy, fetching pauses by itself and the backlog waits in the stream. Writes are upserts
// keyed by the reading's identity, so a redelivery after a crash rewrites the same row.
// A malformed message is published to `<root>.deadletter.<reason>` with its original bytes and its
// subject in headers (lib/deadletter.ts), then terminated, so it is never redelivered.
import { Client } from 'cassandra-driver';
import { Consumer, ConsumerMessages, JsMsg, NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { publishDeadLetter } from '../lib/deadletter';
import { ensureRawStream } from '../lib/jetstream';
import { Logger } from '../lib/log';
import { backoffDelay, retryWithBackoff, sleep } from '../lib/retry';
import { decodeTemperature, decodeVoltage, parseVoltageSubject, WireError } from '../wire/codec';
import { SUBJECTS } from '../wire/subjects';
import { ensureIngestConsumer } from './consumer';
import { createIngestMetrics } from './metrics';
import { rawDataInsert, rawDataParams, temperatureInsert, temperatureParams } from './rows';
import { IngestSettings } from './settings';

// A fetch waits this long for messages before the loop asks again (the server's minimum is 1 s).
const FETCH_EXPIRES_MS = 1000;
// Shared, not rebuilt per write.
const EXECUTE_OPTIONS = { prepare: true } as const;
// Backoff between attempts of a failed write.
const RETRY = { initialMs: 100, maxMs: 2000 };

export interface IngestDeps {
  nc: NatsConnection;
  cassandra: Client;
  keyspace: string;
  log: Logger;
  registry: Registry;
}

export interface Ingest {
  /** Stops fetching, finishes (or, past the drain timeout, hands back) in-flight messages. */
  stop(): Promise<void>;
}

interface Write {
  query: string;
  params: number[];
}

/** What a message becomes: a write, nothing (forecasts are not stored raw), or a WireError thrown. */
function toWrite(
  subject: string,
  data: Uint8Array,
  root: string,
  queries: { raw: string; temperature: string },
): Write | undefined {
  const rawPrefix = `${root}.raw.`;
  if (!subject.startsWith(rawPrefix)) throw new WireError('subject', `not a raw subject: ${subject}`);
  // Map `<root>.raw.…` onto the canonical `smartmeter.raw.…` the codec knows.
  const canonical = `smartmeter.raw.${subject.slice(rawPrefix.length)}`;
  if (canonical.startsWith(SUBJECTS.voltagePrefix + '.')) {
    const meter = parseVoltageSubject(canonical);
    return { query: queries.raw, params: rawDataParams(meter, decodeVoltage(data)) };
  }
  if (canonical === SUBJECTS.temperature) {
    return { query: queries.temperature, params: temperatureParams(decodeTemperature(data)) };
  }
  if (canonical === SUBJECTS.forecast) {
    decodeTemperature(data); // validated, so a broken forecast is dead-lettered like any other message
    return undefined;
  }
  if (canonical === SUBJECTS.retire) return undefined; // an injector's retire notice, for the stream job
  throw new WireError('subject', `unknown raw subject: ${subject}`);
}

export async function startIngest(deps: IngestDeps, settings: IngestSettings): Promise<Ingest> {
  const { nc, cassandra, keyspace, log } = deps;
  const metrics = createIngestMetrics(deps.registry);
  const root = settings.subjectRoot;
  const queries = { raw: rawDataInsert(keyspace), temperature: temperatureInsert(keyspace) };

  const jsm = await nc.jetstreamManager();
  await ensureRawStream(jsm, {
    name: settings.stream,
    subjects: [`${root}.raw.>`],
    maxAgeSeconds: settings.streamMaxAgeSeconds,
    maxBytes: settings.streamMaxBytes,
    replicas: settings.streamReplicas,
  });
  await ensureIngestConsumer(jsm, settings);
  const consumer: Consumer = await nc.jetstream().consumers.get(settings.stream, settings.consumer);
  log.info('ingest consuming', { stream: settings.stream, consumer: settings.consumer });

  let stopping = false;
  let abortWrites = false;
  let inFlight = 0;
  let stored = 0;
  let slotFreed: () => void = () => undefined;
  const inFlightDone = new Set<Promise<void>>();

  let lastRetryLog = 0;
  let retriesSinceLog = 0;
  const onWriteRetry = (err: unknown, msg: JsMsg, lastWorking: { at: number }) => {
    metrics.retries.inc();
    retriesSinceLog++;
    const now = Date.now();
    if (now - lastWorking.at > settings.ackWaitMs / 3) {
      msg.working(); // restarts the server's ack_wait timer: still on it, do not redeliver
      lastWorking.at = now;
    }
    if (now - lastRetryLog > 5000) {
      log.warn('Cassandra writes failing; retrying with backoff', { retries: retriesSinceLog, err });
      lastRetryLog = now;
      retriesSinceLog = 0;
    }
  };

  // The first attempt is made directly: the retry loop and its closures are only built once a write
  // failed, since this runs once per reading on the hot path.
  async function store(write: Write, msg: JsMsg): Promise<boolean> {
    const end = metrics.writeSeconds.startTimer();
    try {
      await cassandra.execute(write.query, write.params, EXECUTE_OPTIONS);
      end();
      return true;
    } catch (err) {
      return retryStore(write, msg, err);
    }
  }

  async function retryStore(write: Write, msg: JsMsg, firstError: unknown): Promise<boolean> {
    const lastWorking = { at: Date.now() };
    if (abortWrites) return false;
    onWriteRetry(firstError, msg, lastWorking);
    await sleep(backoffDelay(1, RETRY.initialMs, RETRY.maxMs));
    try {
      await retryWithBackoff(
        async () => {
          const end = metrics.writeSeconds.startTimer();
          await cassandra.execute(write.query, write.params, EXECUTE_OPTIONS);
          end();
        },
        {
          ...RETRY,
          aborted: () => abortWrites,
          onRetry: (err) => onWriteRetry(err, msg, lastWorking),
        },
      );
      return true;
    } catch {
      return false; // only when aborted at shutdown
    }
  }

  function deadLetter(msg: JsMsg, err: WireError) {
    publishDeadLetter(nc, root, {
      reason: err.reason,
      subject: msg.subject,
      data: msg.data,
      error: err.message,
      role: 'ingest',
      streamSeq: msg.seq,
    });
    metrics.deadLetters.inc({ reason: err.reason });
    metrics.messages.inc({ outcome: 'deadlettered' });
    log.debug('dead-lettered', { subject: msg.subject, reason: err.reason, error: err.message });
    msg.term(); // published first on the same connection, so the server sees the dead letter before this
  }

  async function handle(msg: JsMsg): Promise<void> {
    if (msg.redelivered) metrics.redeliveries.inc();
    let write: Write | undefined;
    try {
      write = toWrite(msg.subject, msg.data, root, queries);
    } catch (err) {
      if (err instanceof WireError) return deadLetter(msg, err);
      throw err;
    }
    if (!write) {
      msg.ack();
      metrics.messages.inc({ outcome: 'ignored' });
      return;
    }
    if (await store(write, msg)) {
      msg.ack();
      stored++;
      metrics.messages.inc({ outcome: 'stored' });
    } else {
      msg.nak(); // shutting down with Cassandra unreachable: hand it to another replica now
    }
  }

  function start(msg: JsMsg) {
    inFlight++;
    metrics.inFlight.set(inFlight);
    const done = handle(msg)
      .catch((err) => {
        log.error('unexpected error handling a message; it will be redelivered', { err });
        msg.nak(1000);
      })
      .finally(() => {
        inFlight--;
        metrics.inFlight.set(inFlight);
        inFlightDone.delete(done);
        slotFreed();
      });
    inFlightDone.add(done);
  }

  // Fetch only what free slots can take, so nothing waits unprocessed in a client buffer while its
  // ack_wait runs; wait for a quarter of the slots to free up to keep fetches reasonably large.
  const minFetch = Math.max(1, Math.min(settings.batch, Math.ceil(settings.concurrency / 4)));
  let current: ConsumerMessages | undefined;
  async function fetchLoop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      const free = settings.concurrency - inFlight;
      if (free < minFetch) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        continue;
      }
      try {
        current = await consumer.fetch({
          max_messages: Math.min(settings.batch, free),
          expires: FETCH_EXPIRES_MS,
        });
        for await (const msg of current) start(msg);
        failures = 0;
      } catch (err) {
        failures++;
        log.warn('fetch failed; retrying', { err, failures });
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }
  const loopDone = fetchLoop();

  let lastStored = 0;
  let lastPoll = Date.now();
  const poll = setInterval(() => {
    const now = Date.now();
    metrics.rate.set(((stored - lastStored) * 1000) / Math.max(1, now - lastPoll));
    lastStored = stored;
    lastPoll = now;
    consumer.info().then(
      (info) => {
        metrics.pending.set(info.num_pending);
        metrics.ackPending.set(info.num_ack_pending);
      },
      (err) => log.debug('consumer info failed', { err }),
    );
  }, settings.pollIntervalMs);
  poll.unref();

  let stopPromise: Promise<void> | undefined;
  return {
    stop: () =>
      (stopPromise ??= (async () => {
        stopping = true;
        slotFreed();
        // The current fetch ends within FETCH_EXPIRES_MS and its messages are handled; should the server
        // never answer (connection lost), stop waiting for it: undelivered messages stay in the stream.
        const stuck = setTimeout(() => current?.stop(), FETCH_EXPIRES_MS + 5000);
        await loopDone;
        clearTimeout(stuck);
        clearInterval(poll);
        const timer = setTimeout(() => {
          if (inFlightDone.size) log.warn('drain timeout: handing back in-flight messages', { inFlight });
          abortWrites = true;
        }, settings.drainTimeoutMs);
        while (inFlightDone.size) await Promise.all([...inFlightDone]);
        clearTimeout(timer);
        log.info('ingest stopped', { stored });
      })()),
  };
}
