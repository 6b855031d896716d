import { Counter, Registry } from 'prom-client';
import { zeroed } from '../../src/lib/metrics';

test('every combination of the known label values is exported as 0 before the first increment', async () => {
  const registry = new Registry();
  const counter = zeroed(
    new Counter({ name: 'x_total', help: 'x', labelNames: ['source', 'outcome'], registers: [registry] }),
    { source: ['a', 'b'], outcome: ['ok', 'failed'] },
  );
  counter.inc({ source: 'a', outcome: 'ok' });
  const values = (await counter.get()).values.map((v) => [v.labels.source, v.labels.outcome, v.value]);
  expect(values.sort()).toEqual([
    ['a', 'failed', 0],
    ['a', 'ok', 1],
    ['b', 'failed', 0],
    ['b', 'ok', 0],
  ]);
  expect(await registry.metrics()).toContain('x_total{source="b",outcome="failed"} 0');
});
