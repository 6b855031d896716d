// The plan as a picture: cost per month and node counts against fleet size (log scale), with the current
// plan marked and the sizes beyond the largest allowed cluster shaded. Hand-written SVG, no dependency.

export interface ChartPoint {
  readonly meters: number;
  /** Undefined where the fleet is beyond the largest cluster. */
  readonly plan?: {
    readonly perMonth: number;
    readonly workers: number;
    readonly cassandraNodes: number;
    readonly natsNodes: number;
    readonly ingestReplicas: number;
    readonly injectors: number;
  };
}

type Count = Exclude<keyof NonNullable<ChartPoint['plan']>, 'perMonth'>;
const COUNTS: { key: Count; label: string; color: string }[] = [
  { key: 'workers', label: 'AWS workers', color: '#1f77b4' },
  { key: 'cassandraNodes', label: 'Cassandra nodes', color: '#d62728' },
  { key: 'natsNodes', label: 'NATS nodes', color: '#2ca02c' },
  { key: 'ingestReplicas', label: 'ingest replicas', color: '#9467bd' },
  { key: 'injectors', label: 'injectors', color: '#ff7f0e' },
];

const W = 900;
const PANEL_H = 260;
const LEFT = 80;
const RIGHT = 190;
const TOP = 56;
const GAP = 60;

/** Fleet sizes from `from` to `to`, evenly spaced on a log scale. */
export function fleetSizes(from = 10_000, to = 30_000_000, steps = 42): number[] {
  const [a, b] = [Math.log10(from), Math.log10(to)];
  return Array.from({ length: steps + 1 }, (_, i) => Math.round(10 ** (a + ((b - a) * i) / steps)));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const short = (n: number) =>
  n >= 1e6 ? `${+(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)} k` : String(n);
/** A round axis maximum at or above `v`: 1, 2 or 5 × 10^k. */
function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1)));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

export function renderChart(
  points: readonly ChartPoint[],
  current: ChartPoint,
  title: string,
  subtitle: string,
  /** The largest fleet the largest allowed cluster carries, if within the chart. */
  limit?: number,
): string {
  const all = [...points, current].sort((p, q) => p.meters - q.meters);
  const [minM, maxM] = [all[0].meters, all[all.length - 1].meters];
  const plotW = W - LEFT - RIGHT;
  const x = (m: number) =>
    LEFT + ((Math.log10(m) - Math.log10(minM)) / (Math.log10(maxM) - Math.log10(minM))) * plotW;
  const planned = all.filter((p) => p.plan);
  const costMax = niceMax(Math.max(...planned.map((p) => p.plan!.perMonth)));
  const countMax = niceMax(Math.max(...planned.flatMap((p) => COUNTS.map((c) => p.plan![c.key]))));
  const top2 = TOP + PANEL_H + GAP;
  const y1 = (v: number) => TOP + PANEL_H - (v / costMax) * PANEL_H;
  const y2 = (v: number) => top2 + PANEL_H - (v / countMax) * PANEL_H;
  const out: string[] = [];
  const H = top2 + PANEL_H + 60;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${LEFT}" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="${LEFT}" y="38" fill="#555">${esc(subtitle)}</text>`,
  );
  // Beyond the largest cluster: shaded from the largest fleet it carries.
  if (limit !== undefined && limit < maxM) {
    const from = Math.max(LEFT, x(limit));
    for (const top of [TOP, top2]) {
      out.push(
        `<rect x="${from}" y="${top}" width="${LEFT + plotW - from}" height="${PANEL_H}" fill="#eee"/>`,
      );
    }
    out.push(
      `<text transform="translate(${from + 14} ${top2 + PANEL_H - 8}) rotate(-90)" fill="#666">` +
        `beyond the largest allowed cluster (${short(limit)})</text>`,
    );
  }
  // Axes, grid and ticks.
  for (const [top, max, y, label] of [
    [TOP, costMax, y1, 'USD per month'],
    [top2, countMax, y2, 'nodes / replicas'],
  ] as const) {
    for (let i = 0; i <= 5; i++) {
      const v = (max * i) / 5;
      out.push(
        `<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
        `<text x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end">${short(v)}</text>`,
      );
    }
    out.push(
      `<rect x="${LEFT}" y="${top}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="#333"/>`,
      `<text transform="translate(20 ${top + PANEL_H / 2}) rotate(-90)" text-anchor="middle">${label}</text>`,
    );
  }
  for (let e = Math.ceil(Math.log10(minM)); e <= Math.floor(Math.log10(maxM)); e++) {
    const m = 10 ** e;
    out.push(
      `<line x1="${x(m)}" x2="${x(m)}" y1="${TOP}" y2="${top2 + PANEL_H}" stroke="#ddd"/>`,
      `<text x="${x(m)}" y="${top2 + PANEL_H + 18}" text-anchor="middle">${short(m)}</text>`,
    );
  }
  out.push(
    `<text x="${LEFT + plotW / 2}" y="${top2 + PANEL_H + 40}" text-anchor="middle">meters (log scale)</text>`,
  );
  // Series: cost as a line, counts as steps.
  const path = (pts: [number, number][], step: boolean) =>
    pts.map(([px, py], i) => (i === 0 ? `M${px},${py}` : step ? `H${px}V${py}` : `L${px},${py}`)).join(' ');
  out.push(
    `<path d="${path(
      planned.map((p) => [x(p.meters), y1(p.plan!.perMonth)]),
      false,
    )}" fill="none" stroke="#000" stroke-width="2"/>`,
  );
  COUNTS.forEach((c, i) => {
    const pts = planned.map((p): [number, number] => [x(p.meters), y2(p.plan![c.key]) - i * 1.5]);
    out.push(`<path d="${path(pts, true)}" fill="none" stroke="${c.color}" stroke-width="2"/>`);
    const ly = top2 + 14 + i * 18;
    out.push(
      `<line x1="${LEFT + plotW + 12}" x2="${LEFT + plotW + 32}" y1="${ly - 4}" y2="${ly - 4}" stroke="${c.color}" stroke-width="2"/>`,
      `<text x="${LEFT + plotW + 38}" y="${ly}">${c.label}</text>`,
    );
  });
  out.push(
    `<line x1="${LEFT + plotW + 12}" x2="${LEFT + plotW + 32}" y1="${TOP + 10}" y2="${TOP + 10}" stroke="#000" stroke-width="2"/>`,
    `<text x="${LEFT + plotW + 38}" y="${TOP + 14}">cost (aws stack)</text>`,
  );
  // The current plan.
  const cx = x(current.meters);
  out.push(
    `<line x1="${cx}" x2="${cx}" y1="${TOP}" y2="${top2 + PANEL_H}" stroke="#c00" stroke-dasharray="5,4"/>`,
  );
  if (current.plan) {
    const label = `${short(current.meters)} meters: $${Math.round(current.plan.perMonth).toLocaleString('en-US')}/month, ${current.plan.workers} workers`;
    out.push(
      `<circle cx="${cx}" cy="${y1(current.plan.perMonth)}" r="5" fill="#c00"/>`,
      `<text x="${Math.min(cx + 8, LEFT + plotW - 260)}" y="${y1(current.plan.perMonth) - 10}" fill="#c00">${esc(label)}</text>`,
    );
  } else {
    out.push(`<text x="${cx - 4}" y="${TOP + 34}" text-anchor="end" fill="#c00">this plan: refused</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
