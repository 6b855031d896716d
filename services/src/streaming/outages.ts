// Outage detection, as plain state with no I/O (like windows.ts), fed in stream order and checkpointed
// with the windows, so that a new holder of the lease recomputes exactly the same outages.
//
// Event time only. A meter's reporting interval is the gap between its last two readings outside an outage.
// It is out once the watermark (the windows' newest epoch − allowed lateness) is more than
// `outageIntervals` of its intervals past its last reading: a "last gasp" missing. Its outage starts at the
// reading it missed first (last + interval) and ends at the first reading back. A transformer is out while
// at least `transformerOutageShare` of the meters watched on it are out; its outage starts at the latest
// start among them when the share is reached, and ends at the reading that brings it below.
// Checked after every message that moves the event time, so the result depends on the input order alone,
// never on when flushes happen.
//
// What is not an outage:
// - Meters of a stopped injector: its retire notice (wire/codec.ts RetireNotice), ordered in the raw
//   stream after its last readings, removes them from watch; a reading brings a meter back. A meter already
//   out when its injector stops stays out (it went dark before) until it reports again.
// - A gap in the whole input (NATS down, every injector paused): when the event time jumps by more than
//   1.5 of a meter's intervals at once, nobody was heard in between, so its silence counts from the jump
//   (it is taken to have reported one interval before).
// - An injector behind the others: one flushing the backlog it buffered while the broker was away, or
//   slower. A meter is judged against its own injector's event time (its source: the slot, from the line,
//   advanced by its meters' readings and by its temperatures, `heartbeat`) while that injector is heard
//   from: the others have not sent `outageIntervals` rounds of readings of every watched meter since its
//   last message. Only a source that silent is judged by everyone's time.
// - A meter whose "missed" reading arrives after all (a cut-off injector's backlog, flushed after its
//   meters were reported out): the outage is withdrawn (state `withdrawn`), not closed; a transformer
//   outage that ends by withdrawals only is withdrawn too.
// A crashed injector sends no notice: its meters are reported out, which is what they look like.
import { MeterId, RetireNotice } from '../wire/codec';

export interface OutageRules {
  /** Simulated seconds a reading may trail the newest epoch (the windows' rule): the watermark. */
  allowedLatenessS: number;
  /** A meter is out when silent for more than this many of its reporting intervals. */
  outageIntervals: number;
  /** A transformer is out while at least this share (0…1] of its watched meters is out. */
  transformerOutageShare: number;
}

export type OutageKind = 'meter' | 'transformer';

/**
 * One change of an outage: it opened, it closed (then `end` is set), or it was withdrawn: the reading it
 * took for missed arrived after all (`end` is that reading's epoch).
 */
export interface OutageEvent {
  kind: OutageKind;
  state: 'open' | 'closed' | 'withdrawn';
  line: number;
  transformer: number;
  /** -1 for a transformer. */
  usagePoint: number;
  /** Simulated epoch seconds: the first reading missed. */
  start: number;
  /** Simulated epoch of the first reading back; null while open. */
  end: number | null;
  /** The event time at which the outage was detected. */
  detected: number;
  /** Transformers: meters out and meters watched when the event happened. */
  metersOut?: number;
  meters?: number;
}

interface Meter {
  id: MeterId;
  last: number;
  /** 0 until two readings were seen: not watched before. */
  interval: number;
  /** Start of its open outage, or null. */
  out: number | null;
  detected: number;
}

interface Transformer {
  line: number;
  transformer: number;
  meters: Set<Meter>;
  out: number;
  /** `closed`: a meter of it came back for real while it was open (else it ends withdrawn). */
  open: { start: number; detected: number; closed?: boolean } | null;
}

/** An injector (its slot): the newest epoch it sent, and when it was last heard from. */
interface Source {
  clock: number;
  /** The detector's count of voltage readings at this source's last one. */
  heard: number;
}

export interface OutageSnapshot {
  v: 1;
  clock: number | null;
  /** Meters, column by column (small and well compressed): key `line.transformer.usagepoint`. */
  keys: string[];
  last: number[];
  interval: number[];
  /** Start of the open outage, or -1. */
  out: number[];
  detected: number[];
  transformers: { line: number; transformer: number; start: number; detected: number; closed?: boolean }[];
  /** Sources by slot: clock and heard (absent in checkpoints of earlier versions). */
  sources?: [number, number, number][];
  heard?: number;
}

