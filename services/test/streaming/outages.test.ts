// The outage detector's rules on their own (streaming/outages.ts): silence past N intervals at the
// watermark, return, transformer share, retire notices, input gaps, and checkpoint/restore mid-outage.
import { OutageEvent, OutageRules, OutageState } from '../../src/streaming/outages';
import { MeterId } from '../../src/wire/codec';

const I = 900;
const T0 = 1_700_000_100 - (1_700_000_100 % I);
const RULES: OutageRules = { allowedLatenessS: 900, outageIntervals: 3, transformerOutageShare: 0.5 };
const meters: MeterId[] = [1, 2, 3, 4].map((usagePoint) => ({ line: 11, transformer: 1, usagePoint }));

/** Feeds cycles k = from…to-1: every meter reports unless `dark(meter index, k)`; returns the events. */
function feed(
  state: OutageState,
  from: number,
  to: number,
  dark: (i: number, k: number) => boolean = () => false,
): OutageEvent[] {
  for (let k = from; k < to; k++) {
    const epoch = T0 + k * I;
    state.advance(epoch); // the cycle's temperature comes first
    meters.forEach((m, i) => {
      if (!dark(i, k)) state.reading(m, epoch);
    });
  }
  return state.drain();
}

const brief = (e: OutageEvent) => `${e.kind} ${e.usagePoint} ${e.state} ${(e.start - T0) / I}`;

test('a meter silent for more than 3 intervals at the watermark is out from its first missed reading, until it reports', () => {
  const s = new OutageState(RULES);
  expect(feed(s, 0, 10)).toEqual([]);
  // Meter 0 misses cycles 10…17 (8 readings).
  const events = feed(s, 10, 20, (i, k) => i === 0 && k >= 10 && k < 18);
  expect(events.map(brief)).toEqual(['meter 1 open 10', 'meter 1 closed 10']);
  const [open, closed] = events;
  // Detected when the watermark (newest epoch − 900) was more than 3 intervals past cycle 9's reading.
  expect((open.detected - T0) / I).toBe(14);
  expect(closed.end).toBe(T0 + 18 * I);
  expect(s.openCount()).toEqual({ meter: 0, transformer: 0 });
});

test('a silence of 3 intervals or less is no outage', () => {
  const s = new OutageState(RULES);
  feed(s, 0, 5);
  expect(feed(s, 5, 15, (i, k) => i === 1 && k >= 5 && k < 8)).toEqual([]);
});

test('half the meters of a transformer out together is a transformer outage, from the latest start', () => {
  const s = new OutageState(RULES);
  feed(s, 0, 5);
  const events = feed(s, 5, 25, (i, k) => (i === 0 && k >= 5 && k < 20) || (i === 1 && k >= 6 && k < 15));
  expect(events.map(brief)).toEqual([
    'meter 1 open 5',
    'meter 2 open 6',
    'transformer -1 open 6',
    'meter 2 closed 6',
    'transformer -1 closed 6',
    'meter 1 closed 5',
  ]);
  const closed = events[4];
  expect([closed.end, closed.metersOut, closed.meters]).toEqual([T0 + 15 * I, 1, 4]);
});

test("a retired injector's meters are not reported; one already out stays out until it reports", () => {
  const s = new OutageState(RULES);
  feed(s, 0, 5);
  feed(s, 5, 10, (i, k) => i === 3 && k >= 5); // meter 3 out from cycle 5
  expect(s.openCount().meter).toBe(1);
  s.retire({ lines: [11, 11], transformers: 1, usagepoints: 4, epoch: T0 + 9 * I });
  expect(s.watched).toBe(1);
  // Nothing reports for a while, while another injector's readings move the event time on.
  for (let k = 10; k < 30; k++) {
    s.advance(T0 + k * I);
    s.reading({ line: 21, transformer: 1, usagePoint: 1 }, T0 + k * I);
  }
  s.retire({ lines: [21, 21], transformers: 1, usagepoints: 1, epoch: T0 + 29 * I });
  expect(s.drain()).toEqual([]);
  // A new injector for the same meters: they are watched again, and meter 3's outage closes.
  const events = feed(s, 30, 40);
  expect(events.map(brief)).toEqual(['meter 4 closed 5']);
  expect(s.watched).toBe(4);
});

test('a retire notice older than a meter’s last reading (an overlapping replacement) leaves it watched', () => {
  const s = new OutageState(RULES);
  feed(s, 0, 5);
  s.retire({ lines: [11, 11], transformers: 1, usagepoints: 4, epoch: T0 + 3 * I });
  expect(s.watched).toBe(4);
});

test('a jump of the whole input (nothing heard for 20 cycles) is not an outage of every meter', () => {
  const s = new OutageState(RULES);
  feed(s, 0, 5);
  expect(feed(s, 25, 35)).toEqual([]);
});

test('restored from a snapshot mid-outage, it closes the same outage, once', () => {
  const dark = (i: number, k: number) => i < 2 && k >= 5 && k < 20;
  const whole = new OutageState(RULES);
  const all = feed(whole, 0, 30, dark);
  const first = new OutageState(RULES);
  const before = feed(first, 0, 12, dark);
  const restored = OutageState.restore(RULES, JSON.parse(JSON.stringify(first.snapshot())));
  const after = feed(restored, 12, 30, dark);
  expect([...before, ...after]).toEqual(all);
  expect(all.map(brief)).toEqual([
    'meter 1 open 5',
    'meter 2 open 5',
    'transformer -1 open 5',
    'meter 1 closed 5',
    'transformer -1 closed 5',
    'meter 2 closed 5',
  ]);
});
