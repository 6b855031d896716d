// Simulated time, the shared cycle grid (same instant → same simulated time and epochs on every replica,
// restarts continue forward), the schedule's one-minute spacing (raw_data is keyed by meter and simulated
// minute), the pacer's arithmetic on a fake clock, and the injector's environment validation.
import { EnvReader } from '../../src/lib/config';
import { injectConfig } from '../../src/simulator/config';
import { Pacer } from '../../src/simulator/pacer';
import { CycleSchedule, simulatedTime } from '../../src/simulator/schedule';
import { createSimulator } from '../../src/simulator';

const NOW = Date.parse('2024-05-01T10:00:00Z') / 1000;

test('simulated time runs at the acceleration from the anchor, with no offset', () => {
  expect(simulatedTime(NOW, { start: NOW, acceleration: 900 })).toBe(NOW);
  expect(simulatedTime(NOW + 1, { start: NOW, acceleration: 900 })).toBe(NOW + 900);
  expect(simulatedTime(NOW + 10, { start: NOW - 10, acceleration: 900 })).toBe(NOW - 10 + 20 * 900);
  // A simulated start in 2019 anchored at a real instant in 2024.
  const clock = { start: Date.parse('2019-03-17T00:00:00Z') / 1000, anchor: NOW, acceleration: 900 };
  expect(simulatedTime(NOW, clock)).toBe(clock.start);
  expect(simulatedTime(NOW + 4, clock)).toBe(clock.start + 3600);
});

describe('one simulated clock per stack', () => {
  // What a stack gives every injector (components/simulation-clock.ts): the anchor and the simulated time
  // there. The rate and topology are the stack's too: 50/s per injector, 48 meters, one cycle a second.
  const STACK = { INJECT_CLOCK_ANCHOR: String(NOW), INJECT_START: String(NOW), INJECT_RATE: '50' };
  const replica = (slot: number, startedAt: number) => {
    const { injector, simulator } = injectConfig(
      new EnvReader({ ...STACK, INJECT_SLOT: String(slot) }),
      startedAt,
    );
    const schedule = new CycleSchedule({
      start: injector.start,
      anchor: injector.anchor,
      acceleration: injector.acceleration,
      cycleRealSeconds: (createSimulator(simulator).meters.length + 2) / injector.rate,
    });
    return { injector, schedule };
  };
  /** The epochs an injector started at `startedAt` publishes in its first `cycles` cycles. */
  const published = (schedule: CycleSchedule, startedAt: number, cycles: number) => {
    const first = schedule.firstCycle(startedAt);
    return Array.from({ length: cycles }, (_, i) => schedule.epochOf(first + i));
  };

  test('the same real instant gives the same simulated time on every replica, whenever it started', () => {
    const first = replica(1, NOW + 2.5);
    const scaledUp = replica(2, NOW + 3 * 3600 + 0.37); // three real hours later: 112 simulated days
    const rescheduled = replica(3, NOW + 86_400 * 9 + 0.91);
    for (const at of [NOW + 10, NOW + 3 * 3600 + 0.5, NOW + 86_400 * 10 + 0.123]) {
      const times = [first, scaledUp, rescheduled].map((r) => simulatedTime(at, r.injector));
      expect(new Set(times).size).toBe(1);
      const cycles = [first, scaledUp, rescheduled].map((r) => r.schedule.firstCycle(at));
      expect(new Set(cycles).size).toBe(1);
    }
    for (let k = -5; k < 100_000; k += 997) {
      expect(scaledUp.schedule.epochOf(k)).toBe(first.schedule.epochOf(k));
      expect(rescheduled.schedule.epochOf(k)).toBe(first.schedule.epochOf(k));
      expect(scaledUp.schedule.dueAt(k)).toBe(first.schedule.dueAt(k));
    }
  });

  test('an injector started later (a scale-up) publishes on the first one’s grid, at the same epochs', () => {
    const first = replica(1, NOW + 1);
    const later = replica(2, NOW + 144.4); // at 900× the simulated 36 hours the issue saw
    const firstEpochs = published(first.schedule, NOW + 1, 1000);
    const laterEpochs = published(later.schedule, NOW + 144.4, 500);
    expect(laterEpochs[0]).toBe(NOW + 145 * 900); // the next boundary on the shared clock, not its own start
    const grid = new Set(firstEpochs);
    for (const epoch of laterEpochs) expect(grid.has(epoch)).toBe(true);
    // At the real instant each cycle is due both publish the same epoch.
    const k = later.schedule.firstCycle(NOW + 200);
    expect(later.schedule.epochOf(k)).toBe(first.schedule.epochOf(first.schedule.firstCycle(NOW + 200)));
  });

  test('a restart continues forward on the same grid: never back, never a cycle twice', () => {
    const { schedule } = replica(1, NOW + 0.2);
    const before = published(schedule, NOW + 0.2, 600);
    // The old process began cycles until it stopped (10 real minutes in) and came back 3 s later.
    const stoppedAt = NOW + 600.05;
    const lastBegun = schedule.firstCycle(stoppedAt) - 1;
    const restartedAt = stoppedAt + 3;
    const after = published(replica(1, restartedAt).schedule, restartedAt, 600);
    expect(after[0]).toBeGreaterThan(schedule.epochOf(lastBegun));
    expect(after[0]).toBe(schedule.epochOf(lastBegun + 4)); // 3 s at one cycle/s: 3 cycles skipped
    expect(after.filter((e) => before.includes(e))).toEqual([]);
    const grid = new Set(published(schedule, NOW + 0.2, 2000));
    for (const epoch of after) expect(grid.has(epoch)).toBe(true);
    // Even a restart within the same second never repeats the cycle that was under way.
    expect(schedule.firstCycle(stoppedAt + 0.001)).toBeGreaterThan(lastBegun);
  });

  test('a simulated start unlike the anchor (a stack replaying 2019) is shared the same way', () => {
    const env = { ...STACK, INJECT_START: '2019-03-17T00:00:00Z' };
    const a = injectConfig(new EnvReader({ ...env, INJECT_SLOT: '1' }), NOW + 7).injector;
    const b = injectConfig(new EnvReader({ ...env, INJECT_SLOT: '4' }), NOW + 7000).injector;
    expect(a).toMatchObject({ start: 1_552_780_800, anchor: NOW });
    expect(simulatedTime(NOW + 8000, a)).toBe(simulatedTime(NOW + 8000, b));
    expect(simulatedTime(NOW + 8000, a)).toBe(1_552_780_800 + 8000 * 900);
  });
});

