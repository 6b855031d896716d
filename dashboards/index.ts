// The Grafana dashboards provisioned at deploy time (components/tiers/metrics.ts writes each one as a
// JSON file that Grafana's file provider loads). The dashboards themselves are added here.

export interface Dashboard {
  /** Stable Grafana uid: the file name and the dashboard's identity across deploys. */
  readonly uid: string;
  readonly title: string;
  /** The dashboard model (what Grafana's "JSON model" shows). */
  readonly json: object;
}

export function allDashboards(): Dashboard[] {
  return [];
}
