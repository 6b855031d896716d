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
}

export function allDashboards(options: DashboardOptions = {}): Dashboard[] {
  return [
    injectionDashboard({ alertThresholdVolts: options.alertThresholdVolts ?? 120 }),
    natsDashboard(),
    modelDashboard(),
    servicesDashboard(),
  ];
}
