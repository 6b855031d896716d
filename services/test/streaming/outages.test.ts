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

describe('two injectors, one behind: slot 1 on line 11, slot 2 on line 21', () => {
  const other: MeterId[] = [1, 2, 3, 4].map((usagePoint) => ({ line: 21, transformer: 1, usagePoint }));
  /** Cycle k of one injector: the temperature moves the event time, then its four readings. */
  const cycleOf = (s: OutageState, group: MeterId[], k: number) => {
    s.advance(T0 + k * I);
    for (const m of group) s.reading(m, T0 + k * I);
  };

  test('a backlog flushed behind the other injector is no outage: its meters are judged by their own time', () => {
    const s = new OutageState(RULES);
    for (let k = 0; k < 10; k++) [meters, other].forEach((g) => cycleOf(s, g, k));
    // Slot 2 is cut off for 3 cycles (less than its silence), then flushes 10…29 at two cycles per cycle
    // of slot 1, far behind the event time.
    for (let k = 10; k < 13; k++) cycleOf(s, meters, k);
    for (let k = 13, b = 10; k < 23; k++) {
      cycleOf(s, meters, k);
      cycleOf(s, other, b++);
      cycleOf(s, other, b++);
    }
    expect(s.drain()).toEqual([]);
  });

  test('a cut-off injector is reported out; its flushed backlog withdraws those outages', () => {
    const s = new OutageState(RULES);
    for (let k = 0; k < 10; k++) [meters, other].forEach((g) => cycleOf(s, g, k));
    // Slot 2 silent for 10 cycles of slot 1: its meters and its transformer go out.
    for (let k = 10; k < 20; k++) cycleOf(s, meters, k);
    const opened = s.drain();
    expect(opened.map(brief).sort()).toEqual([
      'meter 1 open 10',
      'meter 2 open 10',
      'meter 3 open 10',
      'meter 4 open 10',
      'transformer -1 open 10',
    ]);
    expect(opened.every((e) => e.line === 21)).toBe(true);
    // Its backlog arrives: the readings taken for missed were only late.
    for (let b = 10; b < 20; b++) cycleOf(s, other, b);
    const withdrawn = s.drain();
    expect(withdrawn.map(brief).sort()).toEqual(
      [
        'meter 1 withdrawn 10',
        'meter 2 withdrawn 10',
        'meter 3 withdrawn 10',
        'meter 4 withdrawn 10',
        'transformer -1 withdrawn 10',
      ].sort(),
    );
    expect(s.openCount()).toEqual({ meter: 0, transformer: 0 });
  });

  test('every meter of an injector dark while its temperatures come: they go out (it is heard)', () => {
    // Slot 2 alone: nothing else moves the input on, only its temperatures say it is there.
    const s = new OutageState(RULES);
    for (let k = 0; k < 30; k++) {
      s.advance(T0 + k * I);
      s.heartbeat(2, T0 + k * I); // slot 2's temperature (its id says t2.<epoch>)
      if (k < 10 || k >= 20) for (const m of other) s.reading(m, T0 + k * I);
    }
    const events = s.drain().map(brief);
    expect(events.filter((e) => e.includes('open')).sort()).toEqual([
      'meter 1 open 10',
      'meter 2 open 10',
      'meter 3 open 10',
      'meter 4 open 10',
      'transformer -1 open 10',
    ]);
    expect(events.filter((e) => e.includes('withdrawn'))).toEqual([]);
  });

  test('a meter really dark in the other injector still goes out, and closes (not withdrawn) when back', () => {
    const s = new OutageState(RULES);
    for (let k = 0; k < 30; k++) {
      cycleOf(s, meters, k);
      s.advance(T0 + k * I);
      other.forEach((m, i) => (i === 0 && k >= 10 && k < 20 ? undefined : s.reading(m, T0 + k * I)));
    }
    expect(s.drain().map(brief)).toEqual(['meter 1 open 10', 'meter 1 closed 10']);
  });
});
