// Prometheus's byte-size syntax, as its `--storage.tsdb.retention.size` flag reads it (kingpin's BytesVar:
// alecthomas/units ParseBase2Bytes): a sign, then numbers (decimals allowed) each with a unit, all units of
// one family — B, KiB … EiB, or B, KB … EB, both powers of 2 — or `0` alone; the total must fit an int64.

const POWERS = ['K', 'M', 'G', 'T', 'P', 'E'];
const unitMap = (suffix: string): Record<string, number> => ({
  B: 1,
  ...Object.fromEntries(POWERS.map((p, i) => [p + suffix, 1024 ** (i + 1)])),
});
const BINARY = unitMap('iB');
const OLD = unitMap('B');
const LEADING_INT_LIMIT = (2n ** 63n - 10n) / 10n;

/** units.leadingInt: [0-9]* as an int64, undefined on overflow. */
function leadingInt(s: string): { x: bigint; rest: string } | undefined {
  let x = 0n;
  let i = 0;
  for (; i < s.length && s[i] >= '0' && s[i] <= '9'; i++) {
    if (x >= LEADING_INT_LIMIT) return undefined;
    x = x * 10n + BigInt(s.charCodeAt(i) - 48);
  }
  return { x, rest: s.slice(i) };
}

/** units.ParseUnit with one unit map: the value as Go's float64 arithmetic gives it, or undefined. */
function parseUnit(orig: string, units: Record<string, number>): number | undefined {
  let s = orig;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let f = 0;
  while (s !== '') {
    if (!(s[0] === '.' || (s[0] >= '0' && s[0] <= '9'))) return undefined;
    const before = leadingInt(s);
    if (!before) return undefined;
    const pre = before.rest.length !== s.length;
    s = before.rest;
    let g = Number(before.x);
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      const after = leadingInt(s);
      if (!after) return undefined;
      let scale = 1;
      for (let n = s.length - after.rest.length; n > 0; n--) scale *= 10;
      g += Number(after.x) / scale;
      post = after.rest.length !== s.length;
      s = after.rest;
    }
    if (!pre && !post) return undefined;
    const unitText = /^[^.0-9]*/.exec(s)![0];
    s = s.slice(unitText.length);
    if (!Object.hasOwn(units, unitText)) return undefined;
    f += g * units[unitText];
  }
  if (negative) f = -f;
  // Go's int64(f) for f ≥ 2^63 is not the value: refuse it (Go refuses only f > 2^63).
  if (f < -(2 ** 63) || f >= 2 ** 63) return undefined;
  return Math.trunc(f);
}

/** Bytes, or undefined where ParseBase2Bytes returns an error. */
export function parsePrometheusSize(text: string): number | undefined {
  return parseUnit(text, BINARY) ?? parseUnit(text, OLD);
}
