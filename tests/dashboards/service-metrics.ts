// The metrics each long-running role exports, built in-process as the roles build them: a Registry with
// the `role` default label and prom-client's default metrics (lib/service.ts startService), then the
// metric factories the role's run function uses (services/src/roles/*.ts). Nothing connects to NATS or
// Cassandra. When a role starts using another factory, add it here.
import { collectDefaultMetrics, Registry } from 'prom-client';

import { createIngestMetrics } from '../../services/src/ingest/metrics';
import { createCassandraMetrics } from '../../services/src/lib/cassandra';
import { createNatsConnectionMetrics } from '../../services/src/lib/nats';
import { createReplayMetrics } from '../../services/src/replay/replay';
import { createDeliveryMetrics } from '../../services/src/simulator/delivery';
import { createInjectorMetrics } from '../../services/src/simulator/publisher';
import { createStreamMetrics } from '../../services/src/streaming/metrics';
import { PredictMetrics } from '../../services/src/training/predictor';
import { TrainMetrics } from '../../services/src/training/trainer';

/** Role → the factories its run function calls on ctx.registry (migrate is a job and is not scraped). */
export const ROLE_METRICS: Record<string, ((registry: Registry) => unknown)[]> = {
  inject: [createInjectorMetrics, createDeliveryMetrics, createReplayMetrics, createNatsConnectionMetrics],
  ingest: [createIngestMetrics, createCassandraMetrics, createNatsConnectionMetrics],
  stream: [createStreamMetrics, createCassandraMetrics, createNatsConnectionMetrics],
  train: [(r) => new TrainMetrics(r), createCassandraMetrics, createNatsConnectionMetrics],
  predict: [(r) => new PredictMetrics(r), createCassandraMetrics, createNatsConnectionMetrics],
};

/** Labels every scraped series has besides its own: the registry's default label and Prometheus's target labels. */
export const SERVICE_DEFAULT_LABELS = ['role', 'instance', 'job'];

export interface ExportedMetric {
  /** Series name as Prometheus stores it (a histogram gives name_bucket, name_sum and name_count). */
  readonly name: string;
  readonly labels: ReadonlySet<string>;
  /** Roles whose processes export it. */
  readonly roles: ReadonlySet<string>;
}

/** Series name → what exports it, over all roles. */
export async function serviceMetrics(): Promise<Map<string, ExportedMetric>> {
  const catalog = new Map<string, { name: string; labels: Set<string>; roles: Set<string> }>();
  const add = (name: string, labels: readonly string[], role: string) => {
    const entry = catalog.get(name) ?? {
      name,
      labels: new Set<string>(SERVICE_DEFAULT_LABELS),
      roles: new Set(),
    };
    labels.forEach((l) => entry.labels.add(l));
    entry.roles.add(role);
    catalog.set(name, entry);
  };
  for (const [role, factories] of Object.entries(ROLE_METRICS)) {
    const registry = new Registry();
    registry.setDefaultLabels({ role });
    collectDefaultMetrics({ register: registry });
    factories.forEach((create) => create(registry));
    // The JSON snapshot holds every series' labels (default metrics are labelled by value, e.g. gc kind).
    for (const metric of await registry.getMetricsAsJSON()) {
      const declared = (registry.getSingleMetric(metric.name) as { labelNames?: string[] } | undefined)
        ?.labelNames;
      const seen = metric.values.flatMap((v) => Object.keys(v.labels));
      const labels = [...(declared ?? []), ...seen];
      // prom-client types `type` as a numeric enum; at run time it is the exposition name ('histogram', …).
      const type = String(metric.type);
      if (type === 'histogram') {
        add(`${metric.name}_bucket`, [...labels, 'le'], role);
        add(`${metric.name}_sum`, labels, role);
        add(`${metric.name}_count`, labels, role);
      } else if (type === 'summary') {
        add(metric.name, [...labels, 'quantile'], role);
        add(`${metric.name}_sum`, labels, role);
        add(`${metric.name}_count`, labels, role);
      } else {
        add(metric.name, labels, role);
      }
    }
  }
  return catalog;
}