/** The injector slot a meter belongs to: lines 10·slot+1 … 10·slot+10 (simulator/topology.ts). */
export const sourceOf = (line: number): number => Math.floor((line - 1) / 10);

const GAP_FACTOR = 1.5;

export class OutageState {
  /** The event time the detector has reached (the windows' maxEventTime). */
  clock: number | null = null;
  private readonly meters = new Map<string, Meter>();
  private readonly transformers = new Map<string, Transformer>();
  private readonly sources = new Map<number, Source>();
  /** Voltage readings seen: how far the input has moved since a source was last heard from. */
  private heard = 0;
  private events: OutageEvent[] = [];

  constructor(readonly rules: OutageRules) {}

  get watched(): number {
    return this.meters.size;
  }

  /** Open outages now, by kind. */
  openCount(): Record<OutageKind, number> {
    let meter = 0;
    let transformer = 0;
    for (const m of this.meters.values()) if (m.out !== null) meter++;
    for (const t of this.transformers.values()) if (t.open) transformer++;
    return { meter, transformer };
  }

  /** A message of an injector other than a reading (its temperature) at `epoch`: it is alive and there. */
  heartbeat(slot: number, epoch: number): void {
    const source = this.sources.get(slot);
    if (source) {
      source.clock = Math.max(source.clock, epoch);
      source.heard = this.heard;
    } else this.sources.set(slot, { clock: epoch, heard: this.heard });
  }

  /** A voltage reading, in stream order. */
  reading(id: MeterId, epoch: number): void {
    this.heard++;
    this.heartbeat(sourceOf(id.line), epoch);
    const key = meterKey(id);
    const m = this.meters.get(key);
    if (!m) {
      this.watch(key, { id, last: epoch, interval: 0, out: null, detected: -1 });
      return;
    }
    if (epoch <= m.last) return; // a replayed or older reading says nothing new
    if (m.out !== null) {
      // The reading taken for the first one missed (or an earlier one) arrived: the meter was never dark.
      const state = epoch <= m.out ? 'withdrawn' : 'closed';
      this.emit(meterEvent(m, state, epoch));
      m.out = null;
      const t = this.transformerOf(m);
      t.out--;
      if (t.open && state === 'closed') t.open.closed = true;
      if (t.open && !this.isOut(t)) {
        this.emit(transformerEvent(t, t.open.closed ? 'closed' : 'withdrawn', epoch));
        t.open = null;
      }
      if (state === 'closed') {
        m.last = epoch;
        return;
      }
    }
    m.interval = epoch - m.last;
    m.last = epoch;
  }

  /**
   * The injector of these meters stopped after `epoch`: stop watching those that are not out. Goes over the
   * transformers watched, not over the range the notice claims: a message decides neither the work nor its
   * length.
   */
  retire(n: RetireNotice): void {
    for (const t of this.transformers.values()) {
      if (t.line < n.lines[0] || t.line > n.lines[1] || t.transformer < 1 || t.transformer > n.transformers)
        continue;
      for (const m of t.meters) {
        const { usagePoint } = m.id;
        if (usagePoint < 1 || usagePoint > n.usagepoints || m.out !== null || m.last > n.epoch) continue;
        this.meters.delete(meterKey(m.id));
        t.meters.delete(m);
      }
    }
  }

  /** The event time moved to `clock` (the windows' maxEventTime): open the outages it reveals. */
  advance(clock: number | null): void {
    if (clock === null || (this.clock !== null && clock <= this.clock)) return;
    const jump = this.clock === null ? 0 : clock - this.clock;
    this.clock = clock;
    const lateness = this.rules.allowedLatenessS;
    // A source heard from within this many readings is judged by its own event time (see the top).
    const silence = this.rules.outageIntervals * this.meters.size;
    const touched = new Set<Transformer>();
    for (const m of this.meters.values()) {
      if (m.out !== null || m.interval === 0) continue;
      if (jump > GAP_FACTOR * m.interval) m.last = Math.max(m.last, clock - m.interval);
      // A source's next readings are due one interval after its newest: the event time may be there already.
      const source = this.sources.get(sourceOf(m.id.line));
      const own =
        source && this.heard - source.heard <= silence ? Math.min(source.clock + m.interval, clock) : clock;
      if (own - lateness - m.last > this.rules.outageIntervals * m.interval) {
        m.out = m.last + m.interval;
        m.detected = clock;
        this.emit(meterEvent(m, 'open', null));
        const t = this.transformerOf(m);
        t.out++;
        touched.add(t);
      }
    }
    for (const t of touched) {
      if (t.open || !this.isOut(t)) continue;
      let start = -Infinity;
      for (const m of t.meters) if (m.out !== null) start = Math.max(start, m.out);
      t.open = { start, detected: clock };
      this.emit(transformerEvent(t, 'open', null));
    }
  }

