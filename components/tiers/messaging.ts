// Messaging tier: NATS with JetStream (file storage in a volume), a generated admin user and one user per
// role with only the permissions that role needs (nats-auth.ts), in its config file (a secret file, never
// an environment variable), the monitoring port, and prometheus-nats-exporter for Prometheus.
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';

import type { Durability, StackConfig } from '../config';
import { jetStreamFileStoreBytes } from '../formats/jetstream-limits';
import type { DeployedService, Platform } from '../spec';
import {
  NATS_ADMIN_USER,
  NATS_ROLES,
  natsAuthorization,
  natsCluster,
  NatsPasswords,
  NatsRole,
} from './nats-auth';
import type { NatsConnection } from './shared';

export interface MessagingTierArgs {
  readonly platform: Platform;
  readonly config: StackConfig;
}

const CONFIG_PATH = '/etc/nats/smartmeter.conf';
const EXPORTER_PORT = 7777;

/**
 * What prometheus-nats-exporter collects; the dashboards (and their integration tests) rely on these.
 * `-healthz` gives the one per-server up/down it has (a server it cannot reach is `unreachable`).
 */
export const NATS_EXPORTER_FLAGS = ['-varz', '-connz', '-routez', '-subz', '-jsz=all', '-healthz'];

export class MessagingTier extends pulumi.ComponentResource {
  public readonly connection: NatsConnection;
  public readonly nats: DeployedService;
  public readonly exporter: DeployedService;
  /** Where the services reach NATS inside the network. */
  public readonly internalUrl: string;

  constructor(name: string, args: MessagingTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:messaging:Messaging', name, {}, opts);
    const { platform, config } = args;
    const nodes = Array.from({ length: config.natsNodes }, (_, i) => platform.replicaHost('nats', i));

    // Letters and digits only: a password sits in a quoted string of the NATS config. The admin's keeps
    // the name it had when it was the one user, so an upgrade does not change it.
    const generate = (resource: string) =>
      new random.RandomPassword(resource, { length: 32, special: false }, { parent: this }).result;
    const password = generate(`${name}-nats-password`);
    const rolePasswords = Object.fromEntries(
      NATS_ROLES.map((role) => [role, generate(`${name}-nats-${role}-password`)]),
    ) as Record<NatsRole, pulumi.Output<string>>;

    this.nats = platform.deploy(
      {
        name: 'nats',
        image: { kind: 'external', name: config.images.nats },
        args: ['nats-server', '--config', CONFIG_PATH],
        replicas: config.natsNodes,
        env: { SERVER_NAME: { replicaSlot: { prefix: 'nats-' } } },
        secrets: [
          {
            name: 'nats_conf',
            path: CONFIG_PATH,
            value: natsConf(
              { admin: password, ...rolePasswords },
              nodes,
              config.durability,
              jetStreamFileStoreBytes(config.retention.rawStreamMaxBytes),
              nodes.length > 1 ? generate(`${name}-nats-route-password`) : undefined,
            ),
          },
        ],
        ports: [
          { name: 'client', port: 4222, publish: config.ports.nats },
          { name: 'monitoring', port: 8222, publish: config.ports.natsMonitoring },
          ...(nodes.length > 1 ? [{ name: 'cluster', port: 6222 }] : []),
        ],
        volumes: [{ name: 'jetstream', path: '/data' }],
        // Healthy once the server runs with JetStream enabled. The plain /healthz also needs a JetStream
        // meta leader, i.e. a quorum of the cluster, which members started one after another never reach.
        healthCheck: {
          command: ['wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8222/healthz?js-enabled-only=true'],
          intervalSeconds: 5,
          timeoutSeconds: 3,
          retries: 6,
          startPeriodSeconds: 10,
        },
      },
      { parent: this },
    );

    // One exporter follows every NATS node (it takes several monitoring URLs).
    this.exporter = platform.deploy(
      {
        name: 'nats-exporter',
        image: { kind: 'external', name: config.images.natsExporter },
        args: [...NATS_EXPORTER_FLAGS, '-p', String(EXPORTER_PORT), ...nodes.map((h) => `http://${h}:8222`)],
        ports: [{ name: 'metrics', port: EXPORTER_PORT }],
        dependsOn: [this.nats],
        scrape: { port: EXPORTER_PORT },
      },
      { parent: this },
    );

    this.internalUrl = nodes.map((h) => `nats://${h}:4222`).join(',');
    this.connection = {
      url: this.internalUrl,
      admin: { user: NATS_ADMIN_USER, password },
      roles: Object.fromEntries(
        NATS_ROLES.map((role) => [role, { user: role, password: rolePasswords[role] }]),
      ) as NatsConnection['roles'],
      service: this.nats,
      jetStreamReplicas: Math.min(nodes.length, 3),
    };
    this.registerOutputs({ internalUrl: this.internalUrl });
  }
}

/**
 * JetStream's `sync_interval`: `always` writes a message to disk (fsync) before acknowledging it; the
 * injectors' atomic batches make that one fsync per batch. Relaxed: the server's own default (2 min).
 */
export function syncInterval(durability: Durability): string {
  return durability === 'synced' ? '\n  sync_interval: always' : '';
}

/**
 * The NATS server configuration; `$SERVER_NAME` is resolved from the environment per replica.
 * `max_file_store` is set, not left to the server's guess (75 % of the disk free at its start), so that the
 * streams' budgets the config accepted are ones the server can reserve.
 */
export function natsConf(
  passwords: { readonly [U in keyof NatsPasswords]: pulumi.Input<string> },
  nodes: readonly string[],
  durability: Durability,
  fileStoreBytes: number,
  /** The route user's password: a cluster (more than one node) has one. */
  routePassword?: pulumi.Input<string>,
): pulumi.Output<string> {
  const cluster = routePassword
    ? pulumi.output(routePassword).apply(
        (p) =>
          '\n' +
          natsCluster(
            '0.0.0.0:6222',
            nodes.map((h) => `${h}:6222`),
            p,
          ),
      )
    : '';
  const authorization = pulumi.all(passwords).apply((p) => natsAuthorization(p as NatsPasswords));
  return pulumi.secret(pulumi.interpolate`# Generated by the smart-meter Pulumi program.
server_name: $SERVER_NAME
port: 4222
http_port: 8222

jetstream {
  store_dir: /data/jetstream
  max_file_store: ${fileStoreBytes}${syncInterval(durability)}
}

${authorization}${cluster}`);
}
