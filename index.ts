// The smart-meter Pulumi program: one validated config, one platform (local Docker engine or a Swarm
// cluster on AWS), five tiers declared once (components/tiers), and what a user needs as outputs.
import * as pulumi from '@pulumi/pulumi';

import { loadConfig } from './components/config';
import { createPlatform } from './components/platforms';
import type { DeployedService } from './components/spec';
import { MessagingTier } from './components/tiers/messaging';
import { MetricsTier } from './components/tiers/metrics';
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
const published = (port: number, format: (host: string) => string) =>
  port > 0 ? host.apply(format) : undefined;

export const platformName = config.platform;
export const grafanaUrl = metrics
  ? published(config.ports.grafana, (h) => `http://${h}:${config.ports.grafana}`)
  : undefined;
export const grafanaAdminUser = metrics ? 'admin' : undefined;
export const grafanaAdminPassword = metrics ? pulumi.secret(metrics.grafanaAdminPassword) : undefined;
export const prometheusUrl = metrics
  ? published(config.ports.prometheus, (h) => `http://${h}:${config.ports.prometheus}`)
  : undefined;
/** The injectors' simulated clock: sim = simulatedAtAnchor + (now − anchor)·acceleration. */
export const simulationClock = streaming?.clock;
export const natsEndpoint = messaging
  ? published(config.ports.nats, (h) => `nats://${h}:${config.ports.nats}`)
  : undefined;
export const natsMonitoringUrl = messaging
  ? published(config.ports.natsMonitoring, (h) => `http://${h}:${config.ports.natsMonitoring}`)
  : undefined;
export const natsUser = messaging?.connection.user;
export const natsPassword = messaging ? pulumi.secret(messaging.connection.password) : undefined;
export const cassandraEndpoint = storage
  ? published(config.ports.cassandra, (h) => `${h}:${config.ports.cassandra}`)
  : undefined;
export const cassandraAdminUser = storage ? ADMIN_ROLE : undefined;
export const cassandraAdminPassword = storage ? pulumi.secret(storage.adminPassword) : undefined;
// The password is read from the stack when the command runs: it is never printed here.
export const cqlsh = storage
  ? published(
      config.ports.cassandra,
      (h) =>
        `cqlsh ${h} ${config.ports.cassandra} -u ${ADMIN_ROLE} ` +
        `-p "$(pulumi stack output cassandraAdminPassword --show-secrets -s ${pulumi.getStack()})"`,
    )
  : undefined;
