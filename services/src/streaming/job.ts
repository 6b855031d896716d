// The stream job: the original's SparkMaxProcessor and SparkAlertProcessor, on event time.
//
// Input. The voltage and temperature readings of the JetStream raw stream (`<root>.raw.>`), read in
// stream order by this job's own ordered consumer, which filters on those two subjects (`filter_subjects`,
// NATS ≥ 2.10), so forecasts never reach it; ingest reads the whole stream through its own durable
// consumer. Readings go into the windows of windows.ts; a malformed one is dead-lettered with its original
// bytes and counted.
//
// Scaling out: one active instance, the others hot standbys. The windows need every reading of a
// window in one place (the overall max per epoch spans all lines), so instead of splitting and
// re-merging partial results, the instances hold a lease (lease.ts, a KV entry with a TTL): only the
// holder consumes and writes; a standby takes over when the holder releases the lease (SIGTERM) or
// stops renewing it (crash, partition) for one TTL. N replicas therefore produce what one produces.
//
// Guarantee. Every `STREAM_FLUSH_INTERVAL_MS` the active instance writes each due window (upsert keyed
// by the window), publishes its JSON, renews the lease, then saves a checkpoint: the stream sequence of
// the last message folded in and the window state at that message (checkpoint.ts). A reading behind the
// watermark (an injector's flushed backlog) is folded into its window's stored row, read back first
// (windows.ts `amended`); a checkpoint waits until every such reading is folded. A new holder restores
// the checkpoint and reads on from the next sequence, in order, so it recomputes exactly the windows the
// old one had, and the rows end up the same as without a restart: no reading counted twice or lost.
// What a restart can repeat: rows already written after the last checkpoint are written again with the
// same values, and their JSON extracts are published again (at-least-once on NATS, exactly-once in
// the tables). Fencing is by the TTL: a holder that stalls longer than the TTL without noticing can write
// until its next renewal fails (at most one flush), with values computed from the same ordered input.
//
// Outages (outages.ts): the detector is fed the same messages in the same order (and the injectors' retire
// notices on `<root>.raw.control.retire`) and checkpointed with the windows, so a new holder recomputes the
// same outages from the checkpoint. Their rows are upserts keyed by the outage (meter or transformer, start);
// their events go to `<root>.extract.outage.*` through a JetStream stream with a Nats-Msg-Id per change, so
// the repeats of a takeover are dropped there (OUTAGE_STREAM_LIMITS).
//
// A consumer that ends while active (it failed, or a handler threw: nats.js then stops it) makes the instance
// say so (/healthz not ready, smartmeter_consumer_stopped), give its lease up and sit out one lease TTL, so
// that a standby takes over from the last checkpoint; it competes again after that.
//
// Shutdown (SIGTERM): stop consuming, write the windows that are complete enough, save the checkpoint,
// release the lease. Complete enough = the event time has passed the window's end, or no reading came for
// `STREAM_IDLE_TIMEOUT_MS` (injection stopped). The newest epoch of a running injection is not complete:
// it stays in the checkpoint and the next holder finishes it.
import { Client } from 'cassandra-driver';
import { ConsumerMessages, JetStreamClient, JsMsg, NatsConnection } from 'nats';
import { ConsumeHealth, SetReady } from '../lib/consuming';
import { DeadLetters } from '../lib/deadletter';
import { ensureRawStream } from '../lib/jetstream';
import { Logger } from '../lib/log';
import { retryWithBackoff } from '../lib/retry';
import {
  decodeRetire,
  decodeTemperature,
  decodeVoltage,
  parseVoltageSubject,
  WireError,
} from '../wire/codec';
import { CheckpointStore } from './checkpoint';
import { positionTime, resumePoint } from './resume';
import { Lease } from './lease';
import { StreamMetrics } from './metrics';
import { OutageEvent, OutageState } from './outages';
import { OutageOutput, outageOutput, Output, outputOf, Row, storedWindow, storedWindowOf } from './outputs';
import { StreamSettings, stateBuckets } from './settings';
import { Origin, Outcome, Reading, Window, WindowRef, WindowState } from './windows';

export interface StreamJobDeps {
  nc: NatsConnection;
  cassandra: Client;
  keyspace: string;
  log: Logger;
  metrics: StreamMetrics;
  /** Marks the role not ready (/healthz) while it has stopped consuming on a failure. */
  setReady?: SetReady;
}

