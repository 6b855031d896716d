// The event-time rules of the stream job, on plain state: outcomes, what is due when, purging, alerts and
// the checkpoint round trip.
import { HOLD_MAX, HOLD_READINGS, WindowRules, WindowState } from '../../src/streaming/windows';
import { classify, inputSubjects } from '../../src/streaming/job';

const rules: WindowRules = {
  allowedLatenessS: 900,
  alertThresholdV: 120,
  alertMinCount: 2,
  alertWindowS: 0,
  maxAheadS: 14_400,
};
const DAY = Date.UTC(2024, 2, 4) / 1000; // a Monday, 00:00 UTC
const m = (line: number, transformer: number, usagePoint = 1) => ({ line, transformer, usagePoint });

/** A job that has an event time already (a fresh one holds its first readings until two agree). */
const running = (eventTime: number) =>
  WindowState.restore(rules, { v: 1, maxEventTime: eventTime, windows: [] });
const byKind = (s: WindowState, kind: string) => [...s.windows.values()].filter((w) => w.kind === kind);

test('max per epoch overall and per line, temperature per epoch, daily average per transformer', () => {
  const s = new WindowState(rules);
  s.addTemperature(DAY, 4.5);
  s.addVoltage(m(1, 1), DAY, 115);
  s.addVoltage(m(1, 2), DAY, 117.5);
  s.addVoltage(m(2, 1), DAY, 116);
  s.addVoltage(m(1, 1), DAY + 900, 114);
  expect(byKind(s, 'max_voltage').map((w) => [w.start, w.max])).toEqual([
    [DAY, 117.5],
    [DAY + 900, 114],
  ]);
  const lines = byKind(s, 'max_voltage_by_line').map((w) => [w.line, w.start, w.max]);
  expect(lines).toEqual(
    expect.arrayContaining([
      [1, DAY, 117.5],
      [2, DAY, 116],
      [1, DAY + 900, 114],
    ]),
  );
  expect(byKind(s, 'temperature').map((w) => [w.start, w.max])).toEqual([[DAY, 4.5]]);
  const avg = byKind(s, 'avg_voltage').find((w) => w.line === 1 && w.transformer === 1)!;
  expect([avg.start, avg.end, avg.sum / avg.count, avg.count]).toEqual([DAY, DAY + 86_400, 114.5, 2]);
});

test('one reading dated far ahead does not move the event time; on-time readings keep counting (regression, issue 23)', () => {
  const s = new WindowState(rules);
  s.addVoltage(m(1, 1), DAY, 115);
  s.addVoltage(m(1, 2), DAY, 116);
  s.addVoltage(m(9, 9), DAY + 10 * 365 * 86_400, 115); // ten years ahead
  expect(s.maxEventTime).toBe(DAY);
  expect(s.addVoltage(m(1, 1), DAY + 900, 117)).toBe('on_time');
  expect(s.addVoltage(m(1, 2), DAY + 900, 118)).toBe('on_time');
  expect(byKind(s, 'max_voltage').map((w) => [w.start - DAY, w.max])).toEqual([
    [0, 116],
    [900, 118],
  ]);
});