  /** The outage changes since the last call, in order (taken out: the caller writes them). */
  drain(): OutageEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  snapshot(): OutageSnapshot {
    const s: OutageSnapshot = {
      v: 1,
      clock: this.clock,
      keys: [],
      last: [],
      interval: [],
      out: [],
      detected: [],
      transformers: [],
    };
    for (const [key, m] of this.meters) {
      s.keys.push(key);
      s.last.push(m.last);
      s.interval.push(m.interval);
      s.out.push(m.out ?? -1);
      s.detected.push(m.detected);
    }
    for (const t of this.transformers.values())
      if (t.open) s.transformers.push({ line: t.line, transformer: t.transformer, ...t.open });
    s.sources = [...this.sources].map(([slot, src]) => [slot, src.clock, src.heard]);
    s.heard = this.heard;
    return s;
  }

  static restore(rules: OutageRules, s: OutageSnapshot | undefined): OutageState {
    const state = new OutageState(rules);
    if (!s) return state; // a checkpoint from before outage detection: start watching afresh
    if (s.v !== 1) throw new Error(`unknown outage checkpoint version ${String(s.v)}`);
    state.clock = s.clock;
    s.keys.forEach((key, i) => {
      const [line, transformer, usagePoint] = key.split('.').map(Number);
      const out = s.out[i] < 0 ? null : s.out[i];
      state.watch(key, {
        id: { line, transformer, usagePoint },
        last: s.last[i],
        interval: s.interval[i],
        out,
        detected: s.detected[i],
      });
      if (out !== null) state.transformerOf(state.meters.get(key)!).out++;
    });
    for (const t of s.transformers) {
      state.transformer(t.line, t.transformer).open = {
        start: t.start,
        detected: t.detected,
        closed: t.closed,
      };
    }
    for (const [slot, clock, heard] of s.sources ?? []) state.sources.set(slot, { clock, heard });
    state.heard = s.heard ?? 0;
    return state;
  }

  private watch(key: string, m: Meter): void {
    this.meters.set(key, m);
    this.transformer(m.id.line, m.id.transformer).meters.add(m);
  }

  private transformer(line: number, transformer: number): Transformer {
    const key = `${line}.${transformer}`;
    let t = this.transformers.get(key);
    if (!t) {
      t = { line, transformer, meters: new Set(), out: 0, open: null };
      this.transformers.set(key, t);
    }
    return t;
  }

  private transformerOf(m: Meter): Transformer {
    return this.transformer(m.id.line, m.id.transformer);
  }

  /** At least the share of its watched meters is out (a transformer whose meters all retired is not judged). */
  private isOut(t: Transformer): boolean {
    return t.out > 0 && t.out >= this.rules.transformerOutageShare * t.meters.size;
  }

  private emit(e: OutageEvent): void {
    this.events.push(e);
  }
}

/** A meter's key in `meters`: `line.transformer.usagepoint`. */
function meterKey(id: MeterId): string {
  return `${id.line}.${id.transformer}.${id.usagePoint}`;
}

function meterEvent(m: Meter, state: OutageEvent['state'], end: number | null): OutageEvent {
  return {
    kind: 'meter',
    state,
    line: m.id.line,
    transformer: m.id.transformer,
    usagePoint: m.id.usagePoint,
    start: m.out!,
    end,
    detected: m.detected,
  };
}

function transformerEvent(t: Transformer, state: OutageEvent['state'], end: number | null): OutageEvent {
  return {
    kind: 'transformer',
    state,
    line: t.line,
    transformer: t.transformer,
    usagePoint: -1,
    start: t.open!.start,
    end,
    detected: t.open!.detected,
    metersOut: t.out,
    meters: t.meters.size,
  };
}
