// The few panel shapes the dashboards use, on top of Grafana's foundation SDK, so every dashboard gets the
// same data source, refresh, time range, legends and query ids without repeating them.
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type Dashboard as DashboardModel,
  type Threshold,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** The data source components/tiers/metrics.ts provisions (a unit test keeps the two in step). */
export const PROMETHEUS: common.DataSourceRef = { type: 'prometheus', uid: 'prometheus' };

/** Every dashboard: 10 s refresh like the original, a window long enough for 5-minute rates. */
export const REFRESH = '10s';
export const TIME_RANGE = { from: 'now-30m', to: 'now' };

export interface Query {
  /** PromQL. Only metrics the services or prometheus-nats-exporter export (tests/dashboards checks). */
  readonly expr: string;
  /** Grafana legend template, e.g. `{{role}} {{instance}}`. */
  readonly legend?: string;
}

interface PanelArgs {
  readonly title: string;
  readonly description?: string;
  /** A Grafana unit id: `short`, `percentunit`, `bytes`, `Bps`, `s`, `volt`, `celsius`, … */
  readonly unit: string;
  readonly queries: readonly Query[];
  /** Grid width out of 24 (default 12) and height in rows (default 8). */
  readonly width?: number;
  readonly height?: number;
  readonly min?: number;
  readonly max?: number;
  readonly decimals?: number;
}

export interface TimeSeriesArgs extends PanelArgs {
  /** Bars instead of lines (counts per interval, as the original's bar panels). */
  readonly bars?: boolean;
  readonly stacked?: boolean;
  /** Drawn as a dashed red line, e.g. the alert threshold. */
  readonly thresholdLine?: number;
  /** Queries (by index) drawn against a right-hand axis with their own unit. */
  readonly rightAxis?: { readonly queries: readonly number[]; readonly unit: string; readonly max?: number };
}

export interface StatArgs extends PanelArgs {
  /** Colour steps: [value, colour] from which on a colour applies, above the base colour. */
  readonly steps?: readonly (readonly [number, string])[];
  /** The colour below the first step (default green; red for "fewer than expected"). */
  readonly base?: string;
}

const refId = (i: number) => String.fromCharCode('A'.charCodeAt(0) + i);

function targets(queries: readonly Query[]): DataqueryBuilder[] {
  if (queries.length === 0) throw new Error('a panel needs at least one query');
  return queries.map((q, i) =>
    new DataqueryBuilder()
      .refId(refId(i))
      .datasource(PROMETHEUS)
      .expr(q.expr)
      .legendFormat(q.legend ?? '__auto')
      .range(),
  );
}

function thresholds(base: string, steps: readonly (readonly [number, string])[] = []) {
  const all: Threshold[] = [
    { value: null, color: base },
    ...steps.map(([value, color]) => ({ value, color })),
  ];
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(all);
}

export function timeSeries(a: TimeSeriesArgs): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .title(a.title)
    .datasource(PROMETHEUS)
    .targets(targets(a.queries))
    .unit(a.unit)
    .span(a.width ?? 12)
    .height(a.height ?? 8)
    .lineWidth(1)
    .fillOpacity(a.bars || a.stacked ? 60 : 10)
    .drawStyle(a.bars ? common.GraphDrawStyle.Bars : common.GraphDrawStyle.Line)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    );
  if (a.description) p.description(a.description);
  if (a.min !== undefined) p.min(a.min);
  if (a.max !== undefined) p.max(a.max);
  if (a.decimals !== undefined) p.decimals(a.decimals);
  if (a.stacked) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (a.thresholdLine !== undefined) {
    p.thresholds(thresholds('transparent', [[a.thresholdLine, 'red']])).thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    );
  }
  for (const i of a.rightAxis?.queries ?? []) {
    if (i >= a.queries.length) throw new Error(`panel "${a.title}": no query ${i} for the right axis`);
    const properties = [
      { id: 'unit', value: a.rightAxis?.unit },
      { id: 'custom.axisPlacement', value: common.AxisPlacement.Right },
      ...(a.rightAxis?.max !== undefined ? [{ id: 'max', value: a.rightAxis.max }] : []),
    ];
    p.overrideByQuery(refId(i), properties);
  }
  return p;
}

export function statPanel(a: StatArgs): stat.PanelBuilder {
  const p = new stat.PanelBuilder()
    .title(a.title)
    .datasource(PROMETHEUS)
    .targets(targets(a.queries))
    .unit(a.unit)
    .span(a.width ?? 4)
    .height(a.height ?? 4)
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(thresholds(a.base ?? 'green', a.steps));
  if (a.description) p.description(a.description);
  if (a.min !== undefined) p.min(a.min);
  if (a.max !== undefined) p.max(a.max);
  if (a.decimals !== undefined) p.decimals(a.decimals);
  return p;
}

export const row = (title: string) => new RowBuilder(title);

/** A member count a dashboard colours against (natsNodes, cassandraNodes): a whole number from 1. */
export function memberCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer >= 1, got ${value}`);
  return value;
}

/** A dashboard with the shared settings; read-only in Grafana because it is provisioned from code. */
export function dashboard(uid: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['smartmeter'])
    .refresh(REFRESH)
    .time(TIME_RANGE)
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly();
}

/** What allDashboards() returns for one dashboard. */
export interface Dashboard {
  /** Stable Grafana uid: the file name and the dashboard's identity across deploys. */
  readonly uid: string;
  readonly title: string;
  /** The dashboard model (what Grafana's "JSON model" shows). */
  readonly json: DashboardModel;
}

export function built(builder: DashboardBuilder): Dashboard {
  const json = builder.build();
  if (!json.uid || !json.title)
    throw new Error(`a dashboard needs a uid and a title (${json.uid}, ${json.title})`);
  return { uid: json.uid, title: json.title, json };
}