type RawKind =
  | { kind: 'voltage'; line: number; transformer: number; usagePoint: number }
  | { kind: 'temperature' }
  | { kind: 'retire' };

const WRITE_CONCURRENCY = 64;
/** Readings after a restore that may all trail its event time by more than the skew before it is reported. */
const RESTORE_CHECK_READINGS = 100;
/** How long the final flush on shutdown may keep retrying a failing write. */
const STOP_FLUSH_DEADLINE_MS = 15_000;
/**
 * The outage stream: outage events published with a Nats-Msg-Id (outputs.ts), so that those a new holder
 * publishes again after a takeover (the changes since the last checkpoint) are dropped as duplicates
 * within this window; a core NATS subscriber of `<root>.extract.outage.>` may still see such a repeat.
 */
const OUTAGE_STREAM_LIMITS = {
  maxAgeSeconds: 7 * 86_400,
  maxBytes: 256 * 1024 ** 2,
  duplicateWindowSeconds: 600,
};

export class StreamJob {
  private readonly js: JetStreamClient;
  private lease!: Lease;
  private checkpoints!: CheckpointStore;
  private state: WindowState;
  private outages: OutageState;
  private active = false;
  private stopping = false;
  private stopDeadline = Infinity;
  private messages?: ConsumerMessages;
  private leaseTimer?: NodeJS.Timeout;
  private flushTimer?: NodeJS.Timeout;
  private transition: Promise<void> = Promise.resolve();
  private flushing: Promise<void> | null = null;
  private lastSeq = 0;
  private savedSeq = -1;
  private lastMessageAt = Date.now();
  private newestMaxEpoch = -Infinity;
  private newestTemperatureEpoch = -Infinity;
  /** The restored event time until a reading confirms it (checkRestoredEventTime). */
  private restoredCheck?: { eventTime: number; behind: number };
  /** Reads of closed windows' rows in progress (windows.ts reopens). */
  private readonly reopening = new Set<Promise<void>>();
  private readonly deadLetters: DeadLetters;
  private readonly health: ConsumeHealth;
  /** After a consumer failure, the lease is left to the standbys until then. */
  private sitOutUntil = 0;

  constructor(
    private readonly settings: StreamSettings,
    private readonly deps: StreamJobDeps,
  ) {
    this.js = deps.nc.jetstream();
    this.state = new WindowState(settings);
    this.outages = new OutageState(settings);
    this.deadLetters = new DeadLetters(
      deps.nc,
      settings.subjectRoot,
      'stream',
      deps.log,
      deps.metrics.deadLetterFailures,
    );
    this.health = new ConsumeHealth(deps.metrics.consumer, deps.log, deps.setReady);
  }

  /** True while this instance holds the lease and consumes. */
  get isActive(): boolean {
    return this.active;
  }

  /** Stream sequence of the last message read. */
  get readSeq(): number {
    return this.lastSeq;
  }

  /** Stream sequence of the last message covered by a saved checkpoint (-1: none saved by this instance). */
  get checkpointedSeq(): number {
    return this.savedSeq;
  }

  /** Creates what is missing (stream, buckets) and starts competing for the lease. */
  async start(): Promise<void> {
    const { stream, subjectRoot, leaseTtlMs, instanceId } = this.settings;
    await ensureRawStream(await this.deps.nc.jetstreamManager(), {
      name: stream,
      subjects: [`${subjectRoot}.raw.>`],
      maxAgeSeconds: this.settings.streamMaxAgeSeconds,
      maxBytes: this.settings.streamMaxBytes,
      replicas: this.settings.replicas,
      duplicateWindowSeconds: this.settings.streamDuplicateWindowSeconds,
    });
    await ensureRawStream(await this.deps.nc.jetstreamManager(), {
      name: this.settings.outageStream,
      subjects: [`${subjectRoot}.extract.outage.>`],
      replicas: this.settings.replicas,
      ...OUTAGE_STREAM_LIMITS,
    });
    const replicas = this.settings.replicas ?? 1;
    const buckets = stateBuckets(this.settings);
    this.lease = await Lease.open(this.js, buckets.lease, leaseTtlMs, instanceId, replicas);
    this.checkpoints = await CheckpointStore.open(this.js, buckets.checkpoint, replicas);
    this.deps.metrics.active.set(0);
    await this.tick();
    this.leaseTimer = setInterval(() => void this.tick(), Math.max(250, Math.floor(leaseTtlMs / 3)));
  }

