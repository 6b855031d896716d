// Messaging tier: NATS with JetStream (file storage in a volume), a generated admin user and one user per
// role with only the permissions that role needs (nats-auth.ts), in its config file (a secret file, never
// an environment variable), the monitoring port, and prometheus-nats-exporter for Prometheus.
// On a platform with TLS (aws), with a certificate from the platform's CA valid for every member and usable
// as a client certificate: clients must speak TLS on 4222 (the services trust the CA, NATS_TLS_CA_FILE);
// routes speak mutual TLS on 6222 (each member presents the certificate and verifies the other's against
// the CA) on top of the route user's password; the monitoring port, which nats-server serves without any
// login (and over HTTPS without client certificates: it ignores `verify` there), listens only on a private
// network that the members and the exporter alone join (ServiceSpec.networks). Locally (127.0.0.1) all
// of it stays plain, like the stack's HTTP.
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';

import type { Durability, StackConfig } from '../config';
import { jetStreamFileStoreBytes } from '../formats/jetstream-limits';
import { type DeployedService, type Platform, privateHost } from '../spec';
import {
  NATS_ADMIN_USER,
  NATS_ROLES,
  natsAuthorization,
  natsCluster,
  NatsPasswords,
  NatsRole,
  natsTlsBlock,
  type NatsTlsFiles,
} from './nats-auth';
import type { NatsConnection } from './shared';

export interface MessagingTierArgs {
  readonly platform: Platform;
  readonly config: StackConfig;
}

const CONFIG_PATH = '/etc/nats/smartmeter.conf';
const EXPORTER_PORT = 7777;
const MONITORING_PORT = 8222;

/** Where a member finds its TLS files (aws): the certificate and CA as files, the key as a secret. */
export const NATS_TLS_PATHS = {
  certFile: '/etc/nats/tls/tls.crt',
  caFile: '/etc/nats/tls/ca.pem',
  keyFile: '/run/secrets/nats_tls_key',
} as const;

/**
 * The private network of NATS monitoring (aws): only the members and the exporter join it. Its subnet is
 * fixed so that a member finds its own address there at start and binds the monitoring port to it alone;
 * it must not overlap the VPC (10.42.0.0/16 by default) or Swarm's default pool's first subnets (10.0.x).
 */
export const NATS_MONITORING_NETWORK = { name: 'natsmon', subnet: '10.231.254.0/24' } as const;
const MONITOR_ADDRESS_FILE = '/tmp/nats-monitor-address';

/**
 * The member's start on aws: its address on the monitoring network (by the fixed subnet's prefix) becomes
 * `NATS_MONITOR_LISTEN`, which the config reads, and is kept in a file for the health check. The addresses
 * come from `hostname -I` (Debian) or, where that option is missing (BusyBox: the nats:*-alpine images),
 * from `ip -o -4 addr`.
 */
export function natsMonitoredStart(subnet: string): string {
  const prefix = subnet.split('.').slice(0, 3).join('\\.') + '\\.';
  return [
    `addrs=$(hostname -I 2>/dev/null || ip -o -4 addr show 2>/dev/null | sed 's#.* inet \\([0-9.]*\\)/.*#\\1#')`,
    `addr=$(echo "$addrs" | tr ' ' '\\n' | grep -m1 '^${prefix}')`,
    `[ -n "$addr" ] || { echo "no address on the monitoring network ${subnet}" >&2; exit 1; }`,
    `echo "$addr" > ${MONITOR_ADDRESS_FILE}`,
    `export NATS_MONITOR_LISTEN="$addr:${MONITORING_PORT}"`,
    `exec nats-server --config ${CONFIG_PATH}`,
  ].join('; ');
}

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

    const tls = platform.tls;
    // One certificate for every member (each is reached by its own name and by `nats`), used on the client
    // port, and on routes both ways: it is a client certificate too.
    const certificate = tls?.serverCertificate('nats', { names: ['nats', ...nodes], clientAuth: true });
    const healthUrl = (host: string) => `http://${host}:${MONITORING_PORT}/healthz?js-enabled-only=true`;

    this.nats = platform.deploy(
      {
        name: 'nats',
        image: { kind: 'external', name: config.images.nats },
        ...(tls
          ? { entrypoint: ['sh', '-c', natsMonitoredStart(NATS_MONITORING_NETWORK.subnet)] }
          : { args: ['nats-server', '--config', CONFIG_PATH] }),
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
              tls ? { ...NATS_TLS_PATHS, monitorListen: '$NATS_MONITOR_LISTEN' } : undefined,
            ),
          },
          ...(certificate ? [{ name: 'nats_tls_key', value: certificate.privateKey }] : []),
        ],
        files:
          tls && certificate
            ? [
                { path: NATS_TLS_PATHS.certFile, content: certificate.certificate },
                { path: NATS_TLS_PATHS.caFile, content: tls.caCertificate },
              ]
            : undefined,
        networks: tls ? [NATS_MONITORING_NETWORK] : undefined,
        ports: [
          { name: 'client', port: 4222, publish: config.ports.nats },
          { name: 'monitoring', port: MONITORING_PORT, publish: config.ports.natsMonitoring },
          ...(nodes.length > 1 ? [{ name: 'cluster', port: 6222 }] : []),
        ],
        volumes: [{ name: 'jetstream', path: '/data' }],
        // Healthy once the server runs with JetStream enabled. The plain /healthz also needs a JetStream
        // meta leader, i.e. a quorum of the cluster, which members started one after another never reach.
        healthCheck: {
          command: tls
            ? ['sh', '-c', `wget -q -O /dev/null "${healthUrl(`$(cat ${MONITOR_ADDRESS_FILE})`)}"`]
            : ['wget', '-q', '-O', '/dev/null', healthUrl('127.0.0.1')],
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
        args: [
          ...NATS_EXPORTER_FLAGS,
          '-p',
          String(EXPORTER_PORT),
          ...nodes.map(
            (h) => `http://${tls ? privateHost(NATS_MONITORING_NETWORK.name, h) : h}:${MONITORING_PORT}`,
          ),
        ],
        networks: tls ? [NATS_MONITORING_NETWORK] : undefined,
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
      caCertificate: tls?.caCertificate,
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
  /**
   * TLS on the client port and mutual TLS on routes, and the monitoring port's listen address (a config
   * variable such as `$NATS_MONITOR_LISTEN`, resolved from the environment); unset: all plain.
   */
  tls?: NatsTlsFiles & { readonly monitorListen?: string },
): pulumi.Output<string> {
  const cluster = routePassword
    ? pulumi.output(routePassword).apply(
        (p) =>
          '\n' +
          natsCluster(
            '0.0.0.0:6222',
            nodes.map((h) => `${h}:6222`),
            p,
            tls,
          ),
      )
    : '';
  const monitoring = tls?.monitorListen ? `http: ${tls.monitorListen}` : `http_port: ${MONITORING_PORT}`;
  const clientTls = tls ? `\n${natsTlsBlock(tls, false)}\n` : '';
  const authorization = pulumi.all(passwords).apply((p) => natsAuthorization(p as NatsPasswords));
  return pulumi.secret(pulumi.interpolate`# Generated by the smart-meter Pulumi program.
server_name: $SERVER_NAME
port: 4222
${monitoring}
${clientTls}
jetstream {
  store_dir: /data/jetstream
  max_file_store: ${fileStoreBytes}${syncInterval(durability)}
}

${authorization}${cluster}`);
}
