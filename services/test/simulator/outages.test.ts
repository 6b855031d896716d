// The simulator's injected outages (simulator/outages.ts): off by default, a pure function of the seed,
// at the configured rate and length, whole transformers at once; and their INJECT_* variables.
import { EnvReader } from '../../src/lib/config';
import { injectConfig } from '../../src/simulator/config';
import { outageRuns } from '../../src/simulator/outages';
import { createSimulator } from '../../src/simulator/simulator';

const START = Date.UTC(2024, 0, 1) / 1000;
const CYCLE = 900;
const DAYS = 30;
const epochs = Array.from({ length: (DAYS * 86_400) / CYCLE }, (_, k) => START + k * CYCLE);
const topology = { lines: 1, transformers: 4, usagePoints: 10 };

test('off by default: every meter reports every cycle', () => {
  const sim = createSimulator({ seed: 1, topology });
  expect(outageRuns(sim.meters, sim.dark, epochs)).toEqual([]);
  expect(sim.cycleAt(START).voltages).toHaveLength(40);
});

test('single-meter outages: deterministic from the seed, at the rate and length asked', () => {
  const outages = { perDay: 0.5, transformerPerDay: 0, minutes: 120 };
  const sim = createSimulator({ seed: 7, topology, outages });
  const runs = outageRuns(sim.meters, sim.dark, epochs);
  const again = createSimulator({ seed: 7, topology, outages });
  expect(outageRuns(again.meters, again.dark, epochs)).toEqual(runs);
  const other = createSimulator({ seed: 8, topology, outages });
  expect(outageRuns(other.meters, other.dark, epochs)).not.toEqual(runs);
  // 40 meters × 30 days × 0.5/day = 600 expected (a few merge when two fall back to back).
  expect(runs.length).toBeGreaterThan(500);
  expect(runs.length).toBeLessThan(700);
  // 120 minutes starting on a whole minute: 7 or 8 cycles of 15 minutes are missed (more when merged;
  // runs cut by the first or last epoch aside).
  for (const r of runs.filter((x) => x.end !== null && x.start > START)) {
    expect(r.end! - r.start).toBeGreaterThanOrEqual(7 * CYCLE);
  }
  // A dark meter has no reading in its cycle; the others do.
  const r = runs[0];
  const i = sim.meters.indexOf(r.meter);
  expect(sim.cycleAt(r.start).voltages.map((v) => v.meter)).not.toContain(sim.meters[i]);
  const darkNow = sim.meters.filter((_, j) => sim.dark(j, r.start)).length;
  expect(darkNow).toBeGreaterThanOrEqual(1);
  expect(sim.cycleAt(r.start).voltages).toHaveLength(40 - darkNow);
});

test('transformer outages take all its meters at once', () => {
  const sim = createSimulator({
    seed: 3,
    topology,
    outages: { perDay: 0, transformerPerDay: 0.2, minutes: 180 },
  });
  const runs = outageRuns(sim.meters, sim.dark, epochs);
  const byStart = new Map<string, number>();
  for (const r of runs) {
    const k = `${r.meter.transformer}@${r.start}`;
    byStart.set(k, (byStart.get(k) ?? 0) + 1);
  }
  expect(byStart.size).toBeGreaterThan(10);
  expect([...byStart.values()].every((n) => n === topology.usagePoints)).toBe(true);
});

const env = (vars: Record<string, string>) => new EnvReader({ INJECT_START: String(START), ...vars });

test('INJECT_OUTAGE_* reach the simulator, and a rate too high for the length is refused naming both', () => {
  expect(injectConfig(env({})).simulator.outages).toEqual({ perDay: 0, transformerPerDay: 0, minutes: 120 });
  expect(
    injectConfig(
      env({ INJECT_OUTAGE_RATE: '2', INJECT_TRANSFORMER_OUTAGE_RATE: '0.5', INJECT_OUTAGE_MINUTES: '60' }),
    ).simulator.outages,
  ).toEqual({ perDay: 2, transformerPerDay: 0.5, minutes: 60 });
  expect(() => injectConfig(env({ INJECT_OUTAGE_RATE: '13' }))).toThrow(
    /INJECT_OUTAGE_RATE.*INJECT_OUTAGE_MINUTES.*perDay must be in \[0, 12\]/,
  );
  expect(() => injectConfig(env({ INJECT_OUTAGE_MINUTES: '0' }))).toThrow(/INJECT_OUTAGE_MINUTES/);
});
