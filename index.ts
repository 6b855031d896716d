// The smart-meter Pulumi program: one validated config, one platform (local Docker engine or a Swarm
// cluster on AWS), five tiers declared once (components/tiers), and what a user needs as outputs.
import * as pulumi from '@pulumi/pulumi';

import { loadConfig } from './components/config';
import { createPlatform } from './components/platforms';
import type { DeployedService } from './components/spec';
import { MessagingTier } from './components/tiers/messaging';
import { MetricsTier, PROMETHEUS_USER } from './components/tiers/metrics';
import { StorageTier, ADMIN_ROLE } from './components/tiers/storage';
import { StreamingTier } from './components/tiers/streaming';
import { TrainingTier } from './components/tiers/training';

const config = loadConfig();
const platform = createPlatform(config);
const on = (tier: Parameters<typeof config.tiers.has>[0]) => config.tiers.has(tier);

const messaging = on('messaging') ? new MessagingTier('messaging', { platform, config }) : undefined;
const storage = on('storage') ? new StorageTier('storage', { platform, config }) : undefined;
// config.ts guarantees messaging and storage whenever streaming or training is on.
const streaming =
  on('streaming') && messaging && storage
    ? new StreamingTier('streaming', {
        platform,
        config,
        nats: messaging.connection,
        cassandra: storage.connection,
      })
    : undefined;
const training =
  on('training') && messaging && storage
    ? new TrainingTier('training', {
        platform,
        config,
        nats: messaging.connection,
        cassandra: storage.connection,
      })
    : undefined;
const deployed: DeployedService[] = [
  ...(messaging ? [messaging.nats, messaging.exporter] : []),
  ...(streaming?.services ?? []),
  ...(training?.services ?? []),
];
const metrics = on('metrics')
  ? new MetricsTier('metrics', { platform, config, targets: deployed })
  : undefined;

const host = platform.publicHost;
// Published HTTP services speak HTTPS where the platform publishes over TLS (aws), HTTP locally.
const web = platform.tls ? 'https' : 'http';
const published = (port: number, format: (host: string) => string) =>
  port > 0 ? host.apply(format) : undefined;

const outputs: Record<string, unknown> = {
  platformName: config.platform,
  grafanaUrl: metrics && published(config.ports.grafana, (h) => `${web}://${h}:${config.ports.grafana}`),
  grafanaAdminUser: metrics && 'admin',
  grafanaAdminPassword: metrics && pulumi.secret(metrics.grafanaAdminPassword),
  prometheusUrl:
    metrics && published(config.ports.prometheus, (h) => `${web}://${h}:${config.ports.prometheus}`),
  // Where Prometheus asks for a login (aws): basic auth with this user and password (secret).
  prometheusUser: metrics?.prometheusPassword && PROMETHEUS_USER,
  prometheusPassword: metrics?.prometheusPassword && pulumi.secret(metrics.prometheusPassword),
  // What the user's browser or `curl --cacert` trusts for those URLs, and a Cassandra client for the
  // nodes (not a secret).
  caCertificate: (metrics || storage) && platform.tls?.caCertificate,
  /** The injectors' simulated clock: sim = simulatedAtAnchor + (now − anchor)·acceleration. */
  simulationClock: streaming?.clock,
  natsEndpoint: messaging && published(config.ports.nats, (h) => `nats://${h}:${config.ports.nats}`),
  natsMonitoringUrl:
    messaging && published(config.ports.natsMonitoring, (h) => `http://${h}:${config.ports.natsMonitoring}`),
  // The admin user (every permission; no container has it), for the user's own clients.
  natsUser: messaging?.connection.admin.user,
  natsPassword: messaging && pulumi.secret(messaging.connection.admin.password),
  cassandraEndpoint: storage && published(config.ports.cassandra, (h) => `${h}:${config.ports.cassandra}`),
  cassandraAdminUser: storage && ADMIN_ROLE,
  cassandraAdminPassword: storage && pulumi.secret(storage.adminPassword),
  // With TLS (aws): a client certificate and its key (secret) for the user's own Cassandra clients, which
  // the nodes require (mutual TLS); none that any container has.
  cassandraClientCertificate: storage?.userTls?.certificate,
  cassandraClientKey: storage?.userTls && pulumi.secret(storage.userTls.privateKey),
  // The password is read from the stack when the command runs: it is never printed here.
  cqlsh:
    storage &&
    published(
      config.ports.cassandra,
      (h) =>
        `cqlsh ${h} ${config.ports.cassandra} -u ${ADMIN_ROLE} ` +
        `-p "$(pulumi stack output cassandraAdminPassword --show-secrets -s ${pulumi.getStack()})"`,
    ),
};

// The stack outputs: only what this stack has (a tier that is off, or a port kept inside the network,
// has no output rather than an undefined one, which Pulumi would warn about on every `up`).
export = Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined));
