// 4. Services — the processes of every role (inject, ingest, stream, train, predict) from prom-client's
// default metrics, which carry the role as a default label (services/src/lib/service.ts): CPU, memory,
// event-loop lag, restarts, the errors and dead letters each role counts, and the Cassandra nodes each
// process's client sees up.
import { built, dashboard, Dashboard, memberCount, row, statPanel, timeSeries } from './panels';

/** Only our services carry `role`; Prometheus and the exporter export process_* metrics too. */
const SERVICES = 'role!=""';
const perProcess = '{{role}} {{instance}}';

export interface ServicesOptions {
  /** Cassandra nodes deployed (stack key smartmeter:cassandraNodes). */
  readonly cassandraNodes: number;
}

/** Nodes each process's Cassandra client sees, by state (services/src/lib/cassandra.ts). */
export const CASSANDRA_NODES = {
  up: 'smartmeter_cassandra_nodes{state="up"}',
  down: 'smartmeter_cassandra_nodes{state="down"}',
} as const;

export function servicesDashboard({ cassandraNodes }: ServicesOptions): Dashboard {
  const nodes = memberCount('cassandraNodes', cassandraNodes);
  return built(
    dashboard(
      'smartmeter-services',
      'Smart meter: services',
      'CPU, memory, event-loop lag, errors and dead letters of every service process, by role and instance.',
    )
      .withPanel(
        statPanel({
          title: 'Processes',
          unit: 'short',
          queries: [{ expr: `count(process_start_time_seconds{${SERVICES}})` }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Restarts (1 h)',
          description: 'Processes that started again within the last hour.',
          unit: 'short',
          queries: [{ expr: `sum(changes(process_start_time_seconds{${SERVICES}}[1h]))` }],
          steps: [[1, 'orange']],
        }),
      )
      .withPanel(
        statPanel({
          title: 'CPU (cores)',
          unit: 'short',
          decimals: 2,
          queries: [{ expr: `sum(rate(process_cpu_seconds_total{${SERVICES}}[1m]))` }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Resident memory',
          unit: 'bytes',
          queries: [{ expr: `sum(process_resident_memory_bytes{${SERVICES}})` }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Dead letters (1 h)',
          unit: 'short',
          queries: [
            {
              // `or vector(0)`: a role that is not deployed (tiers can be switched off) must not blank the sum.
              expr: [
                'smartmeter_ingest_deadletters_total',
                'smartmeter_stream_messages_total{outcome="deadlettered"}',
                'smartmeter_predictions_total{outcome="dead_letter"}',
              ]
                .map((m) => `(sum(increase(${m}[1h])) or vector(0))`)
                .join(' + '),
            },
          ],
          steps: [[1, 'orange']],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Active stream instance',
          description: 'Stream instances holding the lease (1 expected; the others are hot standbys).',
          unit: 'short',
          queries: [{ expr: 'sum(smartmeter_stream_active)' }],
          steps: [
            [1, 'green'],
            [2, 'red'],
          ],
        }),
      )
      .withRow(row('Cassandra nodes, as the services see them'))
      .withPanel(
        statPanel({
          title: 'Fewest Cassandra nodes up',
          description: `Nodes up as the process that sees the fewest sees them, of ${nodes} deployed.`,
          unit: 'short',
          width: 6,
          queries: [{ expr: `min(${CASSANDRA_NODES.up})` }],
          base: 'red',
          steps: [[nodes, 'green']],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Most Cassandra nodes down',
          description:
            'Nodes a process has lost every connection to (its driver is reconnecting), the most any process sees.',
          unit: 'short',
          width: 6,
          queries: [{ expr: `max(${CASSANDRA_NODES.down})` }],
          steps: [[1, 'red']],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Cassandra nodes up (as each client sees them)',
          description: `Per process: the nodes its Cassandra client knows, up and down (${nodes} up when all are).`,
          unit: 'short',
          width: 12,
          min: 0,
          queries: [
            { expr: CASSANDRA_NODES.up, legend: `up ${perProcess}` },
            { expr: CASSANDRA_NODES.down, legend: `down ${perProcess}` },
          ],
        }),
      )
      .withRow(row('Resources'))
      .withPanel(
        timeSeries({
          title: 'CPU',
          description: 'CPU time per second: 1 = one core busy.',
          unit: 'percentunit',
          queries: [
            {
              expr: `sum by (role, instance) (rate(process_cpu_seconds_total{${SERVICES}}[1m]))`,
              legend: perProcess,
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Resident memory',
          unit: 'bytes',
          queries: [{ expr: `process_resident_memory_bytes{${SERVICES}}`, legend: perProcess }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Event-loop lag p99',
          unit: 's',
          queries: [{ expr: `nodejs_eventloop_lag_p99_seconds{${SERVICES}}`, legend: perProcess }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Heap used and GC time',
          unit: 'bytes',
          queries: [
            {
              expr: `sum by (role, instance) (nodejs_heap_size_used_bytes{${SERVICES}})`,
              legend: `heap ${perProcess}`,
            },
            {
              expr: `sum by (role, instance) (rate(nodejs_gc_duration_seconds_sum{${SERVICES}}[1m]))`,
              legend: `GC ${perProcess}`,
            },
          ],
          rightAxis: { queries: [1], unit: 'percentunit' },
        }),
      )
      .withRow(row('Errors and dead letters'))
      .withPanel(
        timeSeries({
          title: 'Errors and retries per second',
          description:
            'Failed Cassandra writes retried (ingest, stream), failed training runs and model loads, rejected requests, messages redelivered to ingest, times a role stopped consuming its input (/healthz says why).',
          unit: 'short',
          queries: [
            {
              expr: 'sum by (role, instance) (rate(smartmeter_ingest_write_retries_total[5m]))',
              legend: '{{role}} {{instance}} write retries',
            },
            {
              expr: 'sum by (role, instance) (rate(smartmeter_stream_write_retries_total[5m]))',
              legend: '{{role}} {{instance}} write retries',
            },
            {
              expr: 'sum by (role, instance) (rate(smartmeter_ingest_redeliveries_total[5m]))',
              legend: '{{role}} {{instance}} redeliveries',
            },
            {
              expr: 'sum by (role, instance) (rate(smartmeter_training_runs_total{outcome="failed"}[5m]))',
              legend: '{{role}} {{instance}} failed runs',
            },
            {
              expr: 'sum by (role, instance) (rate(smartmeter_model_reloads_total{outcome="failed"}[5m]))',
              legend: '{{role}} {{instance}} failed model loads',
            },
            {
              expr: 'sum by (role, instance) (rate(smartmeter_predictions_total{outcome="bad_request"}[5m]))',
              legend: '{{role}} {{instance}} bad requests',
            },
            {
              expr: 'sum by (role, instance) (rate(smartmeter_consumer_failures_total[5m]))',
              legend: '{{role}} {{instance}} stopped consuming',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Dead letters per second',
          description:
            'Malformed messages set aside on smartmeter.deadletter.<reason>, by role; "not published": their dead letter could not be sent (they were set aside all the same).',
          unit: 'short',
          queries: [
            {
              expr: 'sum by (role, reason) (rate(smartmeter_ingest_deadletters_total[5m]))',
              legend: '{{role}} {{reason}}',
            },
            {
              expr: 'sum by (role) (rate(smartmeter_stream_messages_total{outcome="deadlettered"}[5m]))',
              legend: '{{role}}',
            },
            {
              expr: 'sum by (role) (rate(smartmeter_predictions_total{outcome="dead_letter"}[5m]))',
              legend: '{{role}}',
            },
            ...['ingest', 'stream', 'predict'].map((role) => ({
              expr: `sum by (role) (rate(smartmeter_${role}_deadletter_failures_total[5m]))`,
              legend: '{{role}} not published',
            })),
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Connection events',
          description:
            'NATS status changes (disconnect, reconnect, connect_retry, …) and failed first Cassandra connections.',
          unit: 'short',
          bars: true,
          queries: [
            {
              expr: 'sum by (role, instance, event) (increase(smartmeter_nats_connection_events_total[1m]))',
              legend: '{{role}} {{instance}} NATS {{event}}',
            },
            {
              expr: 'sum by (role, instance) (increase(smartmeter_cassandra_connect_retries_total[1m]))',
              legend: '{{role}} {{instance}} Cassandra connect retry',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Stream job health',
          unit: 'short',
          queries: [
            { expr: 'smartmeter_stream_consumer_lag_messages', legend: 'lag {{instance}}' },
            {
              expr: 'sum by (instance, outcome) (rate(smartmeter_stream_messages_total{outcome=~"late|dropped"}[5m]))',
              legend: '{{outcome}} /s {{instance}}',
            },
          ],
        }),
      ),
  );
}
