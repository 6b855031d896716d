// What the tiers share: how the services image is declared, and the connection details one tier hands
// to another (NATS for every role but migrate, Cassandra for the roles that store or read data).
import * as pulumi from '@pulumi/pulumi';

import type { StackConfig } from '../config';
import { secretPath } from '../spec';
import type { DeployedService, EnvValue, FileSpec, HealthCheckSpec, SecretSpec, ServiceSpec } from '../spec';
import type { NatsRole } from './nats-auth';

/** Every role serves /metrics and /healthz here (services/README.md). */
export const METRICS_PORT = 9464;

/** /healthz of a services container, through Node's fetch (the image has no curl or wget). */
export const SERVICES_HEALTH_CHECK: HealthCheckSpec = {
  command: [
    'node',
    '-e',
    "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))",
  ],
  intervalSeconds: 10,
  timeoutSeconds: 5,
  retries: 6,
  startPeriodSeconds: 30,
};

export interface NatsCredentials {
  readonly user: string;
  readonly password: pulumi.Output<string>;
}

export interface NatsConnection {
  /** Comma-separated server URLs inside the network. */
  readonly url: string;
  /** Every permission: for the user (a stack output), never for a container. */
  readonly admin: NatsCredentials;
  /** One user per role, with that role's permissions only (nats-auth.ts). */
  readonly roles: { readonly [R in NatsRole]: NatsCredentials };
  readonly service: DeployedService;
  /** Copies of each JetStream stream and bucket: the cluster size, at most 3. */
  readonly jetStreamReplicas: number;
  /** Set when NATS requires TLS on its client port (aws): the CA (PEM) its certificate is signed by. */
  readonly caCertificate?: pulumi.Output<string>;
}

/** The services with a Cassandra role of their own (services/src/storage/roles.ts SERVICES). */
export const CASSANDRA_SERVICES = ['ingest', 'stream', 'train', 'predict'] as const;
export type CassandraService = (typeof CASSANDRA_SERVICES)[number];

export interface CassandraCredentials {
  readonly user: string;
  readonly password: pulumi.Output<string>;
}

/** Where a services container finds the CA it trusts for NATS's TLS (NATS_TLS_CA_FILE). */
export const NATS_CA_PATH = '/etc/smartmeter/nats-ca.pem';

export interface CassandraConnection {
  /** Comma-separated `host:port` inside the network. */
  readonly contactPoints: string;
  readonly localDc: string;
  readonly keyspace: string;
  /** One role per service, with that service's table grants only (created by migrate). */
  readonly roles: { readonly [S in CassandraService]: CassandraCredentials };
  /** Whether a write is routed to a replica of its partition: only useful with more nodes than copies. */
  readonly tokenAware: boolean;
  /** Finished once the keyspace, tables and roles exist: what the services wait for. */
  readonly ready: DeployedService;
  /** Set on a platform with TLS (aws): the nodes accept TLS clients with a certificate only. */
  readonly tls?: CassandraClientTls;
}

/** What a Cassandra client needs for mutual TLS: the CA (PEM) and its certificate and key. */
export interface CassandraClientTls {
  readonly caCertificate: pulumi.Input<string>;
  readonly certificate: pulumi.Input<string>;
  readonly privateKey: pulumi.Input<string>;
}

/**
 * The CA, certificate and key as files: CASSANDRA_TLS_CA_FILE and CASSANDRA_TLS_CERT_FILE name the first
 * two (paths, declared as such), the key is a secret read through CASSANDRA_TLS_KEY_FILE. None without TLS.
 */
export function cassandraTlsSettings(tls: CassandraClientTls | undefined): {
  env: Record<string, string>;
  secrets: SecretSpec[];
} {
  if (!tls) return { env: {}, secrets: [] };
  const ca: SecretSpec = { name: 'cassandra_tls_ca', value: tls.caCertificate };
  const cert: SecretSpec = { name: 'cassandra_tls_cert', value: tls.certificate };
  return {
    env: { CASSANDRA_TLS_CA_FILE: secretPath(ca), CASSANDRA_TLS_CERT_FILE: secretPath(cert) },
    secrets: [
      ca,
      cert,
      { name: 'cassandra_tls_key', value: tls.privateKey, fileEnv: 'CASSANDRA_TLS_KEY_FILE' },
    ],
  };
}