describe('readings far ahead of the event time (maxAheadS)', () => {
  const YEAR = 365 * 86_400;
  const outcomes = (s: WindowState) => s.settled().map((r) => `${r.outcome}@${r.reading.epoch - DAY}`);

  test('a jump agreed by two readings (the whole input paused, a clock moved forward) moves it; none is lost', () => {
    const s = running(DAY);
    expect(s.addVoltage(m(1, 1), DAY, 115)).toBe('on_time');
    expect(s.addVoltage(m(1, 1), DAY + 14_400, 116)).toBe('on_time'); // exactly the skew ahead
    expect(s.addTemperature(DAY + 30 * 86_400, 3)).toBe('held');
    expect(s.addVoltage(m(1, 1), DAY + 30 * 86_400, 117)).toBe('on_time');
    expect(s.maxEventTime).toBe(DAY + 30 * 86_400);
    expect(outcomes(s)).toEqual(['on_time@0', 'on_time@14400', 'on_time@2592000', 'on_time@2592000']);
    expect(s.heldCount).toBe(0);
  });

  test('one reading years ahead is refused after HOLD_READINGS readings that do not agree', () => {
    const s = running(DAY);
    expect(s.addVoltage(m(9, 9), DAY + 10 * YEAR, 115, 1)).toBe('held');
    for (let i = 0; i < HOLD_READINGS; i++) s.addVoltage(m(1, 1 + (i % 2)), DAY + 900 * (i % 4), 115, 2 + i);
    expect(s.heldCount).toBe(1);
    expect(s.settled().filter((r) => r.outcome === 'future')).toEqual([]);
    s.addVoltage(m(1, 1), DAY, 115);
    expect(s.settled().at(-1)).toMatchObject({
      outcome: 'future',
      reading: { seq: 1, epoch: DAY + 10 * YEAR },
    });
    expect([s.heldCount, s.maxEventTime]).toEqual([0, DAY + 2700]);
  });

  test('a held reading is folded once the event time comes within the skew of it', () => {
    const s = running(DAY);
    expect(s.addVoltage(m(1, 1), DAY + 20_000, 118)).toBe('held');
    expect(s.addVoltage(m(1, 2), DAY + 6_000, 115)).toBe('on_time');
    expect(outcomes(s)).toEqual(['on_time@6000', 'on_time@20000']);
    expect(s.maxEventTime).toBe(DAY + 20_000);
  });

  test(`a flood of readings that agree with none is held at most ${HOLD_MAX} at a time`, () => {
    const s = running(DAY);
    for (let i = 1; i <= HOLD_MAX + 3; i++)
      expect(s.addVoltage(m(9, 9), DAY + i * YEAR, 115, i)).toBe('held');
    expect(s.heldCount).toBe(HOLD_MAX);
    expect(s.settled().map((r) => [r.outcome, r.reading.seq])).toEqual([
      ['future', 1],
      ['future', 2],
      ['future', 3],
    ]);
    expect(s.maxEventTime).toBe(DAY);
  });

  test('held readings are kept in the snapshot with their original bytes', () => {
    const s = running(DAY);
    const data = new Uint8Array([1, 2, 3, 250]);
    const origin = { subject: 'r.raw.voltage.data.9.9.9', data, source: 4 };
    s.add({ seq: 7, epoch: DAY + YEAR, value: 121, meter: m(9, 9, 9), origin });
    const restored = WindowState.restore(rules, JSON.parse(JSON.stringify(s.snapshot())));
    expect(restored.heldCount).toBe(1);
    expect(restored.addVoltage(m(9, 9, 8), DAY + YEAR, 122, 8)).toBe('on_time');
    const [first] = restored.settled();
    expect(first).toMatchObject({ outcome: 'on_time', reading: { seq: 7, origin: { ...origin, data } } });
  });

  test('a restored event time that no reading can have is dropped: readings agree on a new one', () => {
    for (const bad of [-1, 1.5, 1e300, 'x']) {
      const s = WindowState.restore(rules, { v: 1, maxEventTime: bad as number, windows: [] });
      expect(s.maxEventTime).toBeNull();
    }
  });
});

test('several injectors on one clock: one max_voltage per epoch, their identical temperatures change nothing', () => {
  // Slots 1 and 2 publish the same epochs, each with the same temperature (a function of seed and epoch).
  const s = new WindowState(rules);
  s.addTemperature(DAY, 4.5);
  s.addVoltage(m(11, 1), DAY, 115);
  const [temperature] = byKind(s, 'temperature');
  temperature.written = temperature.version;
  s.addTemperature(DAY, 4.5);
  s.addVoltage(m(21, 1), DAY, 118);
  s.addVoltage(m(11, 1), DAY + 900, 114);
  expect(s.addTemperature(DAY, 4.5)).toBe('late'); // a third injector, a cycle behind the others
  expect(byKind(s, 'max_voltage').map((w) => [w.start, w.max])).toEqual([
    [DAY, 118],
    [DAY + 900, 114],
  ]);
  expect(byKind(s, 'temperature').map((w) => [w.start, w.max])).toEqual([[DAY, 4.5]]);
  expect(s.needsWrite(temperature)).toBe(false); // written once, not again for each duplicate
});

test('outcomes: on time, late within the allowed lateness, amended beyond it', () => {
  const s = new WindowState(rules);
  // A fresh state has no event time: readings wait until two agree (a repeat of one meter's epoch does not).
  expect(s.addVoltage(m(1, 1), DAY + 1800, 115)).toBe('held');
  expect(s.addVoltage(m(1, 1), DAY + 1800, 116)).toBe('held');
  expect(s.addVoltage(m(1, 1), DAY + 900, 117)).toBe('late');
  expect(s.settled().map((r) => r.outcome)).toEqual(['on_time', 'on_time', 'late']);
  expect(s.addVoltage(m(1, 1), DAY + 899, 118)).toBe('amended');
  expect(s.addTemperature(DAY, 3)).toBe('amended');
  // Behind the watermark, windows never seen are read back from their rows first (none are held here).
  expect(byKind(s, 'max_voltage').map((w) => w.start)).toEqual([DAY + 1800, DAY + 900]);
  expect(s.reopens().map((r) => `${r.kind}@${r.start - DAY}`)).toEqual([
    'max_voltage@899',
    'max_voltage_by_line@899',
    'temperature@0',
  ]);
  expect(s.parkedCount).toBe(3);
  // Its day is still held: the amended reading is in the average at once.
  expect(byKind(s, 'avg_voltage')[0].count).toBe(4);
});

