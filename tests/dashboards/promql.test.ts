// The PromQL reader the dashboards tests rely on: it must find every metric and skip everything else.
import { legendLabels, queryRefs } from './promql';

const metrics = (expr: string) => queryRefs(expr).selectors.map((s) => s.metric);

test('finds metric names and skips functions, aggregations, durations and numbers', () => {
  expect(
    metrics('histogram_quantile(0.99, sum by (le) (rate(smartmeter_ingest_write_seconds_bucket[5m])))'),
  ).toEqual(['smartmeter_ingest_write_seconds_bucket']);
  expect(metrics('sum(rate(process_cpu_seconds_total{role!=""}[1m])) * 100 + 1e3')).toEqual([
    'process_cpu_seconds_total',
  ]);
  expect(metrics('max(a_volts and on (instance) b_active == 1)')).toEqual(['a_volts', 'b_active']);
  expect(metrics('rate(x_total[5m] offset 1h) / ignoring(kind) group_left y')).toEqual(['x_total', 'y']);
  expect(metrics('sum(rate(x[5m])) by (le)')).toEqual(['x']);
  expect(metrics('{__name__="named_metric", role="ingest"}')).toEqual(['named_metric']);
});

test('collects label matchers with their operators, and the labels of grouping clauses', () => {
  const refs = queryRefs(
    'sum by (role, instance) (rate(p_total{source="forecast",outcome=~"alert|normal"}[5m])) / on (role) group_left (kind) q{role!="by"}',
  );
  expect(refs.selectors).toEqual([
    {
      metric: 'p_total',
      matchers: [
        { label: 'source', op: '=', value: 'forecast' },
        { label: 'outcome', op: '=~', value: 'alert|normal' },
      ],
    },
    { metric: 'q', matchers: [{ label: 'role', op: '!=', value: 'by' }] },
  ]);
  expect(refs.groupingLabels).toEqual(['role', 'instance', 'role', 'kind']);
});

test('rejects what it cannot read, rather than missing a metric', () => {
  expect(() => queryRefs('sum(rate(x[5m])')).toThrow(/unbalanced/);
  expect(() => queryRefs('x{role=}')).toThrow(/malformed label matcher/);
  expect(() => queryRefs('{role="a"}')).toThrow(/without a metric name/);
  expect(() => queryRefs('x ; y')).toThrow(/cannot read PromQL/);
});

test('reads the labels of a legend template', () => {
  expect(legendLabels('{{role}} {{ instance }} write retries')).toEqual(['role', 'instance']);
  expect(legendLabels('__auto')).toEqual([]);
  expect(legendLabels(undefined)).toEqual([]);
});
