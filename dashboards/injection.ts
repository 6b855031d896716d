// 1. Injection & max voltage — the original's "gatling + max voltage" board: what the injectors publish,
// what ingest stores in Cassandra, and what the stream job extracts (max voltage against the alert
// threshold, temperature, alerts), beside the alerts predict announces; and the outages it detects.
import { built, dashboard, Dashboard, row, statPanel, timeSeries } from './panels';

export interface InjectionOptions {
  /** The stream job's ALERT_THRESHOLD_V (stack key smartmeter:alertThreshold), drawn on the max voltage. */
  readonly alertThresholdVolts: number;
}

/** Max voltage and temperature from the stream instance holding the lease (standbys keep stale gauges). */
const activeStream = (metric: string) => `max(${metric} and on (instance) smartmeter_stream_active == 1)`;

export function injectionDashboard({ alertThresholdVolts }: InjectionOptions): Dashboard {
  if (!Number.isFinite(alertThresholdVolts) || alertThresholdVolts <= 0) {
    throw new Error(`alertThresholdVolts must be a positive number of volts, got ${alertThresholdVolts}`);
  }
  return built(
    dashboard(
      'smartmeter-injection',
      'Smart meter: injection & max voltage',
      'Readings published by the injectors, rows stored by ingest, and the max voltage, temperature and alerts of the stream job.',
    )
      .withPanel(
        statPanel({
          title: 'Injectors',
          unit: 'short',
          queries: [{ expr: 'count(smartmeter_inject_meters)' }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Meters simulated',
          unit: 'short',
          queries: [{ expr: 'sum(smartmeter_inject_meters)' }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Readings published /s',
          unit: 'short',
          queries: [{ expr: 'sum(rate(smartmeter_inject_readings_total[1m]))' }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Rows stored /s',
          unit: 'short',
          queries: [{ expr: 'sum(rate(smartmeter_ingest_messages_total{outcome="stored"}[1m]))' }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Ingest backlog',
          description: 'Messages in the raw stream not yet delivered to any ingest replica.',
          unit: 'short',
          queries: [{ expr: 'max(smartmeter_ingest_consumer_pending)' }],
          steps: [[10_000, 'orange']],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Max voltage',
          unit: 'volt',
          decimals: 1,
          queries: [{ expr: activeStream('smartmeter_stream_max_voltage_volts') }],
          steps: [[alertThresholdVolts, 'red']],
        }),
      )
      .withRow(row('Injection and ingestion'))
      .withPanel(
        timeSeries({
          title: 'Readings published per injector',
          description: 'Voltage, temperature and forecast readings per second, stacked by injector.',
          unit: 'short',
          stacked: true,
          queries: [
            {
              expr: 'sum by (instance) (rate(smartmeter_inject_readings_total[1m]))',
              legend: '{{instance}}',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Rows stored in Cassandra per second',
          description:
            'Raw readings written by each ingest replica (idempotent upserts, acknowledged after the write).',
          unit: 'short',
          stacked: true,
          queries: [
            {
              expr: 'sum by (instance) (rate(smartmeter_ingest_messages_total{outcome="stored"}[1m]))',
              legend: '{{instance}}',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Delivery: acknowledged, held, dropped',
          description:
            'Readings the broker acknowledged per second, what the injectors hold while it does not answer ' +
            '(store-and-forward buffer), and what a full buffer dropped.',
          unit: 'short',
          queries: [
            { expr: 'sum(rate(smartmeter_inject_acknowledged_total[1m]))', legend: 'acknowledged /s' },
            { expr: 'sum(smartmeter_inject_buffered_readings)', legend: 'held' },
            { expr: 'sum(increase(smartmeter_inject_buffer_overflow_total[5m]))', legend: 'dropped (5 min)' },
          ],
          rightAxis: { queries: [1, 2], unit: 'short' },
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Injector lag behind schedule',
          description: 'How far each injector is behind its configured rate (0 when on rate).',
          unit: 's',
          queries: [{ expr: 'smartmeter_inject_lag_seconds', legend: '{{instance}}' }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Ingest backlog and write latency',
          unit: 'short',
          queries: [
            { expr: 'max(smartmeter_ingest_consumer_pending)', legend: 'not yet delivered' },
            { expr: 'max(smartmeter_ingest_consumer_ack_pending)', legend: 'delivered, not acknowledged' },
            {
              expr: 'histogram_quantile(0.99, sum by (le) (rate(smartmeter_ingest_write_seconds_bucket[5m])))',
              legend: 'write latency p99',
            },
          ],
          rightAxis: { queries: [2], unit: 's' },
        }),
      )
      .withRow(row('Max voltage and alerts'))
      .withPanel(
        timeSeries({
          title: 'Max voltage against the alert threshold',
          description: `Max voltage of the newest simulated epoch; the dashed line is the alert threshold (${alertThresholdVolts} V).`,
          unit: 'volt',
          decimals: 1,
          thresholdLine: alertThresholdVolts,
          queries: [{ expr: activeStream('smartmeter_stream_max_voltage_volts'), legend: 'max voltage' }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Temperature',
          unit: 'celsius',
          decimals: 1,
          queries: [{ expr: activeStream('smartmeter_stream_temperature_celsius'), legend: 'temperature' }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Alerts',
          description:
            'Over-voltage alerts published by the stream job, beside the over-voltage events the injectors simulated.',
          unit: 'short',
          bars: true,
          queries: [
            { expr: 'sum(increase(smartmeter_stream_alerts_total[1m]))', legend: 'alerts (stream)' },
            {
              expr: 'sum(increase(smartmeter_inject_overvoltage_events_total[1m]))',
              legend: 'over-voltage events injected',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Predicted alerts',
          description: 'Temperature forecasts that the model predicts an over-voltage alert for, per minute.',
          unit: 'short',
          bars: true,
          queries: [
            {
              expr: 'sum(increase(smartmeter_predictions_total{source="forecast",outcome="alert"}[1m]))',
              legend: 'predicted alerts',
            },
          ],
        }),
      )
      .withRow(row('Outages'))
      .withPanel(
        timeSeries({
          title: 'Outages open',
          description:
            'Meters silent for more than their outage intervals, and transformers with enough of their meters out (stream job), beside the readings the injectors held back in injected outages.',
          unit: 'short',
          queries: [
            { expr: activeStream('smartmeter_stream_outages_open{kind="meter"}'), legend: 'meters out' },
            {
              expr: activeStream('smartmeter_stream_outages_open{kind="transformer"}'),
              legend: 'transformers out',
            },
            {
              expr: 'sum(increase(smartmeter_inject_outage_readings_total[1m]))',
              legend: 'readings held back by injected outages /min',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Outage detection delay',
          description:
            "Simulated minutes from a meter's first missed reading to the detection of its outage (p50, p99 over 15 min).",
          unit: 'm',
          queries: [0.5, 0.99].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (le) (rate(smartmeter_stream_outage_detection_delay_simulated_seconds_bucket[15m]))) / 60`,
            legend: `p${q * 100}`,
          })),
        }),
      ),
  );
}