  /** Graceful stop: stop consuming, write what is complete enough, checkpoint, release the lease. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.leaseTimer);
    await this.serial(async () => {
      // Not consuming, but a tick may have taken the lease just before stop() (see promote()).
      if (!this.active) return this.lease?.release();
      clearInterval(this.flushTimer);
      await this.messages?.close();
      this.stopDeadline = Date.now() + STOP_FLUSH_DEADLINE_MS;
      await this.flushing?.catch(() => undefined);
      await this.flush().catch((err) => this.deps.log.error('final flush failed', { err }));
      await this.lease.release();
      this.setActive(false);
    });
  }

  /** Stops as a crash would: no flush, no checkpoint, the lease left to expire. For failover tests. */
  async halt(): Promise<void> {
    this.stopping = true;
    clearInterval(this.leaseTimer);
    clearInterval(this.flushTimer);
    this.lease?.forget();
    this.setActive(false);
    await this.messages?.close();
  }

  /** Writes due windows, then checkpoints. Runs one at a time; a call during a flush waits for it. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private tick(): Promise<void> {
    return this.serial(async () => {
      if (this.stopping) return;
      if (this.active) {
        if (!(await this.lease.renew())) await this.demote('lease lost');
      } else if (Date.now() >= this.sitOutUntil && (await this.lease.acquire())) {
        await this.promote().catch(async (err) => {
          this.deps.log.error('could not start consuming; giving the lease back', { err });
          await this.demote('start failed');
          await this.lease.release();
        });
      }
    });
  }

  private async promote(): Promise<void> {
    const { stream, subjectRoot, flushIntervalMs } = this.settings;
    const checkpoint = await this.checkpoints.load();
    this.state = checkpoint
      ? WindowState.restore(this.settings, checkpoint.state)
      : new WindowState(this.settings);
    const restored = checkpoint?.state.maxEventTime ?? null;
    if (restored !== this.state.maxEventTime) {
      this.deps.metrics.implausibleCheckpoints.inc({ reason: 'invalid' });
      this.deps.log.error("the checkpoint's event time is not an epoch: dropped", { eventTime: restored });
    }
    const eventTime = this.state.maxEventTime;
    this.restoredCheck = eventTime === null ? undefined : { eventTime, behind: 0 };
    this.outages = OutageState.restore(this.settings, checkpoint?.outages);
    const resume = await resumePoint(await this.deps.nc.jetstreamManager(), stream, checkpoint);
    if (resume.gap) {
      this.deps.metrics.checkpointGaps.inc({ reason: resume.gap.reason });
      this.deps.log.error(
        'the raw stream does not hold what the checkpoint read last: resuming after a gap',
        {
          ...resume.gap,
          resumeSeq: resume.seq,
        },
      );
    }
    this.lastSeq = this.savedSeq = resume.seq - 1;
    this.lastMessageAt = Date.now();
    const consumer = await this.js.consumers.get(stream, {
      filterSubjects: inputSubjects(subjectRoot),
      opt_start_seq: this.lastSeq + 1,
    });
    // stop() or halt() may have come in while this ran (halt() does not wait for transitions).
    if (this.stopping) return;
    this.setActive(true);
    const messages = await consumer.consume({ callback: (m) => this.handle(m), max_messages: 1024 });
    this.messages = messages;
    if (!this.active) {
      await this.messages.close(); // halted while the consumer started
      return;
    }
    void messages.closed().then((err) => this.consumerEnded(messages, err));
    this.health.consuming();
    this.flushTimer = setInterval(
      () => void this.flush().catch((err) => this.deps.log.warn('flush failed', { err })),
      flushIntervalMs,
    );
    this.deps.log.info('active: consuming', {
      instance: this.settings.instanceId,
      fromSeq: this.lastSeq + 1,
      openWindows: this.state.windows.size,
    });
  }

  private async demote(reason: string): Promise<void> {
    this.setActive(false);
    clearInterval(this.flushTimer);
    await this.messages?.close();
    // Whatever was not checkpointed is recomputed by the next holder from the checkpoint.
    this.state = new WindowState(this.settings);
    this.outages = new OutageState(this.settings);
    for (const kind of ['meter', 'transformer'] as const) this.deps.metrics.outagesOpen.set({ kind }, 0);
    this.deps.metrics.heldReadings.set(0);
    this.deps.log.warn('standby', { instance: this.settings.instanceId, reason });
  }

  /** The consumer ended: on purpose (stop, halt, demote closed it), else on a failure: hand over. */
  private consumerEnded(messages: ConsumerMessages, err: void | Error): void {
    if (this.messages !== messages || !this.active || this.stopping) return;
    this.health.failed('the raw stream consumer ended', err ?? undefined);
    this.sitOutUntil = Date.now() + this.settings.leaseTtlMs;
    void this.serial(async () => {
      if (this.messages !== messages || !this.active) return;
      await this.demote('consumer failed');
      await this.lease.release();
    });
  }

