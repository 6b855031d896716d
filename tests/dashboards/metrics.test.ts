// Every metric a dashboard query names is really exported: by a service role (its registry built
// in-process, as the role builds it) or by prometheus-nats-exporter (the checked-in names, themselves
// checked against a live exporter by nats-exporter.int.test.ts). A renamed metric or label fails here.
import { NATS_EXPORTER_METRICS, NATS_EXPORTER_PREFIXES } from './nats-exporter-metrics';
import { panelQueries, type PanelQuery } from './panels';
import { legendLabels, queryRefs } from './promql';
import { serviceMetrics, type ExportedMetric } from './service-metrics';

const queries = panelQueries();
let services: Map<string, ExportedMetric>;

beforeAll(async () => {
  services = await serviceMetrics();
});

const where = (q: PanelQuery) => `${q.dashboard} / "${q.panel}" / ${q.refId}: ${q.expr}`;
const isExporterMetric = (name: string) => NATS_EXPORTER_PREFIXES.some((p) => name.startsWith(p));

test('the dashboards have queries to check', () => {
  expect(new Set(queries.map((q) => q.dashboard)).size).toBe(4);
  expect(queries.length).toBeGreaterThan(40);
});

test('every metric in every query is exported by a service role or by prometheus-nats-exporter', () => {
  const missing = queries.flatMap((q) =>
    queryRefs(q.expr)
      .selectors.filter((s) => !services.has(s.metric) && !NATS_EXPORTER_METRICS.has(s.metric))
      .map((s) => `${s.metric} in ${where(q)}`),
  );
  expect(missing).toEqual([]);
});

test('the service metrics are queried with labels they have, and role matchers name a role that exports them', () => {
  const problems = queries.flatMap((q) =>
    queryRefs(q.expr).selectors.flatMap((s) => {
      const exported = services.get(s.metric);
      if (!exported) return [];
      return s.matchers.flatMap((m) => {
        if (!exported.labels.has(m.label)) return [`${s.metric} has no label "${m.label}" (${where(q)})`];
        if (m.label === 'role' && m.op === '=' && !exported.roles.has(m.value)) {
          return [`role "${m.value}" does not export ${s.metric} (${where(q)})`];
        }
        return [];
      });
    }),
  );
  expect(problems).toEqual([]);
});

test('grouping labels and legend labels exist on the metrics of their query', () => {
  const problems = queries.flatMap((q) => {
    const refs = queryRefs(q.expr);
    // Exporter labels are checked against the live exporter (nats-exporter.int.test.ts).
    if (refs.selectors.some((s) => isExporterMetric(s.metric))) return [];
    const available = new Set(refs.selectors.flatMap((s) => [...(services.get(s.metric)?.labels ?? [])]));
    const unknown = [...refs.groupingLabels, ...legendLabels(q.legend)].filter((l) => !available.has(l));
    return unknown.map((l) => `label "${l}" is on none of the metrics of ${where(q)}`);
  });
  expect(problems).toEqual([]);
});

test('a legend names only labels an aggregation keeps', () => {
  const aggregated =
    /\b(sum|max|min|avg|count|group|stddev|stdvar|topk|bottomk|quantile)\s*(\(|by\b|without\b)/;
  const problems = queries.flatMap((q) => {
    if (!aggregated.test(q.expr)) return [];
    const kept = new Set([...q.expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) => m[1].split(/\s*,\s*/)));
    return legendLabels(q.legend)
      .filter((l) => !kept.has(l))
      .map((l) => `legend label "${l}" is aggregated away in ${where(q)}`);
  });
  expect(problems).toEqual([]);
});
