// The stream job's event-time rules on hostile input (issue 23): readings dated far ahead never move the
// event time on their own, and on-time readings keep being aggregated as if those were not there.
import fc from 'fast-check';
import { fuzz, fuzzTimeoutMs } from '../../../tests/fuzz/support';
import { HOLD_MAX, Reading, Settled, WindowRules, WindowState } from '../../src/streaming/windows';
import { EPOCH_S } from '../../src/wire/bounds';

const SKEW = 14_400;
const CYCLE = 900;
const rules: WindowRules = {
  allowedLatenessS: CYCLE,
  alertThresholdV: 120,
  alertMinCount: 2,
  alertWindowS: 0,
  maxAheadS: SKEW,
};
const BASE = Date.UTC(2024, 2, 4) / 1000;

/** One plausible input: a meter (or a temperature) a few cycles on from, or behind, the one before. */
const step = fc.record({
  meter: fc.integer({ min: -1, max: 5 }), // -1: a temperature
  cycles: fc.integer({ min: -3, max: 3 }),
  value: fc.float({ min: 100, max: 130, noNaN: true }),
});

function plausible(steps: { meter: number; cycles: number; value: number }[]): Reading[] {
  let cycle = 0;
  return steps.map((s, i) => {
    cycle = Math.max(0, cycle + s.cycles);
    const meter = s.meter < 0 ? undefined : { line: 1, transformer: 1 + (s.meter % 2), usagePoint: s.meter };
    return { seq: i + 1, epoch: BASE + cycle * CYCLE, value: s.value, meter };
  });
}

/** Feeds readings; returns every decision, in order, and the event time after each reading. */
function feed(s: WindowState, readings: Reading[]): { settled: Settled[]; times: (number | null)[] } {
  const settled: Settled[] = [];
  const times: (number | null)[] = [];
  for (const r of readings) {
    s.add(r);
    settled.push(...s.settled());
    times.push(s.maxEventTime);
  }
  return { settled, times };
}

test(
  'isolated readings far ahead change nothing: same event time and windows as without them, never folded',
  () =>
    fuzz(
      'windows with far-future readings',
      fc.property(
        fc.array(step, { minLength: 2, maxLength: 50 }),
        fc.array(
          fc.record({
            at: fc.nat(),
            ahead: fc.integer({ min: SKEW + 1, max: EPOCH_S.max - BASE - 200 * CYCLE - SKEW }),
            meter: fc.integer({ min: -1, max: 5 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.boolean(),
        (steps, hostile, fresh) => {
          const good = plausible(steps);
          const newest = Math.max(...good.map((r) => r.epoch));
          // Ahead of every plausible reading by more than the skew, and of each other (no two agree).
          const far = hostile
            .map((h) => newest + h.ahead)
            .sort((a, b) => a - b)
            .filter((e, i, all) => i === 0 || e - all[i - 1] > SKEW);
          const mixed = [...good];
          far.forEach((epoch, k) => {
            const at = hostile[k].at % (mixed.length + 1);
            const meter = hostile[k].meter < 0 ? undefined : { line: 9, transformer: 9, usagePoint: k };
            mixed.splice(at, 0, { seq: -(k + 1), epoch, value: 125, meter });
          });
          const start = () =>
            fresh
              ? new WindowState(rules)
              : WindowState.restore(rules, { v: 1, maxEventTime: BASE, windows: [] });
          const reference = start();
          const want = feed(reference, good);
          const attacked = start();
          const got = feed(attacked, mixed);

          const goodTimes = got.times.filter((_, i) => mixed[i].seq > 0);
          expect(goodTimes).toEqual(want.times);
          expect(attacked.snapshot().windows).toEqual(reference.snapshot().windows);
          const folded = (s: Settled[]) => s.filter((x) => x.outcome !== 'future');
          expect(folded(got.settled)).toEqual(folded(want.settled));
          // The far ones: held or refused, never folded.
          expect(got.settled.filter((x) => x.reading.seq < 0).every((x) => x.outcome === 'future')).toBe(
            true,
          );
          expect(attacked.maxEventTime ?? BASE).toBeLessThanOrEqual(newest);
        },
      ),
    ),
  fuzzTimeoutMs(1),
);

/** Two readings near in time that are not one meter's (or the temperature's) same epoch twice. */
function agree(a: Reading, b: Reading): boolean {
  if (Math.abs(a.epoch - b.epoch) > SKEW) return false;
  const source = (r: Reading) => (r.meter ? r.meter.usagePoint : -1);
  return a.epoch !== b.epoch || source(a) !== source(b);
}

test(
  'any readings: each kept, folded or refused exactly once; the event time jumps past the skew only when two agree',
  () =>
    fuzz(
      'windows with arbitrary readings',
      fc.property(
        fc.array(
          fc.record({
            epoch: fc.oneof(
              fc.integer({ min: EPOCH_S.min, max: EPOCH_S.max }),
              fc.integer({ min: BASE - 3 * SKEW, max: BASE + 3 * SKEW }),
            ),
            meter: fc.integer({ min: -1, max: 3 }),
            value: fc.float({ min: 0, max: 1000, noNaN: true }),
          }),
          { maxLength: 200 },
        ),
        (input) => {
          const s = new WindowState(rules);
          const decided = new Map<number, string>();
          input.forEach(({ epoch, meter, value }, i) => {
            const r: Reading = {
              seq: i + 1,
              epoch,
              value,
              meter: meter < 0 ? undefined : { line: 1, transformer: 1, usagePoint: meter },
            };
            const before = s.maxEventTime;
            s.add(r);
            const now = s.settled();
            for (const x of now) {
              expect(decided.has(x.reading.seq)).toBe(false);
              decided.set(x.reading.seq, x.outcome);
            }
            // Each fold moves the event time by at most the skew, unless two readings of this step agree.
            let time = before;
            let jumped = false;
            for (const x of now) {
              if (x.outcome === 'future') continue;
              jumped ||= time === null || x.eventTime > time + SKEW;
              time = x.eventTime;
            }
            if (jumped) {
              const folded = now.filter((x) => x.outcome !== 'future').map((x) => x.reading);
              const agreed = folded.some((a) => folded.some((b) => a !== b && agree(a, b)));
              expect({ before, after: s.maxEventTime, agreed }).toEqual({
                before,
                after: time,
                agreed: true,
              });
            }
            expect(s.heldCount).toBeLessThanOrEqual(HOLD_MAX);
          });
          expect(decided.size + s.heldCount).toBe(input.length);
        },
      ),
    ),
  fuzzTimeoutMs(1),
);
