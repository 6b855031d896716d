// Event-time windows of the stream job, as plain state with no I/O, so the rules can be read and
// tested on their own and the whole state can be checkpointed and restored.
//
// Kinds of window, all in simulated (event) time from the epoch in each payload:
//   max_voltage          [e, e+1)            max voltage of all meters at epoch e
//   max_voltage_by_line  [e, e+1) per line   max voltage of the line at epoch e
//   temperature          [e, e+1)            max temperature reading at epoch e (the original's rule)
//   avg_voltage          one UTC day per (line, transformer): sum and count, written as a running average
//   alert                alertWindowS per (line, transformer) (0 = one epoch, the original's batch):
//                        readings strictly above the threshold; an alert once there are at least alertMinCount
//
// Time rules. `maxEventTime` is the newest epoch folded in; the watermark is maxEventTime - allowedLateness.
//   - A reading more than `maxAheadS` ahead of maxEventTime (or any reading before there is one: a fresh
//     start) is `held`, not folded: one reading dated years ahead must not move the event time, or every
//     on-time reading after it would fold as amended and every meter look silent. It is folded once another
//     reading agrees (within maxAheadS of it, from another meter or epoch): what a pause of the whole input
//     or a clock moved forward on purpose looks like, every meter at the new time. Held readings that
//     become within maxAheadS are folded too; one no reading agreed with by the time HOLD_READINGS more
//     readings were folded (or pushed out of a full hold) is `refused`: the job dead-letters it (`future`).
//   - A reading is `on_time` at or after maxEventTime, `late` below it but not below the watermark: it
//     updates its windows, and a window already written is written (and published) again.
//   - It is `amended` below the watermark (a backlog an injector flushed after an outage, or one injector
//     behind another): its windows may be closed and forgotten, so those are read back from their rows
//     first (`reopens()`, then `reopen()` by the job, which does the I/O) and the reading is folded in there.
//     No reading is dropped for being late. Each row keeps the highest stream sequence folded into it, so a
//     reading replayed after a restart is not folded into the same row twice.
// A window is due (written and published) once maxEventTime has passed its end, or when input has been
// idle (the job decides), and again after every change. Daily averages are progressive: written whenever
// they change. A window is closed, and forgotten once written, when the watermark passes its end.
import { EPOCH_S, within } from '../wire/bounds';
import { MeterId } from '../wire/codec';

export type WindowKind = 'max_voltage' | 'max_voltage_by_line' | 'temperature' | 'avg_voltage' | 'alert';
export type Outcome = 'on_time' | 'late' | 'amended';

/**
 * Readings folded after a held one before it is refused: more than other injectors' batches can put between
 * two batches of one injector (12 other slots × 2 batches in flight × 1,000 readings, simulator/delivery.ts).
 */
export const HOLD_READINGS = 25_000;
/** Readings held at once; past it the oldest is refused. Bounds the memory and checkpoint a flood can take. */
export const HOLD_MAX = 64;

/** What the job carries with a reading to dead-letter it or to feed the outage detector; kept unchanged. */
export interface Origin {
  subject: string;
  data: Uint8Array;
  /** The injector slot of a temperature (outages.ts heartbeat). */
  source?: number;
}

/** A reading as the windows take it: a voltage of `meter`, or else a temperature. */
export interface Reading {
  /** Stream sequence (0: none). */
  seq: number;
  epoch: number;
  value: number;
  meter?: MeterId;
  origin?: Origin;
}

/** A held reading decided: folded (with its outcome and the event time after it) or refused. */
export type Settled =
  { reading: Reading; outcome: Outcome; eventTime: number } | { reading: Reading; outcome: 'future' };

export interface WindowRules {
  /** Simulated seconds a reading may trail the newest epoch and still count. */
  allowedLatenessS: number;
  /** Volts; a reading counts towards an alert when strictly above it. */
  alertThresholdV: number;
  /** Readings above the threshold within one alert window that raise an alert. */
  alertMinCount: number;
  /** Alert window length in simulated seconds; 0 = one window per epoch. */
  alertWindowS: number;
  /** Simulated seconds a reading may be ahead of the event time before it waits for agreement. */
  maxAheadS: number;
}

