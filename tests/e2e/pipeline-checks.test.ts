// The e2e suites' judgements as pure functions: each passes on what the pipeline should produce and fails
// on what it must not (the suites themselves take 20 minutes a run and need a Docker engine).
import { grafanaProvisioning } from '../../components/tiers/metrics';
import {
  alertProblems,
  bandProblems,
  configuredVoltageRate,
  provisioningProblems,
  rateProblem,
  strayRows,
} from './pipeline-checks';
import { minuteKey } from '../../services/test/support/reconcile';
import { readingId } from '../../services/src/simulator/ledger';

test('the configured voltage rate: 48 meters of 50 messages a second, per injector', () => {
  expect(configuredVoltageRate(1, 50)).toBe(48);
  expect(configuredVoltageRate(2, 50)).toBe(96);
});

test('a rate is judged within its tolerance of the configured one, not merely above zero', () => {
  expect(rateProblem('accepted', 45, 48, 0.1)).toBeUndefined();
  expect(rateProblem('accepted', 52.7, 48, 0.1)).toBeUndefined();
  expect(rateProblem('accepted', 1, 48, 0.1)).toBe('accepted: 1.0/s is not within 10% of 48.0/s');
  expect(rateProblem('accepted', 96, 48, 0.1)).toMatch(/not within/);
  expect(rateProblem('accepted', NaN, 48, 0.1)).toMatch(/not within/);
});

const alert = {
  epoch: 1_700_000_900,
  count: 3,
  line: 11,
  transformer: 2,
  window_start: 1_700_000_900,
  window_end: 1_700_001_800,
  max_voltage: 119.4,
  threshold: 118,
};

test('an alert is judged against the stack’s alertThreshold', () => {
  expect(alertProblems(alert, 118)).toEqual([]);
  expect(alertProblems(alert, 120)).toEqual(['threshold 118, not 120', 'max_voltage 119.4 not above 120']);
  expect(alertProblems({ ...alert, max_voltage: 117.9 }, 118)).toEqual(['max_voltage 117.9 not above 118']);
  expect(alertProblems({ ...alert, count: 0 }, 118)).toEqual(['count 0, no reading over']);
  expect(alertProblems({ ...alert, epoch: alert.window_end + 60 }, 118)).toHaveLength(1);
  expect(alertProblems({ any: 'object' }, 118)).toHaveLength(4);
});

test('a prediction’s band: the wire’s horizon and three ordered quantiles', () => {
  const band = (q: Record<string, unknown>, horizonSteps: unknown = 12) => ({
    probability: 0.9,
    forecast: { horizonSteps, quantiles: q },
  });
  expect(bandProblems(band({ '0.1': 116.02, '0.5': 116.05, '0.9': 116.08 }))).toEqual([]);
  expect(bandProblems(band({ '0.1': 116.1, '0.5': 116.05, '0.9': 116.08 }))).toEqual([
    'quantiles out of order: 116.1 116.05 116.08',
  ]);
  expect(bandProblems(band({ '0.1': 116, '0.5': 116 }))).toHaveLength(1);
  expect(bandProblems(band({ '0.1': 116, '0.5': 116, '0.9': 116 }, 6))).toEqual(['horizonSteps 6, not 12']);
  expect(bandProblems({ forecast: {} })).toHaveLength(2);
  expect(bandProblems({ probability: 0.9 })).toEqual(['no forecast']);
});

test('Grafana provisioning as the program renders it passes; empty or foreign provisioning fails', () => {
  const rendered = grafanaProvisioning().map((f) => ({ file: f.path, content: String(f.content) }));
  const good = provisioningProblems(rendered, 'http://prometheus:9090');
  expect(good.problems).toEqual([]);
  expect(good.dashboards).toBeGreaterThanOrEqual(4);

  const noDashboards = rendered.filter((u) => !u.file.endsWith('.json'));
  expect(provisioningProblems(noDashboards, 'http://prometheus:9090').problems).toEqual([
    'no dashboard in /etc/grafana/dashboards',
  ]);
  const foreign = rendered.map((u) => ({
    ...u,
    content: u.content.replace(/"uid": "[^"]+"/g, '"uid": "x"'),
  }));
  expect(provisioningProblems(foreign, 'http://prometheus:9090').problems.length).toBeGreaterThan(0);
  const noRefs = rendered.map((u) =>
    u.file.endsWith('.json') ? { ...u, content: JSON.stringify({ panels: [{ title: 'p' }] }) } : u,
  );
  expect(provisioningProblems(noRefs, 'http://prometheus:9090').problems[0]).toMatch(
    /no panel names a data source/,
  );
  expect(provisioningProblems([], 'http://prometheus:9090').problems).toHaveLength(1);
});

test('stray rows: a raw_data key no voltage reading in the stream accounts for', () => {
  const epoch = 1_700_000_000;
  const ids = [readingId('voltage', '11.2.7', epoch), readingId('temperature', '1', epoch)];
  expect(strayRows([minuteKey('11.2.7', epoch)], ids)).toBe(0);
  expect(strayRows([minuteKey('11.2.7', epoch), minuteKey('11.2.8', epoch)], ids)).toBe(1);
});
