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
// Time rules. `maxEventTime` is the newest epoch seen; the watermark is maxEventTime - allowedLateness.
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
import { MeterId } from '../wire/codec';

export type WindowKind = 'max_voltage' | 'max_voltage_by_line' | 'temperature' | 'avg_voltage' | 'alert';
export type Outcome = 'on_time' | 'late' | 'amended';

export interface WindowRules {
  /** Simulated seconds a reading may trail the newest epoch and still count. */
  allowedLatenessS: number;
  /** Volts; a reading counts towards an alert when strictly above it. */
  alertThresholdV: number;
  /** Readings above the threshold within one alert window that raise an alert. */
  alertMinCount: number;
  /** Alert window length in simulated seconds; 0 = one window per epoch. */
  alertWindowS: number;
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

  constructor(readonly rules: WindowRules) {}

  get watermark(): number | null {
    return this.maxEventTime === null ? null : this.maxEventTime - this.rules.allowedLatenessS;
  }

  /**
   * Folds a voltage reading (stream sequence `seq`) into its windows. Windows of an `amended` reading that
   * are no longer held are parked until the job reopens them (`reopens`, `reopen`).
   */
  addVoltage(meter: MeterId, epoch: number, voltage: number, seq = 0): Outcome {
    const outcome = this.advance(epoch);
    const { line, transformer } = meter;
    const reading = { seq, epoch, value: voltage };
    this.fold({ kind: 'max_voltage', line: -1, transformer: -1, start: epoch, end: epoch + 1 }, reading);
    this.fold({ kind: 'max_voltage_by_line', line, transformer: -1, start: epoch, end: epoch + 1 }, reading);
    const dayStart = Math.floor(epoch / DAY_S) * DAY_S;
    this.fold({ kind: 'avg_voltage', line, transformer, start: dayStart, end: dayStart + DAY_S }, reading);
    if (voltage > this.rules.alertThresholdV) {
      const size = this.rules.alertWindowS || 1;
      const start = Math.floor(epoch / size) * size;
      this.fold({ kind: 'alert', line, transformer, start, end: start + size }, reading);
    }
    return outcome;
  }

  addTemperature(epoch: number, temperature: number, seq = 0): Outcome {
    const outcome = this.advance(epoch);
    const ref: WindowRef = { kind: 'temperature', line: -1, transformer: -1, start: epoch, end: epoch + 1 };
    this.fold(ref, { seq, epoch, value: temperature });
    return outcome;
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
    return { v: 1, maxEventTime: this.maxEventTime, windows };
  }

  static restore(rules: WindowRules, snapshot: StateSnapshot): WindowState {
    if (snapshot.v !== 1) throw new Error(`unknown stream checkpoint version ${String(snapshot.v)}`);
    const state = new WindowState(rules);
    state.maxEventTime = snapshot.maxEventTime;
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

  private advance(epoch: number): Outcome {
    const max = this.maxEventTime;
    if (max === null || epoch >= max) {
      this.maxEventTime = epoch;
      return 'on_time';
    }
    return epoch < max - this.rules.allowedLatenessS ? 'amended' : 'late';
  }

  /** Into its window if held; otherwise, for a window behind the watermark, parked until reopened. */
  private fold(ref: WindowRef, reading: Parked): void {
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

function key(kind: WindowKind, line: number, transformer: number, start: number): string {
  return `${kind}|${line}|${transformer}|${start}`;
}