export interface Window {
  kind: WindowKind;
  /** -1 where the kind has no line / transformer. */
  line: number;
  transformer: number;
  /** [start, end) in simulated epoch seconds. */
  start: number;
  end: number;
  max: number;
  sum: number;
  count: number;
  /** Readings above the alert threshold (alert windows). */
  over: number;
  /** Epoch of the first reading above the threshold (alert windows). */
  firstOver: number;
  /** Bumped by every change; `written` is the version last made durable. */
  version: number;
  written: number;
  /** Highest stream sequence folded into the window (written with its row). */
  seq: number;
  /** The `seq` of the row it was reopened from: readings at or below it are in the row already. */
  floor: number;
}

/** A closed window to read back from its row (the job's I/O) before late readings are folded in. */
export type WindowRef = Pick<Window, 'kind' | 'line' | 'transformer' | 'start' | 'end'>;

/** What a window's row holds, read back to reopen it (outputs.ts). */
export type StoredWindow = Pick<Window, 'max' | 'sum' | 'count' | 'over' | 'firstOver' | 'seq'>;

export interface StateSnapshot {
  v: 1;
  maxEventTime: number | null;
  windows: Window[];
  /** Readings held for agreement (absent in checkpoints of earlier versions); origin bytes in base64. */
  held?: HeldSnapshot[];
}

interface Held {
  reading: Reading;
  /** Readings folded since it was held. */
  age: number;
}

export interface HeldSnapshot extends Omit<Reading, 'origin'> {
  age: number;
  origin?: Omit<Origin, 'data'> & { data: string };
}

/** A reading waiting for its window's row. */
interface Parked {
  seq: number;
  epoch: number;
  value: number;
}

const DAY_S = 86_400;

export class WindowState {
  maxEventTime: number | null = null;
  readonly windows = new Map<string, Window>();
  /** Amended readings by the key of a closed window being read back. */
  private readonly parked = new Map<string, Parked[]>();
  private toReopen: WindowRef[] = [];
  private held: Held[] = [];
  private settledReadings: Settled[] = [];

  constructor(readonly rules: WindowRules) {}

  get watermark(): number | null {
    return this.maxEventTime === null ? null : this.maxEventTime - this.rules.allowedLatenessS;
  }

  /**
   * Folds a reading into its windows, or holds it (see the time rules). Every reading folded or refused,
   * this one and held ones, is in `settled()` in that order. Windows of an `amended` reading that are no
   * longer held are parked until the job reopens them (`reopens`, `reopen`).
   */
  add(r: Reading): Outcome | 'held' {
    const skew = this.rules.maxAheadS;
    const now = this.maxEventTime;
    const before = this.settledReadings.length;
    if (now !== null && r.epoch <= now + skew) return this.release(this.fold(r), before);
    if (!this.held.some((h) => agrees(h.reading, r, skew))) {
      if (this.held.length >= HOLD_MAX) this.refuse(this.held.shift()!);
      this.held.push({ reading: r, age: 0 });
      return 'held';
    }
    // Agreed: the held readings near it first (arrival order), then it.
    const near = (h: Held) => Math.abs(h.reading.epoch - r.epoch) <= skew;
    const agreed = this.held.filter(near);
    this.held = this.held.filter((h) => !near(h));
    for (const h of agreed) this.fold(h.reading);
    return this.release(this.fold(r), before);
  }

  addVoltage(meter: MeterId, epoch: number, voltage: number, seq = 0): Outcome | 'held' {
    return this.add({ seq, epoch, value: voltage, meter });
  }

  addTemperature(epoch: number, temperature: number, seq = 0): Outcome | 'held' {
    return this.add({ seq, epoch, value: temperature });
  }

  /** Readings folded or refused since the last call, in that order (the job feeds outages, dead-letters). */
  settled(): Settled[] {
    const out = this.settledReadings;
    this.settledReadings = [];
    return out;
  }

  /** Readings waiting for another to agree with them. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Closed windows that amended readings wait for, each returned once: the job reads their rows. */
  reopens(): WindowRef[] {
    const out = this.toReopen;
    this.toReopen = [];
    return out;
  }

