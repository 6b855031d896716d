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
//   - A reading is `dropped` if its epoch is below the watermark: every window holding it may already be
//     closed, so it updates nothing (one rule for every kind, so outputs never disagree).
//   - It is `late` if its epoch is below maxEventTime but not below the watermark: it still updates its
//     windows, and a window already written is written (and published) again with the new value.
//   - Otherwise it is `on_time`.
// A window is due (written and published) once maxEventTime has passed its end, or when input has been
// idle (the job decides), and again after every late change. Daily averages are progressive: written
// whenever they change. A window is closed, and forgotten once written, when the watermark passes its end.
import { MeterId } from '../wire/codec';

export type WindowKind = 'max_voltage' | 'max_voltage_by_line' | 'temperature' | 'avg_voltage' | 'alert';
export type Outcome = 'on_time' | 'late' | 'dropped';

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
}

export interface StateSnapshot {
  v: 1;
  maxEventTime: number | null;
  windows: Window[];
}

const DAY_S = 86_400;

export class WindowState {
  maxEventTime: number | null = null;
  readonly windows = new Map<string, Window>();

  constructor(readonly rules: WindowRules) {}

  get watermark(): number | null {
    return this.maxEventTime === null ? null : this.maxEventTime - this.rules.allowedLatenessS;
  }

  addVoltage(meter: MeterId, epoch: number, voltage: number): Outcome {
    const outcome = this.advance(epoch);
    if (outcome === 'dropped') return outcome;
    const { line, transformer } = meter;
    this.maxOf(this.window('max_voltage', -1, -1, epoch, epoch + 1), voltage);
    this.maxOf(this.window('max_voltage_by_line', line, -1, epoch, epoch + 1), voltage);
    const dayStart = Math.floor(epoch / DAY_S) * DAY_S;
    const day = this.window('avg_voltage', line, transformer, dayStart, dayStart + DAY_S);
    day.sum += voltage;
    day.count += 1;
    day.version += 1;
    if (voltage > this.rules.alertThresholdV) {
      const size = this.rules.alertWindowS || 1;
      const start = Math.floor(epoch / size) * size;
      const alert = this.window('alert', line, transformer, start, start + size);
      alert.over += 1;
      alert.firstOver = Math.min(alert.firstOver, epoch);
      alert.version += 1;
      this.maxOf(alert, voltage);
    }
    return outcome;
  }

  addTemperature(epoch: number, temperature: number): Outcome {
    const outcome = this.advance(epoch);
    if (outcome !== 'dropped') this.maxOf(this.window('temperature', -1, -1, epoch, epoch + 1), temperature);
    return outcome;
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
      const restored = { ...w, firstOver: w.firstOver < 0 ? Infinity : w.firstOver };
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
    return epoch < max - this.rules.allowedLatenessS ? 'dropped' : 'late';
  }

  private window(kind: WindowKind, line: number, transformer: number, start: number, end: number): Window {
    const k = key(kind, line, transformer, start);
    let w = this.windows.get(k);
    if (!w) {
      w = {
        kind,
        line,
        transformer,
        start,
        end,
        max: -Infinity,
        sum: 0,
        count: 0,
        over: 0,
        firstOver: Infinity,
        version: 0,
        written: 0,
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
