// Prometheus's duration syntax, as its flags read it (prometheus/common model.ParseDuration, v0.65.0, the
// release prom/prometheus:v3.5.0 is built with): whole numbers each followed by a unit, units from the
// largest to the smallest and each at most once, `0` alone allowed, the total at most a Go time.Duration.
// A value refused here is one Prometheus refuses to start with.

const UNITS: Record<string, { pos: number; ns: bigint }> = {
  y: { pos: 1, ns: 365n * 86_400n * 10n ** 9n },
  w: { pos: 2, ns: 7n * 86_400n * 10n ** 9n },
  d: { pos: 3, ns: 86_400n * 10n ** 9n },
  h: { pos: 4, ns: 3_600n * 10n ** 9n },
  m: { pos: 5, ns: 60n * 10n ** 9n },
  s: { pos: 6, ns: 10n ** 9n },
  ms: { pos: 7, ns: 10n ** 6n },
};
const MAX_UINT64 = 2n ** 64n - 1n;
const MAX_DURATION_NS = 2n ** 63n - 1n;

/** The largest duration Prometheus takes, in its own syntax (~292 years). */
export const PROMETHEUS_MAX_DURATION = '106751d23h47m16s854ms';

/** Nanoseconds, or undefined where model.ParseDuration returns an error. */
export function parsePrometheusDuration(text: string): bigint | undefined {
  if (text === '0') return 0n;
  let rest = text;
  let total = 0n;
  let lastPos = 0;
  if (rest === '') return undefined;
  while (rest !== '') {
    const m = /^([0-9]+)([^0-9]*)/.exec(rest);
    if (!m || m[2] === '') return undefined;
    const value = BigInt(m[1]);
    if (value > MAX_UINT64) return undefined; // strconv.ParseUint
    const unit = Object.hasOwn(UNITS, m[2]) ? UNITS[m[2]] : undefined;
    if (!unit || unit.pos <= lastPos) return undefined;
    lastPos = unit.pos;
    if (value > 2n ** 63n / unit.ns) return undefined; // "duration out of range"
    total += value * unit.ns;
    if (total > MAX_DURATION_NS) return undefined;
    rest = rest.slice(m[0].length);
  }
  return total;
}
