// Prometheus's "initialise your metrics" practice: a labelled counter has no series until its first
// increment, so a dashboard panel or an alert on a rare outcome (dead letters, failed runs) would show
// "no data" instead of 0. This exports 0 for every combination of the known label values.
import { Counter } from 'prom-client';

export function zeroed<T extends string>(
  counter: Counter<T>,
  values: Record<T, readonly string[]>,
): Counter<T> {
  let combos: Partial<Record<T, string>>[] = [{}];
  for (const [label, list] of Object.entries(values) as [T, readonly string[]][]) {
    combos = combos.flatMap((c) => list.map((v) => ({ ...c, [label]: v })));
  }
  for (const labels of combos) counter.inc(labels, 0);
  return counter;
}
