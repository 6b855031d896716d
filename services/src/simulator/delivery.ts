// Acknowledged, deduplicated delivery of an injector's readings to the raw JetStream stream: what a
// head-end system does between its meters and the broker.
//
// Readings queue in order and go out as JetStream atomic batches (NATS ADR-50): up to `maxBatch` messages
// with Nats-Batch-Id and Nats-Batch-Sequence headers, the last one also with Nats-Batch-Commit and a reply
// subject. The server stores all of them or none, syncs once for the whole batch (with `sync_interval:
// always` a single publish costs one fsync, a batch one fsync for up to 1,000 readings), and answers the
// commit with a PubAck. A reading counts as delivered only then; the ledger (ledger.ts) records it.
//
// Every message carries a Nats-Msg-Id, the reading's identity (ledger.ts readingId), the same at every
// resend. A batch whose answer was lost (timeout, disconnect) is sent again, under a new batch id, before
// anything newer; if it was in fact stored, the server refuses the repeat as containing a duplicate, and
// the readings are then sent one by one, each answered "stored" or "duplicate": never stored twice, as
// long as the resend comes within the stream's duplicate window (a later one is counted).
//
// While the broker is unreachable or slower than the meters, readings wait in a bounded buffer
// (store-and-forward) and are sent, oldest first, once it answers again. Past `bufferReadings` the oldest
// waiting readings are dropped and counted: never silently. At most `maxInFlight` batches await an
// answer at a time (the server allows 50 open atomic batches per stream across all publishers).
import { headers, NatsConnection, PubAck } from 'nats';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Logger } from '../lib/log';
import { zeroed } from '../lib/metrics';
import { backoffDelay } from '../lib/retry';
import { LedgerWriter } from './ledger';

/** One message on its way to the raw stream. */
export interface Outgoing {
  subject: string;
  payload: Uint8Array;
  /** Nats-Msg-Id: the reading's identity (ledger.ts readingId). */
  id: string;
}

export interface DeliverySettings {
  /** Readings held while the broker is unreachable or slow; past it the oldest waiting ones are dropped. */
  bufferReadings: number;
  /** Unique among publishers: the slot. Batch ids are `<name>.<random>.<counter>`. */
  name: string;
  /** Most messages per atomic batch (the server's limit, `max_msgs`, is 1,000 by default). */
  maxBatch?: number;
  /** Batches sent and not yet answered. */
  maxInFlight?: number;
  /** How long a batch that is not full waits for more readings before it goes. */
  lingerMs?: number;
  /** How long to wait for a batch's answer before sending it again. */
  ackTimeoutMs?: number;
  /** The raw stream's duplicate window: a resend later than this after the first send may store a copy. */
  duplicateWindowMs?: number;
}

export const DELIVERY_DEFAULTS = {
  maxBatch: 1000,
  maxInFlight: 2,
  lingerMs: 10,
  ackTimeoutMs: 5000,
  duplicateWindowMs: 120_000,
} as const;

/** Why a batch was sent again. */
export const RESEND_REASONS = ['timeout', 'disconnected', 'no_stream', 'refused', 'duplicate'] as const;
type ResendReason = (typeof RESEND_REASONS)[number];

export interface DeliveryMetrics {
  acknowledged: Counter;
  buffered: Gauge;
  overflowed: Counter;
  resent: Counter<'reason'>;
  pastWindow: Counter;
  undelivered: Counter;
  ackSeconds: Histogram;
}