  private setActive(active: boolean): void {
    this.active = active;
    this.deps.metrics.active.set(active ? 1 : 0);
  }

  private handle(m: JsMsg): void {
    if (!this.active) return;
    this.lastSeq = m.seq;
    this.lastMessageAt = Date.now();
    this.deps.metrics.lag.set(m.info.pending);
    let outcome: Outcome | 'deadlettered';
    try {
      const raw = classify(this.settings.subjectRoot, m.subject);
      if (raw.kind === 'retire') {
        this.outages.retire(decodeRetire(m.data));
        return; // not a reading
      }
      const origin: Origin = { subject: m.subject, data: m.data };
      if (raw.kind === 'voltage') {
        const { epoch, voltage } = decodeVoltage(m.data);
        const meter = { line: raw.line, transformer: raw.transformer, usagePoint: raw.usagePoint };
        this.state.add({ seq: m.seq, epoch, value: voltage, meter, origin });
      } else {
        const { epoch, temperature } = decodeTemperature(m.data);
        origin.source = temperatureSource(m);
        this.state.add({ seq: m.seq, epoch, value: temperature, origin });
      }
      return this.settle();
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.deadLetters.send({
        reason: err.reason,
        subject: m.subject,
        data: m.data,
        error: err.message,
        streamSeq: m.seq,
      });
      outcome = 'deadlettered';
    }
    this.deps.metrics.messages.inc({ outcome });
  }

  /**
   * What the windows decided, in order: a folded reading goes to the outage detector at the event time
   * after it and is counted by outcome; a refused one (too far ahead, nothing agreed) is dead-lettered.
   */
  private settle(): void {
    const { metrics } = this.deps;
    for (const s of this.state.settled()) {
      const { reading: r } = s;
      if (s.outcome === 'future') {
        this.refuse(r);
        continue;
      }
      if (r.meter) this.outages.reading(r.meter, r.epoch);
      else if (r.origin?.source !== undefined) this.outages.heartbeat(r.origin.source, r.epoch);
      this.outages.advance(s.eventTime);
      metrics.messages.inc({ outcome: s.outcome });
      this.checkRestoredEventTime(r.epoch);
    }
    for (const ref of this.state.reopens()) this.reopen(this.state, ref);
    metrics.heldReadings.set(this.state.heldCount);
  }

  private refuse(r: Reading): void {
    const { subject, data } = r.origin!; // every reading the job adds has one
    this.deadLetters.send({
      reason: 'future',
      subject,
      data,
      error:
        `epoch ${r.epoch} is more than STREAM_MAX_AHEAD_S (${this.settings.maxAheadS} s) ahead of the ` +
        `event time ${this.state.maxEventTime} and no other reading agreed with it`,
      streamSeq: r.seq,
    });
    this.deps.metrics.messages.inc({ outcome: 'deadlettered' });
  }

