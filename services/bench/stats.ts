// Small statistics for the bench: a figure measured several times is reported as its median and spread.
import { Spread } from './figures';

export function spread(samples: number[]): Spread {
  if (!samples.length) throw new Error('spread of no samples');
  const sorted = [...samples].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** `12,345 rows/s (11,900 … 12,800)`; the spread is left out for a single sample. */
export function fmtSpread(s: Spread, unit: string, digits?: number): string {
  const f = (n: number) => (digits === undefined ? fmt(n) : n.toFixed(digits));
  const range = s.samples.length > 1 ? ` (${f(s.min)} … ${f(s.max)})` : '';
  return `${f(s.median)}${unit ? ' ' + unit : ''}${range}`;
}

/** `12.3 µs`, or `n/a` for a figure that could not be read. */
export const fmtUs = (x?: number) => (x === undefined ? 'n/a' : `${x.toFixed(1)} µs`);
