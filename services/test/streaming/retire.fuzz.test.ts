// Retire notices (an injector's control message) cannot make the stream job work beyond what it holds: the
// detector retires the watched meters a notice names by going over what it watches, never over the range
// the notice claims; and the decoder bounds a notice's size and counts, rejecting the rest with reason
// `control` (dead-lettered under its own subject).
import fc from 'fast-check';
import { OutageRules, OutageState } from '../../src/streaming/outages';
import {
  decodeRetire,
  encodeRetire,
  MAX_CONTROL_BYTES,
  MAX_METER_ID,
  RetireNotice,
  WireError,
} from '../../src/wire/codec';
import { fuzz, fuzzTimeoutMs } from '../../../tests/fuzz/support';

const I = 900;
const T0 = 1_700_000_100 - (1_700_000_100 % I);
const RULES: OutageRules = { allowedLatenessS: 900, outageIntervals: 3, transformerOutageShare: 0.5 };

interface Watched {
  line: number;
  transformer: number;
  usagePoint: number;
  /** Cycle of its last reading (it also reported the cycle before, so it is watched). */
  lastCycle: number;
}

function detectorWith(meters: Watched[], clockCycle?: number): OutageState {
  const s = new OutageState(RULES);
  for (const m of meters) {
    s.reading(m, T0 + (m.lastCycle - 1) * I);
    s.reading(m, T0 + m.lastCycle * I);
  }
  if (clockCycle !== undefined) s.advance(T0 + clockCycle * I); // may put the silent ones out
  s.drain();
  return s;
}

/** The meters a notice leaves watched: those out of its range, out (dark), or heard after its epoch. */
function expectedAfter(s: OutageState, n: RetireNotice): string[] {
  const snap = s.snapshot();
  return snap.keys.filter((key, i) => {
    const [line, transformer, usagePoint] = key.split('.').map(Number);
    const named =
      line >= n.lines[0] &&
      line <= n.lines[1] &&
      transformer >= 1 &&
      transformer <= n.transformers &&
      usagePoint >= 1 &&
      usagePoint <= n.usagepoints;
    return !(named && snap.out[i] < 0 && snap.last[i] <= n.epoch);
  });
}

const grid: Watched[] = [];
for (let line = 1; line <= 3; line++)
  for (let transformer = 1; transformer <= 3; transformer++)
    for (let usagePoint = 1; usagePoint <= 5; usagePoint++)
      grid.push({ line, transformer, usagePoint, lastCycle: 1 });

test('a notice claiming 30 million meters retires the 30 watched ones in it, in bounded time', () => {
  const s = detectorWith(grid);
  const notice = { lines: [2, 11] as [number, number], transformers: 3000, usagepoints: 1000, epoch: T0 + I };
  const started = performance.now();
  s.retire(notice);
  const ms = performance.now() - started;
  expect(s.watched).toBe(15); // line 1's
  expect(s.snapshot().keys.every((k) => k.startsWith('1.'))).toBe(true);
  expect(ms).toBeLessThan(250); // went over 45 meters, not over the 30,000,000 the notice names
});

test('notices beyond their bounds are refused with reason "control"; the injectors\' own decode', () => {
  const reason = (n: unknown) => {
    try {
      decodeRetire(new TextEncoder().encode(typeof n === 'string' ? n : JSON.stringify(n)));
      return 'accepted';
    } catch (e) {
      return (e as WireError).reason;
    }
  };
  const ok: RetireNotice = { lines: [11, 20], transformers: 1_000_000, usagepoints: 1_000_000, epoch: T0 };
  expect(reason(ok)).toBe('accepted');
  expect(reason({ ...ok, lines: [20, 11] })).toBe('control');
  expect(reason({ ...ok, lines: [11, 21] })).toBe('control'); // 11 lines: more than an injector has
  expect(reason({ ...ok, lines: [1e12, 1e12] })).toBe('control');
  expect(reason({ ...ok, transformers: MAX_METER_ID + 1 })).toBe('control');
  expect(reason({ ...ok, usagepoints: 2 ** 53 })).toBe('control');
  expect(reason({ ...ok, pad: 'x'.repeat(MAX_CONTROL_BYTES) })).toBe('control');
  expect(reason({ ...ok, lines: [1] })).toBe('value');
  expect(reason('not json')).toBe('value');
});

const count = fc.oneof(fc.nat(12), fc.nat(), fc.maxSafeNat());
const notices = fc.record({
  lines: fc.tuple(count, count),
  transformers: count,
  usagepoints: count,
  epoch: fc.integer({ min: T0 - 2 * I, max: T0 + 30 * I }),
});

test(
  'fuzz: any notice retires exactly the watched meters it names that are neither out nor heard after it',
  async () => {
    const meters = fc.uniqueArray(
      fc.record({
        line: fc.integer({ min: 1, max: 12 }),
        transformer: fc.integer({ min: 1, max: 4 }),
        usagePoint: fc.integer({ min: 1, max: 6 }),
        lastCycle: fc.integer({ min: 1, max: 20 }),
      }),
      { maxLength: 60, selector: (m) => `${m.line}.${m.transformer}.${m.usagePoint}` },
    );
    await fuzz(
      'OutageState.retire',
      fc.property(
        meters,
        fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
        notices,
        (ms, clock, n) => {
          const s = detectorWith(ms, clock);
          const expected = expectedAfter(s, n);
          s.retire(n);
          expect(s.snapshot().keys.sort()).toEqual(expected.sort());
        },
      ),
    );
  },
  fuzzTimeoutMs(1),
);

test(
  'fuzz: any bytes decode to a notice within the bounds, or a WireError (never another error)',
  async () => {
    const json = fc.oneof(
      notices.map((n) => JSON.stringify(n)),
      fc.json(),
      fc.string({ unit: 'binary', maxLength: 3 * MAX_CONTROL_BYTES }),
    );
    const bytes = fc.oneof(
      json.map((t) => new TextEncoder().encode(t)),
      fc.uint8Array({ maxLength: 2 * MAX_CONTROL_BYTES }),
    );
    await fuzz(
      'decodeRetire',
      fc.property(bytes, (b) => {
        let n: RetireNotice;
        try {
          n = decodeRetire(b);
        } catch (e) {
          expect(e).toBeInstanceOf(WireError);
          return;
        }
        expect(b.byteLength).toBeLessThanOrEqual(MAX_CONTROL_BYTES);
        const [first, last] = n.lines;
        expect(0 <= first && first <= last && last - first < 10 && last <= MAX_METER_ID).toBe(true);
        expect(n.transformers <= MAX_METER_ID && n.usagepoints <= MAX_METER_ID).toBe(true);
        expect(decodeRetire(encodeRetire(n))).toEqual(n);
      }),
    );
  },
  fuzzTimeoutMs(2),
);