  /**
   * A restored event time is confirmed by the first reading folded within STREAM_MAX_AHEAD_S of it. If the
   * first RESTORE_CHECK_READINGS all trail it by more, it was likely moved by a far-future reading before
   * this version refused them: said once and counted (every reading then folds as amended). Not undone:
   * windows closed under that watermark are forgotten, and moving it back would write them afresh.
   */
  private checkRestoredEventTime(epoch: number): void {
    const check = this.restoredCheck;
    if (!check) return;
    if (check.eventTime - epoch <= this.settings.maxAheadS) {
      this.restoredCheck = undefined;
    } else if (++check.behind >= RESTORE_CHECK_READINGS) {
      this.restoredCheck = undefined;
      this.deps.metrics.implausibleCheckpoints.inc({ reason: 'ahead' });
      this.deps.log.error("the checkpoint's event time is far ahead of the readings that follow it", {
        eventTime: check.eventTime,
        reading: epoch,
        readings: RESTORE_CHECK_READINGS,
        maxAheadS: this.settings.maxAheadS,
      });
    }
  }

  /** Reads a closed window's row back into `state`, retrying while this instance is active on it. */
  private reopen(state: WindowState, ref: WindowRef): void {
    const { query, params } = storedWindowOf(this.deps.keyspace, ref);
    const read = retryWithBackoff(
      () => this.deps.cassandra.execute(query, params, { prepare: true, isIdempotent: true }),
      {
        initialMs: 200,
        maxMs: 5000,
        aborted: () => !this.active || this.state !== state,
        onRetry: (err, attempt) =>
          this.deps.log.warn('reading a window back failed; retrying', { attempt, err }),
      },
    ).then(
      (rs) => {
        if (this.state === state) state.reopen(ref, storedWindow(rs.first()));
      },
      () => undefined, // given up: no longer active on this state
    );
    this.reopening.add(read);
    void read.finally(() => this.reopening.delete(read));
  }

  private async flushOnce(): Promise<void> {
    if (!this.active) return;
    // The checkpoint covers every message up to its sequence: amended readings must be folded first.
    while (this.state.parkedCount > 0 && this.reopening.size > 0 && this.active) {
      await Promise.all(this.reopening);
    }
    if (!this.active || this.state.parkedCount > 0) return;
    const state = this.state;
    const seq = this.lastSeq;
    const idle = Date.now() - this.lastMessageAt >= this.settings.idleTimeoutMs;
    // The snapshot is taken together with `seq` (messages keep arriving during the writes below) and
    // counts the due windows as written: it is saved only after they are.
    const due = state.due(idle);
    const versions = new Map<Window, number>(due.map((w) => [w, w.version]));
    const snapshot = state.snapshot(versions);
    const outputs = due.map((w) => outputOf(this.deps.keyspace, w, this.settings.alertThresholdV));
    // Outage changes likewise: taken out of the detector with its snapshot, written before it is saved.
    const outages = this.outages;
    const events = outages.drain();
    const outageSnapshot = outages.snapshot();
    const outageOutputs = events.map((e) => outageOutput(this.deps.keyspace, e));
    const stillActive = () => this.active && this.state === state;

    await retryWithBackoff(() => this.writeAll(outputs, outageOutputs), {
      initialMs: 200,
      maxMs: 5000,
      aborted: () => !stillActive() || Date.now() > this.stopDeadline,
      onRetry: (err, attempt, delayMs) => {
        this.deps.metrics.retries.inc();
        this.deps.log.warn('writing windows failed; retrying', { attempt, delayMs, err });
      },
    });
    for (const [w, version] of versions) w.written = Math.max(w.written, version);
    this.publish(due, outputs);
    this.countOutages(events);

    if (seq === this.savedSeq && due.length === 0 && events.length === 0) return;
    // Fencing: only a current holder may move the checkpoint.
    if (!stillActive() || !(await this.lease.renew())) {
      // Not through serial(): the final flush runs inside it. demote() tolerates running twice.
      if (stillActive()) await this.demote('lease lost before checkpoint');
      return;
    }
    const time = await positionTime(await this.deps.nc.jetstreamManager(), this.settings.stream, seq);
    await this.checkpoints.save({ seq, time, state: snapshot, outages: outageSnapshot });
    this.savedSeq = seq;
    state.purge();
    this.deps.metrics.openWindows.set(state.windows.size);
    for (const [kind, n] of Object.entries(outages.openCount()))
      this.deps.metrics.outagesOpen.set({ kind }, n);
    this.deps.metrics.metersWatched.set(outages.watched);
    if (state.maxEventTime !== null) this.deps.metrics.eventTime.set(state.maxEventTime);
  }