  /** Readings parked until their windows are reopened; a checkpoint waits until there are none. */
  get parkedCount(): number {
    let n = 0;
    for (const p of this.parked.values()) n += p.length;
    return n;
  }

  /** Puts a closed window back from its row (null: it has none) and folds the readings parked for it. */
  reopen(ref: WindowRef, stored: StoredWindow | null): void {
    const k = key(ref.kind, ref.line, ref.transformer, ref.start);
    const parked = this.parked.get(k) ?? [];
    this.parked.delete(k);
    const w = this.window(ref);
    if (stored) Object.assign(w, stored, { floor: stored.seq });
    for (const r of parked) this.apply(w, r);
  }

  /** True when the window has a change that must be made durable. Alerts only once they fire. */
  needsWrite(w: Window): boolean {
    return w.version > w.written && (w.kind !== 'alert' || w.over >= this.rules.alertMinCount);
  }

  /** Windows to write now: changed, and either past their end in event time, idle, or progressive. */
  due(idle: boolean): Window[] {
    const max = this.maxEventTime;
    const out: Window[] = [];
    for (const w of this.windows.values()) {
      if (!this.needsWrite(w)) continue;
      if (idle || w.kind === 'avg_voltage' || (max !== null && w.end <= max)) out.push(w);
    }
    return out;
  }

