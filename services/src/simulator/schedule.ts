// Simulated time for the real-time injector: sim = start + (real − start)·acceleration (900 by default:
// one real second is 15 simulated minutes), like the original, without its −18 h offset. `start` is both
// the simulated origin and the real-time anchor, so replicas given the same start share one simulated clock.
//
// Cycle k is due, by the pacer, at realStart + k·cycleRealSeconds; its epoch is that instant's simulated
// time floored to the simulated minute. Because raw_data's key is (meter, simulated minute) and each meter
// reports once per cycle, two cycles must never fall in the same simulated minute, or a reading would
// overwrite another: the schedule therefore requires cycleRealSeconds·acceleration ≥ 60, which makes
// consecutive epochs at least one minute apart (floor((x+d)/60) − floor(x/60) ≥ 1 when d ≥ 60). Epochs
// come from the nominal schedule, not the jittery clock, so the epoch of cycle k+12 (the forecast's) is
// known at cycle k.

/** The largest epoch the wire codec accepts (9999-12-31T23:59:59Z). */
export const MAX_SIMULATED_EPOCH = 253_402_300_799;

export interface ScheduleOptions {
  /** Simulated origin and real-time anchor, epoch seconds. */
  start: number;
  /** Simulated seconds per real second. */
  acceleration: number;
  /** Wall-clock epoch seconds at which cycle 0 is due. */
  realStart: number;
  /** Real seconds between cycles: messages per cycle / rate. */
  cycleRealSeconds: number;
}

export function simulatedTime(realSeconds: number, start: number, acceleration: number): number {
  return start + (realSeconds - start) * acceleration;
}

export class CycleSchedule {
  /** Simulated seconds between consecutive cycles (before flooring to minutes). */
  readonly simulatedSecondsPerCycle: number;

  constructor(private readonly options: ScheduleOptions) {
    const { acceleration, cycleRealSeconds } = options;
    if (!(acceleration > 0)) throw new RangeError(`acceleration must be > 0, got ${acceleration}`);
    this.simulatedSecondsPerCycle = cycleRealSeconds * acceleration;
    if (!(this.simulatedSecondsPerCycle >= 60)) {
      throw new RangeError(
        `a cycle lasts ${cycleRealSeconds.toFixed(4)} real s = ${this.simulatedSecondsPerCycle.toFixed(1)} ` +
          `simulated s at acceleration ${acceleration}; it must be >= 60 simulated s so that no meter reports ` +
          `twice in one simulated minute: lower the rate, raise the acceleration or add meters`,
      );
    }
    const first = this.epochOf(0);
    if (first < 0 || first > MAX_SIMULATED_EPOCH) {
      throw new RangeError(`the simulated time at start (${first}) is outside 1970 … 9999: check the start`);
    }
  }

  /** Epoch (whole simulated minutes) of cycle k. */
  epochOf(k: number): number {
    const { start, acceleration, realStart, cycleRealSeconds } = this.options;
    const sim = simulatedTime(realStart + k * cycleRealSeconds, start, acceleration);
    return Math.floor(sim / 60) * 60;
  }
}