  /**
   * The windows' rows, then the outages' (the last change of each outage only, so that an open and a close
   * in one flush cannot land out of order), then the outage events, through the outage stream: a retry or
   * a takeover publishes them again under the same Nats-Msg-Id, and the stream keeps one.
   */
  private async writeAll(outputs: Output[], outages: OutageOutput[]): Promise<void> {
    await this.write(outputs);
    const latest = new Map<string, OutageOutput>();
    for (const o of outages) latest.set(o.msgId.slice(0, o.msgId.lastIndexOf('.')), o);
    await this.write([...latest.values()]);
    const js = this.js;
    const root = this.settings.subjectRoot;
    for (let i = 0; i < outages.length; i += WRITE_CONCURRENCY) {
      await Promise.all(
        outages
          .slice(i, i + WRITE_CONCURRENCY)
          .map((o) =>
            js.publish(`${root}.${o.publish.subject}`, JSON.stringify(o.publish.body), { msgID: o.msgId }),
          ),
      );
    }
  }

  private countOutages(events: OutageEvent[]): void {
    const { metrics } = this.deps;
    for (const e of events) {
      if (e.state === 'withdrawn') metrics.outagesWithdrawn.inc({ kind: e.kind });
      if (e.state !== 'open') continue;
      metrics.outages.inc({ kind: e.kind });
      if (e.kind === 'meter') metrics.detectionDelay.observe(e.detected - e.start);
    }
  }

  private async write(outputs: Row[]): Promise<void> {
    const { cassandra, metrics } = this.deps;
    for (let i = 0; i < outputs.length; i += WRITE_CONCURRENCY) {
      await Promise.all(
        outputs.slice(i, i + WRITE_CONCURRENCY).map(async (o) => {
          const end = metrics.writeSeconds.startTimer({ table: o.table });
          await cassandra.execute(o.query, o.params, { prepare: true, isIdempotent: true });
          end();
        }),
      );
    }
  }

  private publish(due: Window[], outputs: Output[]): void {
    const { nc, metrics } = this.deps;
    due.forEach((w, i) => {
      const { publish } = outputs[i];
      metrics.windows.inc({ kind: w.kind });
      if (publish)
        nc.publish(`${this.settings.subjectRoot}.${publish.subject}`, JSON.stringify(publish.body));
      if (w.kind === 'alert') metrics.alerts.inc();
      if (w.kind === 'max_voltage' && w.start >= this.newestMaxEpoch) {
        this.newestMaxEpoch = w.start;
        metrics.maxVoltage.set(w.max);
      }
      if (w.kind === 'temperature' && w.start >= this.newestTemperatureEpoch) {
        this.newestTemperatureEpoch = w.start;
        metrics.temperature.set(w.max);
      }
    });
  }

  /** Lease transitions, stop and demotion run one at a time. */
  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.transition.then(fn, fn);
    this.transition = next.catch((err) => this.deps.log.error('stream job transition failed', { err }));
    return next;
  }
}

/** The injector slot of a temperature, from its id (`t<slot>.<epoch>`, simulator/ledger.ts); none before ids. */
function temperatureSource(m: JsMsg): number | undefined {
  const id = m.headers?.get('Nats-Msg-Id');
  if (!id || id[0] !== 't') return undefined;
  const slot = Number(id.slice(1, id.indexOf('.')));
  return Number.isInteger(slot) ? slot : undefined;
}

/** The raw subjects the job reads: voltage and temperature readings and retire notices, not forecasts. */
export function inputSubjects(root: string): string[] {
  return [`${root}.raw.voltage.data.>`, `${root}.raw.temperature.data`, `${root}.raw.control.retire`];
}

/** What a subject of inputSubjects() carries; throws WireError('subject') for anything else. */
export function classify(root: string, subject: string): RawKind {
  const raw = `${root}.raw.`;
  const rest = subject.startsWith(raw) ? subject.slice(raw.length) : '';
  if (rest === 'temperature.data') return { kind: 'temperature' };
  if (rest === 'control.retire') return { kind: 'retire' };
  if (rest.startsWith('voltage.data.'))
    return { kind: 'voltage', ...parseVoltageSubject(subject, `${raw}voltage.data`) };
  throw new WireError('subject', `not a raw reading subject under ${raw}: ${subject}`);
}
