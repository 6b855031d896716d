// Simulated time, the cycle schedule's one-minute spacing (raw_data is keyed by meter and simulated
// minute), the pacer's arithmetic on a fake clock, and the injector's environment validation.
import { EnvReader } from '../../src/lib/config';
import { injectConfig } from '../../src/simulator/config';
import { Pacer } from '../../src/simulator/pacer';
import { CycleSchedule, simulatedTime } from '../../src/simulator/schedule';
import { createSimulator } from '../../src/simulator';

const NOW = Date.parse('2024-05-01T10:00:00Z') / 1000;

test('simulated time runs at the acceleration from the start, with no offset', () => {
  expect(simulatedTime(NOW, NOW, 900)).toBe(NOW);
  expect(simulatedTime(NOW + 1, NOW, 900)).toBe(NOW + 900);
  expect(simulatedTime(NOW + 10, NOW - 10, 900)).toBe(NOW - 10 + 20 * 900);
});

test.each([
  [1, 1], // rate 1: one meter, a 3-message cycle every 3 s = 45 simulated minutes
  [500, 497],
  [50_000, 49_968],
  [30, 10], // 12 messages per cycle at 30/s: 0.4 s = 6 simulated minutes
])('at rate %i with %i meters no meter reports twice in one simulated minute', (rate, meters) => {
  const schedule = new CycleSchedule({
    start: NOW,
    acceleration: 900,
    realStart: NOW + 0.123,
    cycleRealSeconds: (meters + 2) / rate,
  });
  let previous = -Infinity;
  for (let k = 0; k < 5000; k++) {
    const epoch = schedule.epochOf(k);
    expect(epoch % 60).toBe(0);
    expect(epoch - previous).toBeGreaterThanOrEqual(60);
    previous = epoch;
  }
});

test('a cycle shorter than one simulated minute is refused', () => {
  expect(
    () => new CycleSchedule({ start: NOW, acceleration: 900, realStart: NOW, cycleRealSeconds: 0.05 }),
  ).toThrow(/must be >= 60 simulated s/);
});

test('the readings of a schedule never repeat a (meter, minute)', () => {
  const sim = createSimulator({ seed: 1, topology: { lines: 1, transformers: 2, usagePoints: 3 } });
  const schedule = new CycleSchedule({
    start: NOW,
    acceleration: 900,
    realStart: NOW,
    cycleRealSeconds: 8 / 110,
  });
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

  test('defaults: 500/s, topology from the rate, slot 1, start now, 900×, over-voltage off', () => {
    const c = config({});
    expect(c.simulator).toMatchObject({
      seed: 1,
      slot: 1,
      topology: { lines: 1, transformers: 7, usagePoints: 71 },
    });
    expect(c.simulator.overVoltage).toEqual({ perDay: 0, minutes: 45 });
    expect(c.injector).toMatchObject({ rate: 500, start: NOW, acceleration: 900, subjectRoot: 'smartmeter' });
    expect(c.injector.durationSeconds).toBeUndefined();
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
    [{ INJECT_ACCELERATION: '30' }, /INJECT_RATE, INJECT_ACCELERATION, INJECT_START: .* >= 60 simulated s/],
    [{ INJECT_START: 'yesterday' }, /INJECT_START must be epoch seconds or an ISO-8601 date/],
    [{ INJECT_START: '0' }, /outside 1970 … 9999/],
    [{ INJECT_OVERVOLTAGE_RATE: '50' }, /INJECT_OVERVOLTAGE_RATE must be <= 32/],
    [{ INJECT_SEED: '-1' }, /INJECT_SEED must be an integer >= 0/],
    [{ INJECT_SUBJECT_ROOT: 'a.b' }, /INJECT_SUBJECT_ROOT must be one subject token/],
  ])('%j is refused with a message naming the variable', (env, message) => {
    expect(() => config(env as Record<string, string>)).toThrow(message);
  });
});