export function createDeliveryMetrics(registry: Registry): DeliveryMetrics {
  const registers = [registry];
  return {
    acknowledged: new Counter({
      name: 'smartmeter_inject_acknowledged_total',
      help: 'Messages (readings and retire notices) the broker acknowledged as stored in the raw stream',
      registers,
    }),
    buffered: new Gauge({
      name: 'smartmeter_inject_buffered_readings',
      help: 'Messages waiting to be sent or for their acknowledgement (store-and-forward buffer)',
      registers,
    }),
    overflowed: new Counter({
      name: 'smartmeter_inject_buffer_overflow_total',
      help: 'Readings dropped unsent because the store-and-forward buffer was full (INJECT_BUFFER_READINGS)',
      registers,
    }),
    resent: zeroed(
      new Counter({
        name: 'smartmeter_inject_resent_batches_total',
        help: 'Batches sent again, by reason (timeout, disconnected, no_stream, refused, duplicate)',
        labelNames: ['reason'],
        registers,
      }),
      { reason: RESEND_REASONS },
    ),
    pastWindow: new Counter({
      name: 'smartmeter_inject_resent_past_duplicate_window_total',
      help: "Messages sent again later than the stream's duplicate window after their first send (may be stored twice)",
      registers,
    }),
    undelivered: new Counter({
      name: 'smartmeter_inject_undelivered_total',
      help: 'Messages still unacknowledged when the injector stopped (given up)',
      registers,
    }),
    ackSeconds: new Histogram({
      name: 'smartmeter_inject_ack_seconds',
      help: "Time from a batch's send to the broker's acknowledgement",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
}

export interface DeliveryStats {
  acknowledged: number;
  overflowed: number;
  /** Batches sent again. */
  resent: number;
  /** Messages sent again later than the duplicate window after their first send. */
  pastWindow: number;
  /** Messages given up when the injector stopped. */
  undelivered: number;
}

interface Batch {
  items: Outgoing[];
  sends: number;
  firstSentAt: number;
  /** Send one by one, each with its own answer (after a duplicate refused the batch). */
  singly: boolean;
}

/** FIFO with O(1) pushes and takes from the front, without Array.shift's copying. */
class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  take(n: number): T[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}

// The server's error codes a batch can be answered with (jetstream_errors_generated.go).
const DUPLICATE_IN_BATCH = 10201;
const TOO_MANY_BATCHES = 10210;

export class Delivery {
  private readonly queue = new Queue<Outgoing>();
  /** Batches to send again, before anything newer. */
  private readonly resends: Batch[] = [];
  private readonly s: Required<DeliverySettings>;
  private readonly idPrefix: string;
  private batches = 0;
  private inFlight = 0;
  private inFlightItems = 0;
  private failures = 0;
  private pausedUntil = 0;
  private connected = true;
  private closed = false;
  private urgent = false;
  /** When the oldest queued message arrived: a batch that is not full waits `lingerMs` from there. */
  private queuedSince = 0;
  private scheduled = false;
  private timer?: NodeJS.Timeout;
  private idle: (() => void)[] = [];
  private lastWarning = 0;
  readonly stats: DeliveryStats = {
    acknowledged: 0,
    overflowed: 0,
    resent: 0,
    pastWindow: 0,
    undelivered: 0,
  };

  constructor(
    private readonly nc: NatsConnection,
    settings: DeliverySettings,
    private readonly deps: { metrics?: DeliveryMetrics; log?: Logger; ledger?: LedgerWriter } = {},
  ) {
    this.s = { ...DELIVERY_DEFAULTS, ...settings };
    if (!(this.s.maxBatch >= 1 && this.s.maxBatch <= 1000)) throw new RangeError('maxBatch must be 1…1000');
    this.idPrefix = `${settings.name}.${Math.random().toString(36).slice(2, 8)}.`;
    void this.watchConnection();
  }

  /** Messages waiting: queued, in flight, or to be sent again. */
  get buffered(): number {
    let resending = 0;
    for (const b of this.resends) resending += b.items.length;
    return this.queue.length + this.inFlightItems + resending;
  }

  /** Queues one message; the oldest waiting one is dropped (and counted) when the buffer is full. */
  send(message: Outgoing): void {
    if (this.buffered >= this.s.bufferReadings && this.queue.length > 0) {
      this.queue.take(1);
      this.stats.overflowed++;
      this.deps.metrics?.overflowed.inc();
    }
    if (this.queue.length === 0) this.queuedSince = Date.now();
    this.queue.push(message);
    this.schedule();
  }

  /** Nothing to wait for: the buffer bounds itself (the pacing loop's flush is for core NATS). */
  async flush(): Promise<void> {}

  /**
   * Sends what is queued without waiting for full batches, and resolves once everything is acknowledged,
   * or after `timeoutMs` with what is left counted as undelivered. Returns that count.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.urgent = true;
    this.schedule();
    if (this.buffered > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idle.push(resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    }
    const left = this.buffered;
    this.stats.undelivered += left;
    this.deps.metrics?.undelivered.inc(left);
    this.closed = true;
    clearTimeout(this.timer);
    this.deps.metrics?.buffered.set(0);
    return left;
  }

  private async watchConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') this.connected = false;
      if (status.type === 'reconnect') {
        this.connected = true;
        this.pausedUntil = 0;
        this.schedule();
      }
    }
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Sends batches while there is room in flight: resends first, then the queue in order. */
  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    while (!this.closed && this.connected && this.inFlight < this.s.maxInFlight) {
      if (now < this.pausedUntil) {
        this.timer = setTimeout(() => this.pump(), this.pausedUntil - now);
        break;
      }
      let batch = this.resends.shift();
      if (!batch) {
        const n = this.queue.length;
        if (n === 0) break;
        // A batch that is not full waits a little for more readings, unless draining.
        const lingered = now - this.queuedSince;
        if (n < this.s.maxBatch && !this.urgent && lingered < this.s.lingerMs) {
          this.timer = setTimeout(() => this.pump(), this.s.lingerMs - lingered);
          break;
        }
        batch = { items: this.queue.take(this.s.maxBatch), sends: 0, firstSentAt: now, singly: false };
        this.queuedSince = now;
      }
      this.sendBatch(batch, now);
    }
    this.deps.metrics?.buffered.set(this.buffered);
    if (this.buffered === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  private sendBatch(batch: Batch, now: number): void {
    if (batch.sends > 0 && now - batch.firstSentAt > this.s.duplicateWindowMs) {
      this.stats.pastWindow += batch.items.length;
      this.deps.metrics?.pastWindow.inc(batch.items.length);
    }
    batch.sends++;
    this.inFlight++;
    this.inFlightItems += batch.items.length;
    const started = performance.now();
    const sent = batch.singly ? this.sendSingly(batch) : this.sendAtomic(batch);
    sent
      .then(
        (failure) => {
          if (failure) return this.failed(batch, failure);
          this.deps.metrics?.ackSeconds.observe((performance.now() - started) / 1000);
          this.failures = 0;
        },
        (err: unknown) => this.failed(batch, reasonOf(err), err),
      )
      .finally(() => {
        this.inFlight--;
        this.inFlightItems -= batch.items.length;
        this.pump();
      });
  }

  /** The batch as one atomic publish; resolves with a reason to send it again, or nothing when stored. */
  private async sendAtomic(batch: Batch): Promise<ResendReason | undefined> {
    const id = `${this.idPrefix}${(this.batches++).toString(36)}`;
    const { items } = batch;
    const last = items.length - 1;
    for (let i = 0; i < last; i++) {
      const h = headers();
      h.set('Nats-Msg-Id', items[i].id);
      h.set('Nats-Batch-Id', id);
      h.set('Nats-Batch-Sequence', String(i + 1));
      this.nc.publish(items[i].subject, items[i].payload, { headers: h });
    }
    const h = headers();
    h.set('Nats-Msg-Id', items[last].id);
    h.set('Nats-Batch-Id', id);
    h.set('Nats-Batch-Sequence', String(last + 1));
    h.set('Nats-Batch-Commit', '1');
    const reply = await this.nc.request(items[last].subject, items[last].payload, {
      headers: h,
      timeout: this.s.ackTimeoutMs,
    });
    const answer = JSON.parse(new TextDecoder().decode(reply.data)) as Partial<PubAck> & {
      error?: { err_code?: number; description?: string };
    };
    if (answer.error) {
      if (answer.error.err_code === DUPLICATE_IN_BATCH) {
        batch.singly = true; // stored before (or in part): each reading says which
        return 'duplicate';
      }
      this.warn('a batch was refused; sending it again', { error: answer.error });
      if (answer.error.err_code === TOO_MANY_BATCHES) this.pausedUntil = Date.now() + 100;
      return 'refused';
    }
    const lastSeq = answer.seq ?? NaN;
    this.delivered(
      items,
      items.map((_, i) => lastSeq - last + i),
    );
    return undefined;
  }

  /** Each message with its own acknowledgement; what is not acknowledged is sent again, singly. */
  private async sendSingly(batch: Batch): Promise<ResendReason | undefined> {
    const js = this.nc.jetstream();
    const results = await Promise.allSettled(
      batch.items.map((m) => js.publish(m.subject, m.payload, { msgID: m.id, timeout: this.s.ackTimeoutMs })),
    );
    const ok: Outgoing[] = [];
    const seqs: (number | undefined)[] = [];
    const left: Outgoing[] = [];
    let reason: ResendReason | undefined;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        ok.push(batch.items[i]);
        seqs.push(r.value.seq);
      } else {
        left.push(batch.items[i]);
        reason ??= reasonOf(r.reason);
      }
    });
    this.delivered(ok, seqs);
    if (left.length === 0) return undefined;
    batch.items = left;
    return reason;
  }

  private delivered(items: Outgoing[], seqs: (number | undefined)[]): void {
    // After drain() gave up, these were counted as undelivered: the ledger stays on the safe side.
    if (items.length === 0 || this.closed) return;
    this.stats.acknowledged += items.length;
    this.deps.metrics?.acknowledged.inc(items.length);
    this.deps.ledger?.record(
      items.map((m) => m.id),
      seqs,
    );
  }

  private failed(batch: Batch, reason: ResendReason, err?: unknown): void {
    this.stats.resent++;
    this.deps.metrics?.resent.inc({ reason });
    this.resends.push(batch);
    if (reason === 'duplicate') return; // not a failure: sent again singly at once
    this.failures++;
    this.pausedUntil = Date.now() + backoffDelay(this.failures, 100, 5000);
    this.warn('batch not acknowledged; it will be sent again', {
      reason,
      failures: this.failures,
      buffered: this.buffered,
      err: err === undefined ? undefined : String(err),
    });
  }

  /** At most one warning a second: an outage is visible without flooding the log. */
  private warn(msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.lastWarning < 1000) return;
    this.lastWarning = now;
    this.deps.log?.warn(msg, fields);
  }
}

/** Why a send failed, from nats.js's error: no answer, no connection, or no stream for the subject. */
function reasonOf(err: unknown): ResendReason {
  const code = (err as { code?: string } | undefined)?.code;
  if (code === '503') return 'no_stream';
  if (code === 'TIMEOUT') return 'timeout';
  return 'disconnected';
}
