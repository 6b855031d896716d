// The injectors' simulated clock and cycle grid.
//
// Clock: sim(real) = start + (real − anchor)·acceleration, where `anchor` is a real instant and `start` the
// simulated time at that instant (900× by default: one real second is 15 simulated minutes), like the
// original without its −18 h offset. A stack hands every injector the same anchor, start and acceleration
// (components/simulation-clock.ts), so replicas started at any time, anywhere, read the same simulated time
// at the same real instant. Without an anchor (dev, tests, bench) the anchor is `start` itself.
//
// Grid: cycle k (any integer) is due at real time anchor + k·cycleRealSeconds, and its epoch is the simulated
// time at that instant floored to the minute: floor((start + k·cycleRealSeconds·acceleration)/60)·60, a
// function of k and the clock alone. Replicas with the same clock and cycle length (the same rate and
// topology, as a stack's injectors have) therefore give cycle k the same epoch, and the stream job's
// per-epoch windows hold the readings of all of them. An injector begins at the first cycle due at or after
// it starts (firstCycle): a restarted or rescheduled one continues after every cycle its predecessor began,
// so simulated time never goes backwards, and it never publishes a (meter, minute) twice.
//
// Because raw_data's key is (meter, simulated minute) and each meter reports once per cycle, two cycles
// must never fall in the same simulated minute, or a reading would overwrite another: the schedule therefore
// requires cycleRealSeconds·acceleration ≥ 60, which makes consecutive epochs at least one minute apart
// (floor((x+d)/60) − floor(x/60) ≥ 1 when d ≥ 60). Epochs come from the nominal grid, not the jittery
// clock, so the epoch of cycle k+12 (the forecast's) is known at cycle k.

import { EPOCH_S } from '../wire/bounds';

/** The largest epoch the wire codec accepts (9999-12-31T23:59:59Z, wire/bounds.ts). */
export const MAX_SIMULATED_EPOCH = EPOCH_S.max;

export interface SimulatedClock {
  /** Simulated epoch seconds at the anchor. */
  start: number;
  /** Real epoch seconds at which the simulated clock reads `start` (default: `start`). */
  anchor?: number;
  /** Simulated seconds per real second. */
  acceleration: number;
}

export interface ScheduleOptions extends SimulatedClock {
  /** Real seconds between cycles: messages per cycle / rate. */
  cycleRealSeconds: number;
}

export function simulatedTime(realSeconds: number, clock: SimulatedClock): number {
  return clock.start + (realSeconds - (clock.anchor ?? clock.start)) * clock.acceleration;
}

export class CycleSchedule {
  /** Simulated seconds between consecutive cycles (before flooring to minutes). */
  readonly simulatedSecondsPerCycle: number;
  private readonly anchor: number;

  constructor(private readonly options: ScheduleOptions) {
    const { acceleration, cycleRealSeconds } = options;
    if (!(acceleration > 0)) throw new RangeError(`acceleration must be > 0, got ${acceleration}`);
    this.anchor = options.anchor ?? options.start;
    this.simulatedSecondsPerCycle = cycleRealSeconds * acceleration;
    if (!(this.simulatedSecondsPerCycle >= 60)) {
      throw new RangeError(
        `a cycle lasts ${cycleRealSeconds.toFixed(4)} real s = ${this.simulatedSecondsPerCycle.toFixed(1)} ` +
          `simulated s at acceleration ${acceleration}; it must be >= 60 simulated s so that no meter reports ` +
          `twice in one simulated minute: lower the rate, raise the acceleration or add meters`,
      );
    }
  }

  /** The first cycle due at or after the real instant `realSeconds`. */
  firstCycle(realSeconds: number): number {
    return Math.ceil((realSeconds - this.anchor) / this.options.cycleRealSeconds);
  }

  /** Real epoch seconds at which cycle k is due. */
  dueAt(k: number): number {
    return this.anchor + k * this.options.cycleRealSeconds;
  }

  /** Epoch (whole simulated minutes) of cycle k. */
  epochOf(k: number): number {
    return Math.floor((this.options.start + k * this.simulatedSecondsPerCycle) / 60) * 60;
  }

  /** Throws unless the cycles an injector starting at `realSeconds` publishes first lie in 1970 … 9999. */
  checkRange(realSeconds: number): void {
    const first = this.epochOf(this.firstCycle(realSeconds));
    if (!(first >= 0 && first <= MAX_SIMULATED_EPOCH)) {
      throw new RangeError(
        `the simulated time now (${first}) is outside 1970 … 9999: check the start and anchor`,
      );
    }
  }
}