  /** Forgets windows closed by the watermark whose last change is durable (or that never need writing). */
  purge(): number {
    const watermark = this.watermark;
    if (watermark === null) return 0;
    let removed = 0;
    for (const [key, w] of this.windows) {
      if (w.end <= watermark && !this.needsWrite(w)) {
        this.windows.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /** A copy of the state in which the given windows count as written at the given versions. */
  snapshot(writing: ReadonlyMap<Window, number> = new Map()): StateSnapshot {
    const windows = [...this.windows.values()].map((w) => ({
      ...w,
      written: writing.get(w) ?? w.written,
      firstOver: Number.isFinite(w.firstOver) ? w.firstOver : -1,
    }));
    const held = this.held.map(({ reading: { origin, ...r }, age }) => ({
      ...r,
      age,
      ...(origin && { origin: { ...origin, data: Buffer.from(origin.data).toString('base64') } }),
    }));
    return { v: 1, maxEventTime: this.maxEventTime, windows, held };
  }

  static restore(rules: WindowRules, snapshot: StateSnapshot): WindowState {
    if (snapshot.v !== 1) throw new Error(`unknown stream checkpoint version ${String(snapshot.v)}`);
    const state = new WindowState(rules);
    // An event time no reading can have (a corrupted checkpoint) is dropped: readings agree on a new one.
    const t = snapshot.maxEventTime;
    state.maxEventTime = Number.isInteger(t) && within(t as number, EPOCH_S) ? t : null;
    state.held = (snapshot.held ?? []).map(({ age, origin, ...reading }) => ({
      age,
      reading: {
        ...reading,
        ...(origin && { origin: { ...origin, data: new Uint8Array(Buffer.from(origin.data, 'base64')) } }),
      },
    }));
    for (const w of snapshot.windows) {
      // seq and floor are absent from checkpoints written before amended readings: 0, nothing assumed.
      const restored = {
        ...w,
        seq: w.seq ?? 0,
        floor: w.floor ?? 0,
        firstOver: w.firstOver < 0 ? Infinity : w.firstOver,
      };
      state.windows.set(key(w.kind, w.line, w.transformer, w.start), restored);
    }
    return state;
  }

  /** Folds a reading, whatever its time: the caller decided it may move the event time. */
  private fold(r: Reading): Outcome {
    const outcome = this.advance(r.epoch);
    const { epoch, meter } = r;
    const reading = { seq: r.seq, epoch, value: r.value };
    const into = (kind: WindowKind, line: number, transformer: number, start: number, size: number) =>
      this.foldInto({ kind, line, transformer, start, end: start + size }, reading);
    if (meter) {
      into('max_voltage', -1, -1, epoch, 1);
      into('max_voltage_by_line', meter.line, -1, epoch, 1);
      into('avg_voltage', meter.line, meter.transformer, Math.floor(epoch / DAY_S) * DAY_S, DAY_S);
      if (r.value > this.rules.alertThresholdV) {
        const size = this.rules.alertWindowS || 1;
        into('alert', meter.line, meter.transformer, Math.floor(epoch / size) * size, size);
      }
    } else {
      into('temperature', -1, -1, epoch, 1);
    }
    this.settledReadings.push({ reading: r, outcome, eventTime: this.maxEventTime! });
    return outcome;
  }

  /**
   * After folding: held readings now within the skew are folded too; the others age by the readings folded
   * since `before` (an index into settledReadings) and are refused once older than HOLD_READINGS.
   */
  private release(outcome: Outcome, before: number): Outcome {
    if (this.held.length === 0) return outcome;
    for (;;) {
      const limit = this.maxEventTime! + this.rules.maxAheadS;
      const i = this.held.findIndex((h) => h.reading.epoch <= limit);
      if (i < 0) break;
      this.fold(this.held.splice(i, 1)[0].reading);
    }
    const n = this.settledReadings.length - before;
    for (const h of [...this.held]) {
      h.age += n;
      if (h.age > HOLD_READINGS) this.refuse(h);
    }
    return outcome;
  }

  private refuse(h: Held): void {
    this.held = this.held.filter((x) => x !== h);
    this.settledReadings.push({ reading: h.reading, outcome: 'future' });
  }

  private advance(epoch: number): Outcome {
    const max = this.maxEventTime;
    if (max === null || epoch >= max) {
      this.maxEventTime = epoch;
      return 'on_time';
    }
    return epoch < max - this.rules.allowedLatenessS ? 'amended' : 'late';
  }

  /** Into its window if held; otherwise, for a window behind the watermark, parked until reopened. */
  private foldInto(ref: WindowRef, reading: Parked): void {
    const k = key(ref.kind, ref.line, ref.transformer, ref.start);
    const w = this.windows.get(k);
    if (w) return this.apply(w, reading);
    const watermark = this.watermark;
    if (watermark !== null && ref.end <= watermark) {
      const parked = this.parked.get(k);
      if (parked) parked.push(reading);
      else {
        this.parked.set(k, [reading]);
        this.toReopen.push(ref);
      }
      return;
    }
    this.apply(this.window(ref), reading);
  }

  /** The reading's effect on its window's kind, unless the window's row has it already. */
  private apply(w: Window, r: Parked): void {
    if (r.seq <= w.floor && r.seq > 0) return;
    w.seq = Math.max(w.seq, r.seq);
    switch (w.kind) {
      case 'avg_voltage':
        w.sum += r.value;
        w.count += 1;
        w.version += 1;
        return;
      case 'alert':
        w.over += 1;
        w.firstOver = Math.min(w.firstOver, r.epoch);
        w.version += 1;
        return this.maxOf(w, r.value);
      default:
        return this.maxOf(w, r.value);
    }
  }

  private window(ref: WindowRef): Window {
    const k = key(ref.kind, ref.line, ref.transformer, ref.start);
    let w = this.windows.get(k);
    if (!w) {
      w = {
        ...ref,
        max: -Infinity,
        sum: 0,
        count: 0,
        over: 0,
        firstOver: Infinity,
        version: 0,
        written: 0,
        seq: 0,
        floor: 0,
      };
      this.windows.set(k, w);
    }
    return w;
  }

  private maxOf(w: Window, value: number): void {
    w.count += 1;
    if (value > w.max) {
      w.max = value;
      w.version += 1;
    }
  }
}

/** Two readings near in time, not one repeated: not the same epoch of the same meter (or temperature). */
function agrees(a: Reading, b: Reading, skew: number): boolean {
  if (Math.abs(a.epoch - b.epoch) > skew) return false;
  if (a.epoch !== b.epoch) return true;
  if (!a.meter || !b.meter) return !a.meter !== !b.meter;
  return (
    a.meter.line !== b.meter.line ||
    a.meter.transformer !== b.meter.transformer ||
    a.meter.usagePoint !== b.meter.usagePoint
  );
}

function key(kind: WindowKind, line: number, transformer: number, start: number): string {
  return `${kind}|${line}|${transformer}|${start}`;
}
