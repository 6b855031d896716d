// Every query of every provisioned dashboard, with where it comes from, for the dashboards tests.
import { allDashboards, type DashboardOptions } from '../../dashboards';

export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly panelType: string;
  readonly refId: string;
  readonly expr: string;
  readonly legend?: string;
  /** The panel's and the query's data source uids. */
  readonly datasources: readonly (string | undefined)[];
}

interface RawTarget {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: { uid?: string };
}
interface RawPanel {
  type: string;
  title?: string;
  datasource?: { uid?: string };
  targets?: RawTarget[];
  panels?: RawPanel[];
}

/** Panels, including those inside collapsed rows. */
export function panelsOf(json: object): RawPanel[] {
  const top = (json as { panels?: RawPanel[] }).panels ?? [];
  return top.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function panelQueries(options?: DashboardOptions): PanelQuery[] {
  return allDashboards(options).flatMap((d) =>
    panelsOf(d.json)
      .filter((p) => p.type !== 'row')
      .flatMap((p) => {
        const targets = p.targets ?? [];
        if (targets.length === 0) throw new Error(`${d.uid} / ${p.title}: a panel without queries`);
        return targets.map((t) => {
          if (!t.expr) throw new Error(`${d.uid} / ${p.title} / ${t.refId}: a query without an expression`);
          return {
            dashboard: d.uid,
            panel: p.title ?? '(untitled)',
            panelType: p.type,
            refId: t.refId ?? '?',
            expr: t.expr,
            legend: t.legendFormat,
            datasources: [p.datasource?.uid, t.datasource?.uid],
          };
        });
      }),
  );
}