/** Client settings with the password as a file: `X_FILE` points at it (services/README.md). */
export interface ClientSettings {
  readonly env: Record<string, EnvValue>;
  readonly secrets: SecretSpec[];
  readonly dependsOn: DeployedService[];
  /** Non-secret files (a CA certificate). */
  readonly files?: FileSpec[];
}

/** A role's NATS settings: its own user, and only its password. */
export function natsClient(nats: NatsConnection, role: NatsRole): ClientSettings {
  const { user, password } = nats.roles[role];
  return {
    env: {
      NATS_URL: nats.url,
      NATS_USER: user,
      // The client speaks TLS and trusts only the stack's CA (the CA is public: a file, not a secret).
      ...(nats.caCertificate ? { NATS_TLS_CA_FILE: NATS_CA_PATH } : {}),
    },
    secrets: [{ name: 'nats_password', value: password, fileEnv: 'NATS_PASSWORD_FILE' }],
    dependsOn: [nats.service],
    files: nats.caCertificate ? [{ path: NATS_CA_PATH, content: nats.caCertificate }] : undefined,
  };
}

/** A service's Cassandra settings: its own role, and only its password. */
export function cassandraClient(cassandra: CassandraConnection, service: CassandraService): ClientSettings {
  const { user, password } = cassandra.roles[service];
  const tls = cassandraTlsSettings(cassandra.tls);
  return {
    env: {
      CASSANDRA_CONTACT_POINTS: cassandra.contactPoints,
      CASSANDRA_LOCAL_DC: cassandra.localDc,
      CASSANDRA_KEYSPACE: cassandra.keyspace,
      CASSANDRA_USERNAME: user,
      CASSANDRA_TOKEN_AWARE: String(cassandra.tokenAware),
      ...tls.env,
    },
    secrets: [
      { name: 'cassandra_password', value: password, fileEnv: 'CASSANDRA_PASSWORD_FILE' },
      ...tls.secrets,
    ],
    dependsOn: [cassandra.ready],
  };
}

/** The raw stream's budgets and copies, for the roles that create or converge it (ingest, stream). */
export function rawStreamEnv(config: StackConfig, nats: NatsConnection): Record<string, string> {
  return {
    RAW_STREAM_MAX_AGE_S: String(config.retention.rawStreamMaxAgeSeconds),
    RAW_STREAM_MAX_BYTES: String(config.retention.rawStreamMaxBytes),
    JETSTREAM_REPLICAS: String(nats.jetStreamReplicas),
    ...duplicateWindowEnv(config),
  };
}

/** The raw stream's duplicate window: the stream drops resends within it, an injector counts later ones. */
export function duplicateWindowEnv(config: StackConfig): Record<string, string> {
  return { RAW_STREAM_DUPLICATE_WINDOW_S: String(config.retention.rawStreamDuplicateWindowSeconds) };
}

/** A long-running role of the services image, scraped by Prometheus, with the given client settings. */
export function roleService(
  role: string,
  config: StackConfig,
  clients: readonly ClientSettings[],
  extra: { readonly replicas?: number; readonly env?: Record<string, EnvValue> } = {},
): ServiceSpec {
  return {
    name: role,
    image: { kind: 'services' },
    args: [role],
    replicas: extra.replicas,
    env: {
      METRICS_PORT: String(METRICS_PORT),
      LOG_LEVEL: config.logLevel,
      ...Object.assign({}, ...clients.map((c) => c.env)),
      ...extra.env,
    },
    secrets: clients.flatMap((c) => c.secrets),
    files: clients.some((c) => c.files?.length) ? clients.flatMap((c) => c.files ?? []) : undefined,
    dependsOn: clients.flatMap((c) => c.dependsOn),
    ports: [{ name: 'metrics', port: METRICS_PORT }],
    healthCheck: SERVICES_HEALTH_CHECK,
    scrape: { port: METRICS_PORT },
  };
}
