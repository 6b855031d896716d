// Injected outages (off by default): meters that go dark for a while, alone or a whole transformer at once.
//
// Like the over-voltage events, a pure function of (seed, meter, simulated time): simulated time is cut into
// windows of `minutes`; a meter has an outage starting in a window with probability perDay·minutes/1440, at
// a whole minute drawn uniformly inside the window, lasting `minutes`; likewise each transformer (all its
// meters) with transformerPerDay. A meter is dark at epoch e when an outage of its own or of its
// transformer, starting in e's window or the one before, covers e. A dark meter publishes nothing for that
// cycle (its place in the cycle is still paced, so the cycle grid does not move). A restarted injector
// skips exactly the same readings, and `outageRuns` recomputes what was injected for the benchmark and tests.
import { MeterId } from '../wire/codec';
import { hash32, unit } from './prng';

export interface OutageOptions {
  /** Single-meter outages per meter per simulated day (0 = off). */
  perDay: number;
  /** Whole-transformer outages per transformer per simulated day (0 = off). */
  transformerPerDay: number;
  /** Length of an outage in simulated minutes. */
  minutes: number;
}

export const NO_OUTAGES: OutageOptions = { perDay: 0, transformerPerDay: 0, minutes: 120 };

// Hash streams of their own (the simulator's are 1–4).
const STREAM = { meter: 5, transformer: 6 } as const;

/** Throws a RangeError naming what is wrong. */
export function validateOutages(o: OutageOptions): OutageOptions {
  if (!(Number.isInteger(o.minutes) && o.minutes >= 1 && o.minutes <= 1440)) {
    throw new RangeError(`outage minutes must be an integer in 1…1440, got ${o.minutes}`);
  }
  for (const [name, rate] of [
    ['perDay', o.perDay],
    ['transformerPerDay', o.transformerPerDay],
  ] as const) {
    if (!(rate >= 0 && (rate * o.minutes) / 1440 <= 1)) {
      throw new RangeError(
        `outage ${name} must be in [0, ${1440 / o.minutes}] for ${o.minutes}-minute outages, got ${rate}`,
      );
    }
  }
  return o;
}

/** `dark(i, epoch)`: whether meters[i] publishes nothing at that simulated epoch. */
export type DarkFn = (meterIndex: number, epoch: number) => boolean;

export function outageSchedule(seed: number, meters: readonly MeterId[], options: OutageOptions): DarkFn {
  const { perDay, transformerPerDay, minutes } = validateOutages(options);
  if (perDay === 0 && transformerPerDay === 0) return () => false;
  const windowS = minutes * 60;
  const meterP = (perDay * minutes) / 1440;
  const transformerP = (transformerPerDay * minutes) / 1440;
  const meterKeys = meters.map((m) => hash32(m.line, m.transformer, m.usagePoint));
  const transformerKeys = meters.map((m) => hash32(m.line, m.transformer));
  // An outage of `key` starting in window w, if there is one: its start, a whole minute inside the window.
  const covers = (key: number, stream: number, p: number, w: number, epoch: number) => {
    if (!(unit(hash32(seed, key, w, stream)) < p)) return false;
    const start = w * windowS + Math.floor(unit(hash32(seed, key, w, stream + 16)) * minutes) * 60;
    return epoch >= start && epoch < start + windowS;
  };
  return (i, epoch) => {
    const w = Math.floor(epoch / windowS);
    return (
      (meterP > 0 &&
        (covers(meterKeys[i], STREAM.meter, meterP, w, epoch) ||
          covers(meterKeys[i], STREAM.meter, meterP, w - 1, epoch))) ||
      (transformerP > 0 &&
        (covers(transformerKeys[i], STREAM.transformer, transformerP, w, epoch) ||
          covers(transformerKeys[i], STREAM.transformer, transformerP, w - 1, epoch)))
    );
  };
}

export interface OutageRun {
  meter: MeterId;
  /** Epoch of the first reading not published. */
  start: number;
  /** Epoch of the first reading published again; null when the run lasts past the last epoch given. */
  end: number | null;
}

/** The meters' dark runs over consecutive cycle epochs: what was injected, as the stream job should see it. */
export function outageRuns(meters: readonly MeterId[], dark: DarkFn, epochs: readonly number[]): OutageRun[] {
  const runs: OutageRun[] = [];
  meters.forEach((meter, i) => {
    let open: OutageRun | null = null;
    for (const e of epochs) {
      if (dark(i, e)) {
        if (!open) runs.push((open = { meter, start: e, end: null }));
      } else if (open) {
        open.end = e;
        open = null;
      }
    }
  });
  return runs;
}