test('an amended reading is folded into the row it is reopened from, once, and written again', () => {
  const s = new WindowState(rules);
  s.addVoltage(m(1, 1), DAY, 115, 1);
  s.addVoltage(m(1, 1), DAY + 3 * 900, 114, 2);
  s.due(false).forEach((w) => (w.written = w.version));
  expect(s.purge()).toBeGreaterThan(0);
  expect(byKind(s, 'max_voltage').map((w) => w.start)).toEqual([DAY + 2700]);

  // A flushed backlog: two readings of epoch DAY (seq 3 and 4), its max window closed and forgotten.
  expect(s.addVoltage(m(2, 1), DAY, 119, 3)).toBe('amended');
  expect(s.addVoltage(m(2, 2), DAY, 117, 4)).toBe('amended');
  const refs = s.reopens();
  expect(refs.map((r) => `${r.kind}:${r.line}@${r.start - DAY}`)).toEqual([
    'max_voltage:-1@0',
    'max_voltage_by_line:2@0',
  ]);
  expect(s.reopens()).toEqual([]); // each asked for once
  expect(s.parkedCount).toBe(4);
  // The rows: the max of epoch DAY was 115 (seq 1); line 2 had none.
  s.reopen(refs[0], { max: 115, sum: 0, count: 0, over: 0, firstOver: Infinity, seq: 1 });
  s.reopen(refs[1], null);
  expect(s.parkedCount).toBe(0);
  const max = byKind(s, 'max_voltage').find((w) => w.start === DAY)!;
  expect([max.max, max.seq, max.floor]).toEqual([119, 4, 1]);
  expect(s.due(false)).toContain(max);
  const line2 = byKind(s, 'max_voltage_by_line').find((w) => w.line === 2)!;
  expect([line2.max, line2.seq]).toEqual([119, 4]);
});

test('a replayed reading is not folded into a row that has it already (seq at or below its floor)', () => {
  const s = running(DAY + 2 * 86_400);
  s.addVoltage(m(1, 1), DAY + 2 * 86_400, 114, 11); // two days on: the first day's average is closed
  // After a restart from an older checkpoint a backlog comes again (seq 7, 8) with one new reading (9); the
  // day's row was written with 7 and 8 already (its seq is 8).
  s.addVoltage(m(1, 1), DAY, 116, 7);
  s.addVoltage(m(1, 1), DAY + 900, 118, 8);
  s.addVoltage(m(1, 1), DAY + 1800, 112, 9);
  const day = s.reopens().find((r) => r.kind === 'avg_voltage')!;
  expect(day).toMatchObject({ line: 1, transformer: 1, start: DAY });
  s.reopen(day, { max: -Infinity, sum: 116 + 118, count: 2, over: 0, firstOver: Infinity, seq: 8 });
  const avg = byKind(s, 'avg_voltage').find((w) => w.start === DAY)!;
  expect([avg.count, avg.sum, avg.seq, avg.floor]).toEqual([3, 346, 9, 8]);
});

test('a window is due once event time passes its end, again after a late change, and then purged', () => {
  const s = running(DAY);
  s.addVoltage(m(1, 1), DAY, 115);
  const dueNames = () => s.due(false).map((w) => `${w.kind}@${w.start - DAY}`);
  // Only the progressive daily average before the epoch is over.
  expect(dueNames()).toEqual(['avg_voltage@0']);
  s.addVoltage(m(1, 1), DAY + 900, 114);
  const due = s.due(false);
  expect(due.map((w) => `${w.kind}@${w.start - DAY}`).sort()).toEqual(
    ['avg_voltage@0', 'max_voltage@0', 'max_voltage_by_line@0'].sort(),
  );
  due.forEach((w) => (w.written = w.version));
  expect(s.due(false)).toEqual([]);
  // A late reading raising epoch 0's max makes it due again; one below the max changes nothing.
  s.addVoltage(m(1, 1), DAY, 113);
  expect(s.due(false).map((w) => w.kind)).toEqual(['avg_voltage']);
  s.addVoltage(m(1, 1), DAY, 119);
  expect(s.due(false).map((w) => `${w.kind}@${w.start - DAY}`)).toContain('max_voltage@0');
  s.due(false).forEach((w) => (w.written = w.version));
  // Idle: the newest epoch is written too.
  expect(s.due(true).map((w) => `${w.kind}@${w.start - DAY}`)).toContain('max_voltage@900');
  s.due(true).forEach((w) => (w.written = w.version));
  // The watermark passes epoch 0 (and 900) once event time reaches 900 + 1 + lateness.
  s.addVoltage(m(1, 1), DAY + 1801, 115);
  expect(s.purge()).toBe(4);
  expect(byKind(s, 'max_voltage').map((w) => w.start)).toEqual([DAY + 1801]);
});

