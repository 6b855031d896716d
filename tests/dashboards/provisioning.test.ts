// What the metrics tier hands Grafana (components/tiers/metrics.ts grafanaProvisioning) agrees with the
// dashboards: one file per dashboard, every panel and query on the provisioned Prometheus data source,
// and the shared settings (10 s refresh, a time range, units, legends).
import { parse } from 'yaml';

import { grafanaProvisioning } from '../../components/tiers/metrics';
import { allDashboards } from '../../dashboards';
import { panelsOf } from './panels';

const files = grafanaProvisioning({ alertThresholdVolts: 118 });
const file = (path: string) => {
  const f = files.find((x) => x.path === path);
  if (!f) throw new Error(`no provisioning file ${path}`);
  return f.content as string;
};
const dashboardFiles = files.filter((f) => f.path.startsWith('/etc/grafana/dashboards/'));
const dashboards = dashboardFiles.map((f) => ({ path: f.path, json: JSON.parse(f.content as string) }));

interface RawPanel {
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: { datasource?: { type?: string; uid?: string } }[];
  fieldConfig?: { defaults?: { unit?: string; thresholds?: { steps: { value: number | null }[] } } };
  options?: { legend?: { showLegend?: boolean } };
  gridPos: { x: number; y: number; w: number; h: number };
}
const panels = dashboards.flatMap((d) =>
  (panelsOf(d.json) as RawPanel[]).filter((p) => p.type !== 'row').map((p) => ({ file: d.path, ...p })),
);

test('the provisioned Prometheus data source is the one every panel and every query uses', () => {
  const { datasources } = parse(file('/etc/grafana/provisioning/datasources/smartmeter.yaml')) as {
    datasources: { type: string; uid: string; isDefault?: boolean }[];
  };
  const prometheus = datasources.filter((d) => d.type === 'prometheus');
  expect(prometheus).toHaveLength(1);
  const expected = { type: 'prometheus', uid: prometheus[0].uid };
  const wrong = panels.flatMap((p) =>
    [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]
      .filter((ds) => ds?.uid !== expected.uid || ds?.type !== expected.type)
      .map((ds) => `${p.file} "${p.title}": ${JSON.stringify(ds)}`),
  );
  expect(panels.length).toBeGreaterThan(40);
  expect(wrong).toEqual([]);
});

test('one dashboard file per dashboard, named by its uid, loaded by the file provider', () => {
  const { providers } = parse(file('/etc/grafana/provisioning/dashboards/smartmeter.yaml')) as {
    providers: { options: { path: string } }[];
  };
  expect(dashboardFiles.every((f) => f.path.startsWith(`${providers[0].options.path}/`))).toBe(true);
  const uids = allDashboards().map((d) => d.uid);
  expect(new Set(uids).size).toBe(4);
  expect(dashboards.map((d) => d.path).sort()).toEqual(
    uids.map((u) => `/etc/grafana/dashboards/${u}.json`).sort(),
  );
  for (const d of dashboards) expect(d.path).toBe(`/etc/grafana/dashboards/${d.json.uid}.json`);
});

test('every dashboard refreshes every 10 s over a recent time range, in the current schema', () => {
  for (const { json } of dashboards) {
    expect(json).toMatchObject({ refresh: '10s', time: { from: 'now-30m', to: 'now' } });
    expect(json.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(json.title).toMatch(/^Smart meter: /);
  }
});

test('every panel has a unit, fits the 24-column grid, and time series show their legend', () => {
  const problems = panels.flatMap((p) => [
    ...(p.fieldConfig?.defaults?.unit ? [] : [`${p.title}: no unit`]),
    ...(p.gridPos.x + p.gridPos.w <= 24 ? [] : [`${p.title}: wider than the grid`]),
    ...(p.type !== 'timeseries' || p.options?.legend?.showLegend ? [] : [`${p.title}: legend hidden`]),
  ]);
  expect(problems).toEqual([]);
});

test('the configured alert threshold is drawn on the max voltage', () => {
  const injection = dashboards.find((d) => d.json.uid === 'smartmeter-injection');
  const maxVoltage = (panelsOf(injection?.json ?? {}) as RawPanel[]).find(
    (p) => p.title === 'Max voltage against the alert threshold',
  );
  const steps = maxVoltage?.fieldConfig?.defaults?.thresholds?.steps.map((s) => s.value);
  expect(steps).toEqual([null, 118]);
  expect(() => allDashboards({ alertThresholdVolts: -1 })).toThrow(/alertThresholdVolts/);
});

test('the member counts deployed are where the cluster stats turn from red to green', () => {
  const steps = (natsNodes: number, cassandraNodes: number) => {
    const all = allDashboards({ natsNodes, cassandraNodes }).flatMap((d) => panelsOf(d.json) as RawPanel[]);
    const of = (title: string) =>
      all
        .find((p) => p.title === title)
        ?.fieldConfig?.defaults?.thresholds?.steps.map((s) => [s.value, (s as { color?: string }).color]);
    return {
      servers: of('Servers healthy'),
      routes: of('Fewest route peers'),
      replicas: of('Fewest stream replicas answering'),
      cassandraUp: of('Fewest Cassandra nodes up'),
      cassandraDown: of('Most Cassandra nodes down'),
    };
  };
  expect(steps(5, 3)).toEqual({
    servers: [
      [null, 'red'],
      [5, 'green'],
    ],
    routes: [
      [null, 'red'],
      [4, 'green'],
    ],
    replicas: [
      [null, 'red'],
      [3, 'green'],
    ],
    cassandraUp: [
      [null, 'red'],
      [3, 'green'],
    ],
    cassandraDown: [
      [null, 'green'],
      [1, 'red'],
    ],
  });
  expect(steps(1, 1)).toMatchObject({
    routes: [
      [null, 'red'],
      [0, 'green'],
    ],
    replicas: [
      [null, 'red'],
      [1, 'green'],
    ],
  });
  expect(() => allDashboards({ natsNodes: 0 })).toThrow(/natsNodes must be an integer >= 1, got 0/);
  expect(() => allDashboards({ cassandraNodes: 2.5 })).toThrow(/cassandraNodes must be an integer >= 1/);
});