test.each([
  [1, 1], // rate 1: one meter, a 3-message cycle every 3 s = 45 simulated minutes
  [500, 497],
  [50_000, 49_968],
  [30, 10], // 12 messages per cycle at 30/s: 0.4 s = 6 simulated minutes
])('at rate %i with %i meters no meter reports twice in one simulated minute', (rate, meters) => {
  const schedule = new CycleSchedule({
    start: NOW + 0.123,
    anchor: NOW,
    acceleration: 900,
    cycleRealSeconds: (meters + 2) / rate,
  });
  let previous = -Infinity;
  for (let k = schedule.firstCycle(NOW + 5.5); k < 5000; k++) {
    const epoch = schedule.epochOf(k);
    expect(epoch % 60).toBe(0);
    expect(epoch - previous).toBeGreaterThanOrEqual(60);
    previous = epoch;
  }
});

test('a cycle shorter than one simulated minute is refused', () => {
  expect(() => new CycleSchedule({ start: NOW, acceleration: 900, cycleRealSeconds: 0.05 })).toThrow(
    /must be >= 60 simulated s/,
  );
});

test('the readings of a schedule never repeat a (meter, minute)', () => {
  const sim = createSimulator({ seed: 1, topology: { lines: 1, transformers: 2, usagePoints: 3 } });
  const schedule = new CycleSchedule({ start: NOW, acceleration: 900, cycleRealSeconds: 8 / 110 });
  const seen = new Set<string>();
  for (let k = 0; k < 2000; k++) {
    for (const { meter, reading } of sim.cycleAt(schedule.epochOf(k)).voltages) {
      const key = `${meter.line}.${meter.transformer}.${meter.usagePoint}@${reading.epoch}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
  }
  expect(seen.size).toBe(12_000);
});

describe('pacer', () => {
  test('releases message n at n/rate seconds, in bursts when behind', () => {
    let t = 100;
    const pacer = new Pacer(1000, () => t);
    expect(pacer.due()).toBe(1); // message 0 is due at once
    pacer.take(1);
    expect(pacer.due()).toBe(0);
    expect(pacer.untilNext()).toBeCloseTo(0.001, 9);
    t += 0.0105;
    expect(pacer.due()).toBe(10);
    expect(pacer.due(4)).toBe(4);
    pacer.take(4);
    expect(pacer.due()).toBe(6);
    t += 2;
    pacer.take(pacer.due());
    expect(pacer.count).toBe(2011);
    expect(() => new Pacer(0)).toThrow(/rate/);
  });
});

describe('injector configuration', () => {
  const config = (env: Record<string, string>) => injectConfig(new EnvReader(env), NOW);

  test("defaults: 50/s (the stack's), topology from the rate, slot 1, clock anchored now, 900×, over-voltage off", () => {
    const c = config({});
    expect(c.simulator).toMatchObject({
      seed: 1,
      slot: 1,
      topology: { lines: 1, transformers: 3, usagePoints: 16 },
    });
    expect(c.simulator.overVoltage).toEqual({ perDay: 0, minutes: 45 });
    expect(c.injector).toMatchObject({
      rate: 50,
      start: NOW,
      anchor: NOW,
      acceleration: 900,
      subjectRoot: 'smartmeter',
    });
    expect(c.injector.durationSeconds).toBeUndefined();
  });

  test('INJECT_START alone is also the anchor (dev, tests, bench); the anchor alone is also the start', () => {
    expect(config({ INJECT_START: String(NOW - 60) }).injector).toMatchObject({
      start: NOW - 60,
      anchor: NOW - 60,
    });
    expect(config({ INJECT_CLOCK_ANCHOR: '2024-05-01T09:00:00Z' }).injector).toMatchObject({
      start: NOW - 3600,
      anchor: NOW - 3600,
    });
  });

  test('explicit topology, start as ISO date, bounds', () => {
    const c = config({
      INJECT_LINES: '2',
      INJECT_TRANSFORMERS: '3',
      INJECT_USAGEPOINTS: '4',
      INJECT_START: '2019-03-17T00:00:00Z',
      INJECT_ACCELERATION: '60',
      INJECT_RATE: '10',
      INJECT_DURATION_S: '3',
      INJECT_MAX_READINGS: '100',
      INJECT_SLOT: '2',
    });
    expect(c.simulator.topology).toEqual({ lines: 2, transformers: 3, usagePoints: 4 });
    expect(c.injector).toMatchObject({ start: 1_552_780_800, durationSeconds: 3, maxReadings: 100 });
  });

  test.each([
    [{ INJECT_RATE: '0' }, /INJECT_RATE must be a number >= 1/],
    [{ INJECT_LINES: '2' }, /set all of INJECT_LINES, INJECT_TRANSFORMERS, INJECT_USAGEPOINTS or none/],
    [
      { INJECT_SLOT: '12', INJECT_LINES: '8', INJECT_TRANSFORMERS: '1', INJECT_USAGEPOINTS: '100' },
      /INJECT_LINES\/INJECT_TRANSFORMERS\/INJECT_USAGEPOINTS, INJECT_SLOT: slot must be/,
    ],
    [
      { INJECT_ACCELERATION: '30' },
      /INJECT_RATE, INJECT_ACCELERATION, INJECT_START, INJECT_CLOCK_ANCHOR: .* >= 60 simulated s/,
    ],
    [{ INJECT_START: 'yesterday' }, /INJECT_START must be epoch seconds or an ISO-8601 date/],
    [
      { INJECT_START: '0', INJECT_CLOCK_ANCHOR: String(NOW + 3600) }, // 1970 an hour from now: 1969 now
      /INJECT_START, INJECT_CLOCK_ANCHOR: .*outside 1970 … 9999/,
    ],
    [
      { INJECT_CLOCK_ANCHOR: 'at deploy' },
      /INJECT_CLOCK_ANCHOR must be epoch seconds or an ISO-8601 date, got "at deploy"/,
    ],
    // A year after the anchor at 900× is 900 simulated years on.
    [
      { INJECT_START: '9000-01-01T00:00:00Z', INJECT_CLOCK_ANCHOR: String(NOW - 2 * 365 * 86_400) },
      /INJECT_START, INJECT_CLOCK_ANCHOR: the simulated time now .* is outside 1970 … 9999/,
    ],
    [{ INJECT_OVERVOLTAGE_RATE: '50' }, /INJECT_OVERVOLTAGE_RATE must be <= 32/],
    [{ INJECT_SEED: '-1' }, /INJECT_SEED must be an integer >= 0/],
    [{ INJECT_SUBJECT_ROOT: 'a.b' }, /INJECT_SUBJECT_ROOT must be one subject token/],
  ])('%j is refused with a message naming the variable', (env, message) => {
    expect(() => config(env as Record<string, string>)).toThrow(message);
  });
});