test('a closed window that was never written is kept until it is', () => {
  const s = new WindowState(rules);
  s.addVoltage(m(1, 1), DAY, 115);
  s.addVoltage(m(1, 1), DAY + 5000, 115);
  expect(s.purge()).toBe(0);
  s.due(false).forEach((w) => (w.written = w.version));
  expect(s.purge()).toBe(2);
});

describe('alerts', () => {
  test('two readings above 120 V for one transformer within an epoch raise one alert', () => {
    const s = new WindowState(rules);
    s.addVoltage(m(1, 1, 1), DAY, 120.5);
    s.addVoltage(m(1, 1, 2), DAY, 121.25);
    s.addVoltage(m(1, 1, 3), DAY + 900, 118);
    const alerts = s.due(false).filter((w) => w.kind === 'alert');
    expect(alerts.map((w) => [w.line, w.transformer, w.start, w.end, w.over, w.max, w.firstOver])).toEqual([
      [1, 1, DAY, DAY + 1, 2, 121.25, DAY],
    ]);
  });

  test.each([
    ['one reading above 120 V', [120.5, 119]],
    ['many readings at 119.9 V', [119.9, 119.9, 119.9, 119.9]],
    ['exactly 120 V is not above it', [120, 120]],
  ])('no alert for %s', (_, volts) => {
    const s = new WindowState(rules);
    volts.forEach((v, i) => s.addVoltage(m(1, 1, i + 1), DAY, v));
    s.addVoltage(m(1, 1), DAY + 900, 118);
    expect(s.due(true).filter((w) => w.kind === 'alert')).toEqual([]);
  });

  test('readings over the threshold on different transformers do not add up', () => {
    const s = new WindowState(rules);
    s.addVoltage(m(1, 1), DAY, 125);
    s.addVoltage(m(1, 2), DAY, 125);
    expect(s.due(true).filter((w) => w.kind === 'alert')).toEqual([]);
  });

  test('a longer alert window gathers readings of several epochs', () => {
    const s = new WindowState({ ...rules, alertWindowS: 3600 });
    s.addVoltage(m(1, 1), DAY + 900, 125);
    s.addVoltage(m(1, 1), DAY + 2700, 126);
    s.addVoltage(m(1, 1), DAY + 3600, 118);
    const alerts = s.due(false).filter((w) => w.kind === 'alert');
    expect(alerts.map((w) => [w.start, w.end, w.over, w.firstOver])).toEqual([
      [DAY, DAY + 3600, 2, DAY + 900],
    ]);
  });
});

test('a snapshot restores the same state, counting the windows being written as written', () => {
  const s = new WindowState(rules);
  s.addVoltage(m(1, 1), DAY, 121);
  s.addVoltage(m(1, 1), DAY, 122);
  s.addTemperature(DAY, 2.5);
  s.addVoltage(m(3, 4), DAY + 900, 116);
  const writing = new Map(s.due(false).map((w) => [w, w.version]));
  const restored = WindowState.restore(rules, JSON.parse(JSON.stringify(s.snapshot(writing))));
  expect(restored.maxEventTime).toBe(s.maxEventTime);
  expect(restored.due(false)).toEqual([]);
  // Only what was not being written: the newest epoch, whose event time has not passed yet.
  expect(restored.due(true).map((w) => `${w.kind}@${w.start - DAY}`)).toEqual([
    'max_voltage@900',
    'max_voltage_by_line@900',
  ]);
  // And it goes on as the original would.
  expect(restored.addVoltage(m(1, 1), DAY, 123)).toBe('late');
  expect(byKind(restored, 'alert')[0].over).toBe(3);
});

test('raw subjects under a root', () => {
  expect(classify('t1', 't1.raw.voltage.data.11.2.3')).toEqual({
    kind: 'voltage',
    line: 11,
    transformer: 2,
    usagePoint: 3,
  });
  expect(classify('t1', 't1.raw.temperature.data')).toEqual({ kind: 'temperature' });
  expect(classify('t1', 't1.raw.control.retire')).toEqual({ kind: 'retire' });
  expect(inputSubjects('t1')).toEqual([
    't1.raw.voltage.data.>',
    't1.raw.temperature.data',
    't1.raw.control.retire',
  ]);
  // Forecasts are not the job's input: its consumer does not deliver them.
  expect(() => classify('t1', 't1.raw.temperature.forecast.12')).toThrow(
    expect.objectContaining({ reason: 'subject' }),
  );
  expect(() => classify('t1', 't1.raw.voltage.data.x.2.3')).toThrow(
    expect.objectContaining({ reason: 'subject' }),
  );
  expect(() => classify('t1', 't1.raw.other')).toThrow(expect.objectContaining({ reason: 'subject' }));
});
