// Test data shaped like the original generator (original-system.md §2), small and seeded, for unit tests
// of the model code that must not depend on the simulator: max voltage = consumer profile by hour and
// weekday/weekend + 0.08·|T−5| − 1.64 + noise, temperature with a seasonal, a weekly and a 23-hour cycle
// (so temperature is not a function of the hour of day).
import { Observation } from '../../src/training/features';

const WEEKDAY = [117, 117, 118, 116, 115, 114, 116, 118, 117];
const WEEKEND = [117, 117, 116, 116, 118, 119, 119, 118, 117];

function interp(knots: number[], hour: number): number {
  const i = Math.floor(hour / 3);
  const f = (hour - 3 * i) / 3;
  return knots[i] + (knots[i + 1] - knots[i]) * f;
}

export function syntheticObservations(days: number, seed = 7, startEpoch = 1_704_067_200): Observation[] {
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const rows: Observation[] = [];
  for (let i = 0; i < days * 96; i++) {
    const epoch = startEpoch + i * 900;
    const d = new Date(epoch * 1000);
    const hour = d.getUTCHours() + d.getUTCMinutes() / 60;
    const dow = d.getUTCDay();
    const doy = Math.floor((epoch - Date.UTC(d.getUTCFullYear(), 0, 1) / 1000) / 86400) + 1;
    const temperature =
      -22 * Math.cos((2 * Math.PI * (doy - 1)) / 365) +
      Math.cos((2 * Math.PI * (dow - 1)) / 6) -
      5 * Math.cos((2 * Math.PI * hour) / 23) +
      2 * rand();
    const weekend = dow === 0 || dow === 6;
    const voltage =
      interp(weekend ? WEEKEND : WEEKDAY, hour) +
      0.08 * Math.abs(temperature - 5) -
      1.64 +
      0.3 * (rand() - 0.5);
    rows.push({ epoch, voltage, temperature });
  }
  return rows;
}
