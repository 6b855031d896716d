// The Grafana dashboards provisioned at deploy time (components/tiers/metrics.ts writes each one as a
// JSON file that Grafana's file provider loads). Built with Grafana's foundation SDK; the shared panel
// shapes are in panels.ts, one module per dashboard.
import { injectionDashboard } from './injection';
import { modelDashboard } from './model';
import { natsDashboard } from './nats';
import type { Dashboard } from './panels';
import { servicesDashboard } from './services';

export type { Dashboard } from './panels';

export interface DashboardOptions {
  /** Volts above which the stream job alerts (stack key smartmeter:alertThreshold; default 120). */
  readonly alertThresholdVolts?: number;
  /** Members deployed (stack keys smartmeter:natsNodes, smartmeter:cassandraNodes; default 1): fewer up is red. */
  readonly natsNodes?: number;
  readonly cassandraNodes?: number;
}

export function allDashboards(options: DashboardOptions = {}): Dashboard[] {
  return [
    injectionDashboard({ alertThresholdVolts: options.alertThresholdVolts ?? 120 }),
    natsDashboard({ natsNodes: options.natsNodes ?? 1 }),
    modelDashboard(),
    servicesDashboard({ cassandraNodes: options.cassandraNodes ?? 1 }),
  ];
}
