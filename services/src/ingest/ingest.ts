// ingest: JetStream → Cassandra with no reading lost and none stored twice.
//
// A fetch loop takes at most `concurrency` unacknowledged messages at a time from the shared durable
// consumer. Each message is decoded and written with a prepared statement; it is acknowledged only once
// Cassandra accepted the write. A failed write is retried with backoff for as long as it takes (the
// message is kept alive with `working()` so the server does not redeliver it meanwhile); since every
// slot is then busy, fetching pauses by itself and the backlog waits in the stream. Writes are upserts
// keyed by the reading's identity, so a redelivery after a crash rewrites the same row.
// A malformed message is published to `<root>.deadletter.<reason>` with its original bytes and its
// subject in headers (lib/deadletter.ts), then terminated, so it is never redelivered: terminated even when
// its dead letter could not be published, and no error in handling a message ever keeps its slot.
import { Client } from 'cassandra-driver';
import { ConsumeCallback, Consumer, ConsumerMessages, FetchMessages, JsMsg, NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { ConsumeHealth, SetReady } from '../lib/consuming';
import { DeadLetters } from '../lib/deadletter';
import { ensureRawStream } from '../lib/jetstream';
import { Logger } from '../lib/log';
import { backoffDelay, retryWithBackoff, sleep } from '../lib/retry';
import { decodeTemperature, decodeVoltage, parseVoltageSubject, WireError } from '../wire/codec';
import { SUBJECTS, underRoot } from '../wire/subjects';
import { ensureIngestConsumer, redelivered } from './consumer';
import { createIngestMetrics, IngestTally } from './metrics';
import { rawDataInsert, rawDataParams, temperatureInsert, temperatureParams } from './rows';
import { IngestSettings } from './settings';

// A fetch waits this long for messages before the loop asks again (the server's minimum is 1 s).
export const FETCH_EXPIRES_MS = 1000;
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
  /** Marks the role not ready (/healthz) should it stop consuming. */
  setReady?: SetReady;
}

export interface Ingest {
  /** Stops fetching, finishes (or, past the drain timeout, hands back) in-flight messages. */
  stop(): Promise<void>;
}

interface Write {
  query: string;
  params: number[];
}

/** The subjects ingest reads under its root, built once. */
function rawSubjects(root: string) {
  return {
    raw: `${root}.raw.`,
    voltage: underRoot(root, SUBJECTS.voltagePrefix),
    temperature: underRoot(root, SUBJECTS.temperature),
    forecast: underRoot(root, SUBJECTS.forecast),
    retire: underRoot(root, SUBJECTS.retire),
  };
}

/** What a message becomes: a write, nothing (forecasts are not stored raw), or a WireError thrown. */
function toWrite(
  subject: string,
  data: Uint8Array,
  subjects: ReturnType<typeof rawSubjects>,
  queries: { raw: string; temperature: string },
): Write | undefined {
  if (subject.startsWith(subjects.voltage)) {
    const meter = parseVoltageSubject(subject, subjects.voltage);
    return { query: queries.raw, params: rawDataParams(meter, decodeVoltage(data)) };
  }
  if (subject === subjects.temperature) {
    return { query: queries.temperature, params: temperatureParams(decodeTemperature(data)) };
  }
  if (subject === subjects.forecast) {
    decodeTemperature(data); // validated, so a broken forecast is dead-lettered like any other message
    return undefined;
  }
  if (subject === subjects.retire) return undefined; // an injector's retire notice, for the stream job
  const what = subject.startsWith(subjects.raw) ? 'unknown raw subject' : 'not a raw subject';
  throw new WireError('subject', `${what}: ${subject}`);
}

