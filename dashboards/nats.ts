// 2. NATS servers — the original's "NATS Servers" board, from prometheus-nats-exporter (-varz -connz
// -routez -subz -jsz=all -healthz): gnatsd_varz_* per server (labelled with its monitoring URL as
// server_id), jetstream_* per server, stream and consumer, and whether each cluster member is up.
import { built, dashboard, Dashboard, memberCount, row, statPanel, timeSeries } from './panels';

const perServer = '{{server_id}}';
const perConsumer = '{{stream_name}} / {{consumer_name}}';

export interface NatsOptions {
  /** Servers deployed (stack key smartmeter:natsNodes). */
  readonly natsNodes: number;
}

/**
 * The cluster's health as the exporter reports it, checked against a real 3-node cluster losing a member
 * (tests/dashboards/nats-cluster.int.test.ts). The exporter keeps the last /varz and /routez values of
 * a server it can no longer reach, so those are left out where it says `unreachable`; /jsz series of
 * such a server disappear, and the exporter exports no JetStream peer or replica state (current,
 * offline): a replica counts while its server answers.
 */
export const NATS_CLUSTER = {
  /** 1 per server answering /healthz with ok; 0 (value="unreachable" or "unavailable") otherwise. */
  serverHealth: 'gnatsd_healthz_status_value',
  /**
   * Other members each reachable server has routes to: a pool of routes per peer plus the system account's
   * (a lone server exports no pool size: its 0 routes are 0 peers).
   */
  routePeers:
    '((gnatsd_routez_num_routes / on (server_id) (gnatsd_varz_cluster_pool_size + 1)) or on (server_id) gnatsd_routez_num_routes)' +
    ' unless on (server_id) gnatsd_healthz_status_value{value="unreachable"}',
  /** Servers answering /jsz with a replica of each stream. */
  streamReplicas: 'count by (stream_name) (jetstream_stream_total_messages)',
} as const;

export function natsDashboard({ natsNodes }: NatsOptions): Dashboard {
  const servers = memberCount('natsNodes', natsNodes);
  const replicas = Math.min(servers, 3); // every stream and bucket has min(natsNodes, 3) copies
  return built(
    dashboard(
      'smartmeter-nats',
      'Smart meter: NATS servers',
      'NATS servers and JetStream, as prometheus-nats-exporter reports them from the monitoring port.',
    )
      .withPanel(
        statPanel({
          title: 'Servers',
          description: 'Servers the exporter reaches (it keeps the last /varz of one it cannot reach).',
          unit: 'short',
          queries: [
            {
              expr: 'count(gnatsd_varz_cpu unless on (server_id) gnatsd_healthz_status_value{value="unreachable"})',
            },
          ],
        }),
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
      .withRow(row('Cluster members'))
      .withPanel(
        statPanel({
          title: 'Servers healthy',
          description: `NATS servers answering /healthz with ok, of ${servers} deployed.`,
          unit: 'short',
          width: 8,
          queries: [{ expr: `sum(${NATS_CLUSTER.serverHealth})` }],
          base: 'red',
          steps: [[servers, 'green']],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Fewest route peers',
          description: `Other members the least connected server has routes to (${servers - 1} when all are up; no data on a single server).`,
          unit: 'short',
          width: 8,
          queries: [{ expr: `min(${NATS_CLUSTER.routePeers})` }],
          base: 'red',
          steps: [[servers - 1, 'green']],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Fewest stream replicas answering',
          description: `Replicas of the least replicated stream whose server answers (${replicas} when all are up).`,
          unit: 'short',
          width: 8,
          queries: [{ expr: `min(${NATS_CLUSTER.streamReplicas})` }],
          base: 'red',
          steps: [[replicas, 'green']],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Server health',
          description:
            '1: /healthz says ok (JetStream enabled and current on that server). 0: value says unreachable or unavailable.',
          unit: 'short',
          width: 8,
          min: 0,
          max: 1,
          queries: [{ expr: NATS_CLUSTER.serverHealth, legend: `${perServer} {{value}}` }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Route peers per server',
          description: `Route connections divided by the pool size + 1 (the system account's own route): the other members a server is connected to, ${servers - 1} when all are up. An unreachable server is left out.`,
          unit: 'short',
          width: 8,
          min: 0,
          queries: [{ expr: NATS_CLUSTER.routePeers, legend: perServer }],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Stream replicas answering',
          description: `Servers that answer and hold a replica of the stream, ${replicas} when all are up. The exporter does not say whether a replica is current; Server health does, per server.`,
          unit: 'short',
          width: 8,
          min: 0,
          queries: [{ expr: NATS_CLUSTER.streamReplicas, legend: '{{stream_name}}' }],
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
