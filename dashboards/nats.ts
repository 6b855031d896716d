// 2. NATS servers — the original's "NATS Servers" board, from prometheus-nats-exporter (-varz -connz
// -routez -subz -jsz=all): gnatsd_varz_* per server (labelled with its monitoring URL as server_id)
// and jetstream_* per stream and consumer.
import { built, dashboard, Dashboard, row, statPanel, timeSeries } from './panels';

const perServer = '{{server_id}}';
const perConsumer = '{{stream_name}} / {{consumer_name}}';

export function natsDashboard(): Dashboard {
  return built(
    dashboard(
      'smartmeter-nats',
      'Smart meter: NATS servers',
      'NATS servers and JetStream, as prometheus-nats-exporter reports them from the monitoring port.',
    )
      .withPanel(
        statPanel({ title: 'Servers', unit: 'short', queries: [{ expr: 'count(gnatsd_varz_cpu)' }] }),
      )
      .withPanel(
        statPanel({
          title: 'Connections',
          unit: 'short',
          queries: [{ expr: 'sum(gnatsd_varz_connections)' }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Subscriptions',
          unit: 'short',
          queries: [{ expr: 'sum(gnatsd_varz_subscriptions)' }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Slow consumers',
          description: 'Clients the servers cut off since they started because they could not keep up.',
          unit: 'short',
          queries: [{ expr: 'sum(gnatsd_varz_slow_consumers)' }],
          steps: [[1, 'red']],
        }),
      )
      .withPanel(
        statPanel({
          title: 'JetStream messages stored',
          unit: 'short',
          queries: [{ expr: 'sum(jetstream_server_total_messages)' }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'JetStream storage',
          unit: 'bytes',
          queries: [{ expr: 'sum(jetstream_server_total_message_bytes)' }],
        }),
      )
      .withRow(row('Servers'))
      .withPanel(
        timeSeries({
          title: 'CPU',
          unit: 'percent',
          queries: [{ expr: 'gnatsd_varz_cpu', legend: perServer }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Memory',
          unit: 'bytes',
          queries: [{ expr: 'gnatsd_varz_mem', legend: perServer }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Messages per second',
          unit: 'short',
          queries: [
            { expr: 'rate(gnatsd_varz_in_msgs[1m])', legend: `in ${perServer}` },
            { expr: 'rate(gnatsd_varz_out_msgs[1m])', legend: `out ${perServer}` },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Bytes per second',
          unit: 'Bps',
          queries: [
            { expr: 'rate(gnatsd_varz_in_bytes[1m])', legend: `in ${perServer}` },
            { expr: 'rate(gnatsd_varz_out_bytes[1m])', legend: `out ${perServer}` },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Connections and subscriptions',
          unit: 'short',
          queries: [
            { expr: 'gnatsd_varz_connections', legend: `connections ${perServer}` },
            { expr: 'gnatsd_varz_subscriptions', legend: `subscriptions ${perServer}` },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Slow consumers',
          unit: 'short',
          queries: [{ expr: 'gnatsd_varz_slow_consumers', legend: perServer }],
        }),
      )
      .withRow(row('JetStream'))
      .withPanel(
        timeSeries({
          title: 'Consumer lag',
          description: 'Messages in the stream not yet delivered to the consumer.',
          unit: 'short',
          queries: [{ expr: 'jetstream_consumer_num_pending', legend: perConsumer }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Delivered, not yet acknowledged',
          unit: 'short',
          queries: [{ expr: 'jetstream_consumer_num_ack_pending', legend: perConsumer }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Stream messages',
          unit: 'short',
          queries: [{ expr: 'jetstream_stream_total_messages', legend: '{{stream_name}}' }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Stream size',
          unit: 'bytes',
          queries: [{ expr: 'jetstream_stream_total_bytes', legend: '{{stream_name}}' }],
        }),
      ),
  );
}