export async function startIngest(deps: IngestDeps, settings: IngestSettings): Promise<Ingest> {
  const { nc, cassandra, keyspace, log } = deps;
  // Counted as plain numbers on the hot path; the metrics read them when scraped.
  const tally: IngestTally = { stored: 0, ignored: 0, inFlight: 0 };
  const metrics = createIngestMetrics(deps.registry, tally);
  const root = settings.subjectRoot;
  const subjects = rawSubjects(root);
  const queries = { raw: rawDataInsert(keyspace), temperature: temperatureInsert(keyspace) };
  const deadLetters = new DeadLetters(nc, root, 'ingest', log, metrics.deadLetterFailures);
  const health = new ConsumeHealth(metrics.consumer, log, deps.setReady);

  const jsm = await nc.jetstreamManager();
  await ensureRawStream(jsm, {
    name: settings.stream,
    subjects: [`${root}.raw.>`],
    maxAgeSeconds: settings.streamMaxAgeSeconds,
    maxBytes: settings.streamMaxBytes,
    replicas: settings.streamReplicas,
    duplicateWindowSeconds: settings.streamDuplicateWindowSeconds,
  });
  await ensureIngestConsumer(jsm, settings);
  const consumer: Consumer = await nc.jetstream().consumers.get(settings.stream, settings.consumer);
  log.info('ingest consuming', { stream: settings.stream, consumer: settings.consumer });

  let stopping = false;
  let abortWrites = false;
  // Set while someone waits: the fetch loop for free slots, stop() for the last in-flight message.
  let slotsFreed: (() => void) | undefined;
  let idle: (() => void) | undefined;

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

  /**
   * One attempt; its latency is recorded when it succeeds. The driver's callback form, not a promise
   * chain: it runs per reading, and a callback is one reaction where the chain made four.
   */
  function attempt(w: Write, done: (err: unknown) => void): void {
    const started = performance.now();
    cassandra.execute(w.query, w.params, EXECUTE_OPTIONS, (err) => {
      if (!err) metrics.writeSeconds.observe((performance.now() - started) / 1000);
      done(err);
    });
  }
  const write = (w: Write) =>
    new Promise<void>((resolve, reject) => attempt(w, (err) => (err ? reject(err) : resolve())));

  /** After a failed first attempt: retried with backoff until it succeeds, or false once aborted. */
  async function retryStore(w: Write, msg: JsMsg, firstError: unknown): Promise<boolean> {
    const lastWorking = { at: Date.now() };
    if (abortWrites) return false;
    onWriteRetry(firstError, msg, lastWorking);
    await sleep(backoffDelay(1, RETRY.initialMs, RETRY.maxMs));
    try {
      await retryWithBackoff(() => write(w), {
        ...RETRY,
        aborted: () => abortWrites,
        onRetry: (err) => onWriteRetry(err, msg, lastWorking),
      });
      return true;
    } catch {
      return false; // only when aborted at shutdown
    }
  }

  function deadLetter(msg: JsMsg, err: WireError) {
    deadLetters.send({
      reason: err.reason,
      subject: msg.subject,
      data: msg.data,
      error: err.message,
      streamSeq: msg.seq,
    });
    metrics.deadLetters.inc({ reason: err.reason });
    metrics.messages.inc({ outcome: 'deadlettered' });
    log.debug('dead-lettered', { subject: msg.subject, reason: err.reason, error: err.message });
    msg.term(); // published first on the same connection, so the server sees the dead letter before this
  }

  // Free slots are handed to the fetch loop only once a quarter of them is free, to keep fetches
  // reasonably large; the last one wakes stop().
  const minFetch = Math.max(1, Math.min(settings.batch, Math.ceil(settings.concurrency / 4)));
  function settled() {
    tally.inFlight--;
    if (slotsFreed && settings.concurrency - tally.inFlight >= minFetch) slotsFreed();
    if (idle && tally.inFlight === 0) idle();
  }

  function unexpected(msg: JsMsg, err: unknown) {
    log.error('unexpected error handling a message; it will be redelivered', { err });
    try {
      msg.nak(1000);
    } catch {
      // the connection is closing: the server redelivers it after ack_wait
    }
    settled();
  }

  /** A stored reading is acknowledged; one shutdown gave up on is handed back to another replica now. */
  function finish(msg: JsMsg, stored: boolean): void {
    try {
      if (stored) {
        msg.ack();
        tally.stored++;
      } else {
        msg.nak();
      }
      settled();
    } catch (err) {
      unexpected(msg, err);
    }
  }

  // Runs once per reading: one callback per write, no per-message closures beyond it. The first
  // attempt is made directly; the retry loop (promises) is only built once a write failed. Never throws
  // (nats.js would end the fetch, and the slot and the rest of the batch with it): every path settles once.
  function handle(msg: JsMsg): void {
    tally.inFlight++;
    try {
      if (redelivered(msg)) metrics.redeliveries.inc();
      let w: Write | undefined;
      try {
        w = toWrite(msg.subject, msg.data, subjects, queries);
      } catch (err) {
        if (!(err instanceof WireError)) return unexpected(msg, err);
        deadLetter(msg, err);
        return settled();
      }
      if (!w) {
        msg.ack();
        tally.ignored++;
        return settled();
      }
      const pending = w;
      attempt(pending, (err) => {
        if (!err) return finish(msg, true);
        retryStore(pending, msg, err).then(
          (stored) => finish(msg, stored),
          (e: unknown) => unexpected(msg, e),
        );
      });
    } catch (err) {
      unexpected(msg, err); // before settling: every settling call above is the last thing its path does
    }
  }

  // Fetch only what free slots can take, so nothing waits unprocessed in a client buffer while its
  // ack_wait runs. Each fetch hands its messages to `handle` as they arrive: nats.js honours a callback
  // in fetch as in consume (a fetch is a consume that stops after one pull). The callback skips the
  // async iterator's promise per message, about a tenth of ingest's CPU (see the bench, issue 11).
  let current: ConsumerMessages | undefined;
  async function fetchLoop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      const free = settings.concurrency - tally.inFlight;
      if (free < minFetch) {
        await new Promise<void>((resolve) => (slotsFreed = resolve));
        slotsFreed = undefined;
        continue;
      }
      try {
        const pull: FetchMessages & ConsumeCallback = {
          max_messages: Math.min(settings.batch, free),
          expires: FETCH_EXPIRES_MS,
          callback: handle,
        };
        current = await consumer.fetch(pull);
        const err = await current.closed(); // the pull's end: all received, expired, or failed
        if (err) throw err;
        failures = 0;
        health.consuming();
      } catch (err) {
        // Not consuming until a fetch succeeds again (a deleted consumer never does: a restart recreates it).
        if (++failures === 1) health.failed('a fetch failed', err);
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
    metrics.rate.set(((tally.stored - lastStored) * 1000) / Math.max(1, now - lastPoll));
    lastStored = tally.stored;
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
        slotsFreed?.();
        // The current fetch ends within FETCH_EXPIRES_MS and its messages are handled; should the server
        // never answer (connection lost), stop waiting for it: undelivered messages stay in the stream.
        const stuck = setTimeout(() => current?.stop(), FETCH_EXPIRES_MS + 5000);
        await loopDone;
        clearTimeout(stuck);
        clearInterval(poll);
        const timer = setTimeout(() => {
          if (tally.inFlight)
            log.warn('drain timeout: handing back in-flight messages', { inFlight: tally.inFlight });
          abortWrites = true;
        }, settings.drainTimeoutMs);
        if (tally.inFlight) await new Promise<void>((resolve) => (idle = resolve));
        clearTimeout(timer);
        log.info('ingest stopped', { stored: tally.stored });
      })()),
  };
}
