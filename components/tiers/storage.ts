// Storage tier: Cassandra with PasswordAuthenticator and a data volume; on a platform with TLS (aws)
// clients and nodes speak mutual TLS with certificates from the stack CA (plaintext locally, on 127.0.0.1). The default `cassandra`
// superuser is replaced by a generated admin role (job `cassandra-auth`, cqlsh from the Cassandra
// image); then `migrate` (services image, as admin) creates the keyspace, the tables and one role per
// service with that service's table grants only (services/src/storage/roles.ts), and drops the shared
// application role of earlier versions. The admin role is for migrate and the user's cqlsh only.
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';

import type { Durability, StackConfig } from '../config';
import type { DeployedService, FileSpec, Platform, SecretSpec } from '../spec';
import {
  CASSANDRA_SERVICES,
  cassandraTlsSettings,
  type CassandraClientTls,
  type CassandraConnection,
  type CassandraService,
} from './shared';

export interface StorageTierArgs {
  readonly platform: Platform;
  readonly config: StackConfig;
}

export const ADMIN_ROLE = 'smartmeter_admin';
/** Service roles are `<prefix>_<service>` (migrate's CASSANDRA_ROLE_PREFIX). */
export const ROLE_PREFIX = 'smartmeter';
/** The one role every service shared before: migrate drops it (its CASSANDRA_RETIRED_ROLES default). */
export const RETIRED_ROLE = 'smartmeter_app';
export const KEYSPACE = 'smartmeter';
const LOCAL_DC = 'datacenter1';
const AUTH_SCRIPT = '/opt/smartmeter/cassandra-auth.sh';
// TLS on a platform that has it (aws): the stack CA, each member's own key and certificate (one PEM file,
// as PEMBasedSslContextFactory reads them), the encryption options appended to cassandra.yaml at start.
export const CASSANDRA_CA_PATH = '/etc/cassandra/tls/ca.crt';
export const CASSANDRA_NODE_PEM_PATH = '/run/secrets/cassandra_node.pem';
const ENCRYPTION_YAML = '/opt/smartmeter/cassandra-encryption.yaml';
const AUTH_CQLSHRC = '/opt/smartmeter/cqlshrc';
const AUTH_CLIENT_CERT = '/opt/smartmeter/cassandra-auth.crt';
const AUTH_CLIENT_KEY = '/run/secrets/cassandra_auth_key';

export class StorageTier extends pulumi.ComponentResource {
  public readonly connection: CassandraConnection;
  public readonly cassandra: DeployedService;
  public readonly auth: DeployedService;
  public readonly migrate: DeployedService;
  /** The admin role's password (for migrate and the user's cqlsh; each service has its own role). */
  public readonly adminPassword: pulumi.Output<string>;
  /** With TLS: a client certificate for the user's own clients (a stack output; no container has it). */
  public readonly userTls?: CassandraClientTls;

  constructor(name: string, args: StorageTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:storage:Storage', name, {}, opts);
    const { platform, config } = args;
    const hosts = Array.from({ length: config.cassandraNodes }, (_, i) =>
      platform.replicaHost('cassandra', i),
    );
    // Letters and digits only: role DDL quotes passwords, and the auth script writes them to files.
    const password = (purpose: string) =>
      new random.RandomPassword(
        `${name}-${purpose}-password`,
        { length: 32, special: false },
        { parent: this },
      ).result;
    const adminPassword = password('cassandra-admin');
    const servicePasswords = Object.fromEntries(
      CASSANDRA_SERVICES.map((s) => [s, password(`cassandra-${s}`)]),
    ) as Record<CassandraService, pulumi.Output<string>>;
    const lockPassword = password('cassandra-default');
    this.adminPassword = adminPassword;

    const tls = platform.tls;
    // Each member's own key and certificate, for clients and for its peers (mutual TLS both ways).
    const nodeSecrets: SecretSpec[] = tls
      ? hosts.map((_, i) => {
          const { certificate, privateKey } = tls.peerCertificate('cassandra', i);
          return {
            name: `cassandra_node_pem_${i}`,
            path: CASSANDRA_NODE_PEM_PATH,
            member: i,
            value: pulumi.secret(pulumi.all([privateKey, certificate]).apply(([k, c]) => pemBundle(k, c))),
          };
        })
      : [];
    const nodeFiles: FileSpec[] = tls
      ? [
          { path: CASSANDRA_CA_PATH, content: tls.caCertificate },
          {
            path: ENCRYPTION_YAML,
            content: cassandraEncryptionYaml({
              keystore: CASSANDRA_NODE_PEM_PATH,
              truststore: CASSANDRA_CA_PATH,
              internode: true,
              optional: false,
            }),
          },
        ]
      : [];
    const encryptionEdit = tls ? cassandraEncryptionEdit(ENCRYPTION_YAML) : '';
    const clientTls = (client: string): CassandraClientTls | undefined => {
      if (!tls) return undefined;
      const { certificate, privateKey } = tls.clientCertificate(client);
      return { caCertificate: tls.caCertificate, certificate, privateKey };
    };

    this.cassandra = platform.deploy(
      {
        name: 'cassandra',
        image: { kind: 'external', name: config.images.cassandra },
        // The image has no variable for authentication nor for the commit log: switch them in cassandra.yaml,
        // then start as usual. storage_compatibility_mode NONE: 5.0 ships CASSANDRA_4, which refuses any TTL
        // expiring after 2038-01-19 (a retention over ~11 years, within the 7300 days allowed); this cluster
        // never had a 4.x node.
        entrypoint: ['bash', '-c'],
        args: [
          encryptionEdit +
            'sed -i -e s/AllowAllAuthenticator/PasswordAuthenticator/ -e s/AllowAllAuthorizer/CassandraAuthorizer/ ' +
            "-e 's/^storage_compatibility_mode: CASSANDRA_4/storage_compatibility_mode: NONE/' " +
            `${commitLogEdit(config.durability)}"$CASSANDRA_CONF/cassandra.yaml" && exec docker-entrypoint.sh cassandra -f`,
        ],
        replicas: config.cassandraNodes,
        env: {
          CASSANDRA_CONF: '/etc/cassandra',
          CASSANDRA_CLUSTER_NAME: 'smartmeter',
          CASSANDRA_DC: LOCAL_DC,
          CASSANDRA_RACK: { replicaZone: { singleZone: 'rack1' } }, // its zone: replicas spread over racks
          CASSANDRA_ENDPOINT_SNITCH: 'GossipingPropertyFileSnitch',
          CASSANDRA_SEEDS: hosts.slice(0, Math.min(hosts.length, 2)).join(','),
          MAX_HEAP_SIZE: config.cassandraHeap,
          HEAP_NEWSIZE: '128M',
          // The default superuser appears 0.5 s after start instead of 10 s (the auth job waits for it).
          JVM_EXTRA_OPTS: '-Dcassandra.superuser_setup_delay_ms=500',
        },
        ports: [
          { name: 'cql', port: 9042, publish: config.ports.cassandra },
          { name: 'gossip', port: 7000 },
        ],
        volumes: [{ name: 'data', path: '/var/lib/cassandra' }],
        files: nodeFiles.length ? nodeFiles : undefined,
        secrets: nodeSecrets.length ? nodeSecrets : undefined,
        // A TCP connect to the native port: the same with or without client encryption.
        healthCheck: {
          command: ['bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/9042'],
          intervalSeconds: 10,
          timeoutSeconds: 5,
          retries: 12,
          startPeriodSeconds: 120,
        },
      },
      { parent: this },
    );

    // cqlsh in the auth job: TLS with its own client certificate (cqlshrc names the files).
    const authTls = clientTls('cassandra-auth');
    this.auth = platform.deploy(
      {
        name: 'cassandra-auth',
        image: { kind: 'external', name: config.images.cassandra },
        lifecycle: 'job',
        entrypoint: ['bash', AUTH_SCRIPT],
        env: {
          CASSANDRA_HOST: hosts[0],
          ADMIN_ROLE,
          SYSTEM_AUTH_RF: String(config.cassandraReplicationFactor),
          LOCAL_DC,
          ...(authTls ? { CQLSHRC: AUTH_CQLSHRC } : {}),
        },
        files: [
          { path: AUTH_SCRIPT, content: AUTH_SCRIPT_TEXT },
          ...(authTls
            ? [
                { path: CASSANDRA_CA_PATH, content: authTls.caCertificate },
                { path: AUTH_CLIENT_CERT, content: authTls.certificate },
                { path: AUTH_CQLSHRC, content: AUTH_CQLSHRC_TEXT },
              ]
            : []),
        ],
        secrets: [
          { name: 'admin_password', value: adminPassword },
          { name: 'default_password', value: lockPassword },
          ...(authTls
            ? [{ name: 'cassandra_auth_key', value: authTls.privateKey, path: AUTH_CLIENT_KEY }]
            : []),
        ],
        dependsOn: [this.cassandra],
      },
      { parent: this },
    );

    const contactPoints = hosts.map((h) => `${h}:9042`).join(',');
    const migrateTls = cassandraTlsSettings(clientTls('migrate'));
    this.migrate = platform.deploy(
      {
        name: 'migrate',
        image: { kind: 'services' },
        args: ['migrate'],
        lifecycle: 'job',
        env: {
          LOG_LEVEL: config.logLevel,
          CASSANDRA_CONTACT_POINTS: contactPoints,
          CASSANDRA_LOCAL_DC: LOCAL_DC,
          CASSANDRA_KEYSPACE: KEYSPACE,
          CASSANDRA_USERNAME: ADMIN_ROLE,
          CASSANDRA_REPLICATION_FACTOR: String(config.cassandraReplicationFactor),
          CASSANDRA_ROLE_PREFIX: ROLE_PREFIX,
          CASSANDRA_RETIRED_ROLES: RETIRED_ROLE,
          // A changed key re-runs migrate, which ALTERs the tables' TTL (rows written before keep theirs).
          RAW_RETENTION_DAYS: String(config.retention.rawDays),
          AGGREGATE_RETENTION_DAYS: String(config.retention.aggregateDays),
          ...migrateTls.env,
        },
        secrets: [
          { name: 'cassandra_password', value: adminPassword, fileEnv: 'CASSANDRA_PASSWORD_FILE' },
          // Every service role's password, to create or converge the roles: as files, never in env.
          ...CASSANDRA_SERVICES.map((s) => ({
            name: `cassandra_${s}_password`,
            value: servicePasswords[s],
            fileEnv: `CASSANDRA_${s.toUpperCase()}_PASSWORD_FILE`,
          })),
          ...migrateTls.secrets,
        ],
        dependsOn: [this.auth],
      },
      { parent: this },
    );

    this.connection = {
      contactPoints,
      localDc: LOCAL_DC,
      keyspace: KEYSPACE,
      roles: Object.fromEntries(
        CASSANDRA_SERVICES.map((s) => [s, { user: `${ROLE_PREFIX}_${s}`, password: servicePasswords[s] }]),
      ) as CassandraConnection['roles'],
      // With nodes ≤ replication factor every node holds every partition (the local and aws stacks).
      tokenAware: config.cassandraNodes > config.cassandraReplicationFactor,
      ready: this.migrate,
      // One client certificate for the services' sessions: who they are is the role they log in as.
      tls: clientTls('cassandra-services'),
    };
    this.userTls = clientTls('cassandra-user');
    this.registerOutputs({ contactPoints });
  }
}

/**
 * sed expressions that make a default cassandra.yaml (`commitlog_sync: periodic` every 10 s: a write is
 * acknowledged from memory) sync the commit log before acknowledging, when the stack is `synced`.
 * `batch` syncs as soon as a write waits, taking every write that arrived meanwhile: measured on 2 cores
 * (README, "What survives what") at 0.5–0.75 of periodic's insert ceiling, where `group` with a 15 ms window
 * made 2,000 rows/s. Batch mode refuses a period, so that line goes. Kept in step with
 * scripts/backing-services.sh (a test reads the mode back from a running node).
 */
export function commitLogEdit(durability: Durability): string {
  return durability === 'synced'
    ? "-e 's/^commitlog_sync: periodic/commitlog_sync: batch/' -e '/^commitlog_sync_period:/d' "
    : '';
}

/**
 * The shell that appends the encryption options at `file` to cassandra.yaml, once (a restarted container
 * keeps its edited file, and repeated keys are fatal), through sed -i like the other edits: the cassandra
 * user may replace the file in its directory, not write to it. Ends with `; ` for the next command.
 */
export function cassandraEncryptionEdit(file: string): string {
  return (
    `grep -q '^client_encryption_options:' "$CASSANDRA_CONF/cassandra.yaml" || ` +
    `sed -i '$r ${file}' "$CASSANDRA_CONF/cassandra.yaml"; `
  );
}

/** A key and its certificate in one PEM file, as PEMBasedSslContextFactory reads a keystore. */
export function pemBundle(privateKey: string, certificate: string): string {
  return `${privateKey.trimEnd()}\n${certificate.trimEnd()}\n`;
}

export interface CassandraEncryption {
  /** PEM file with the node's private key (PKCS#8, unencrypted) and certificate. */
  readonly keystore: string;
  /** PEM file with the CA certificate(s) peers and clients are checked against. */
  readonly truststore: string;
  /** Node-to-node encryption too (mutual: a peer shows a certificate from the same CA). */
  readonly internode: boolean;
  /**
   * Plaintext clients accepted on the same port as TLS ones (the bench, to time both against one node);
   * the stack: false. A TLS client must show a certificate either way.
   */
  readonly optional: boolean;
}

/**
 * cassandra.yaml's encryption options (Cassandra 5.0, PEM files through PEMBasedSslContextFactory):
 * clients over TLS only with a certificate from the CA, and with `internode` every connection between
 * nodes too. The same text the stack appends and the tests and bench start their nodes with.
 */
export function cassandraEncryptionYaml(e: CassandraEncryption): string {
  const stores = [
    '  ssl_context_factory:',
    '    class_name: org.apache.cassandra.security.PEMBasedSslContextFactory',
    `  keystore: ${e.keystore}`,
    `  truststore: ${e.truststore}`,
  ];
  return [
    'client_encryption_options:',
    '  enabled: true',
    `  optional: ${e.optional}`,
    '  require_client_auth: true',
    ...stores,
    ...(e.internode
      ? [
          'server_encryption_options:',
          '  internode_encryption: all',
          // 5.0 defaults it to true: a peer could still connect in plaintext.
          '  optional: false',
          '  require_client_auth: true',
          ...stores,
          `  outbound_keystore: ${e.keystore}`,
        ]
      : []),
    '',
  ].join('\n');
}

/** cqlsh's TLS settings (a cqlshrc): the node checked against the CA, the client certificate shown. */
export function cqlshrcText(caFile: string, certFile: string, keyFile: string): string {
  return `[ssl]\ncertfile = ${caFile}\nvalidate = true\nusercert = ${certFile}\nuserkey = ${keyFile}\n`;
}
const AUTH_CQLSHRC_TEXT = cqlshrcText(CASSANDRA_CA_PATH, AUTH_CLIENT_CERT, AUTH_CLIENT_KEY);

/**
 * Replaces the default superuser: creates the admin role (logging in as cassandra/cassandra on first
 * run), then disables `cassandra` with a random password. Idempotent: a re-run finds the admin role
 * working and only converges. Passwords go through files (cqlsh --credentials, -f), never argv or logs.
 */
export const AUTH_SCRIPT_TEXT = `#!/bin/bash
set -euo pipefail
umask 077 # cqlsh ignores a credentials file that others can read
work=$(mktemp -d)
admin_pw=$(tr -d '\\n' < /run/secrets/admin_password)
default_pw=$(tr -d '\\n' < /run/secrets/default_password)

credentials() { # user password -> file (both section names: cqlsh 4.x and 5.x read different ones)
  local f="$work/$1.credentials"
  printf '[plain_text_auth]\\nusername = %s\\npassword = %s\\n[PlainTextAuthProvider]\\nusername = %s\\npassword = %s\\n' \\
    "$1" "$2" "$1" "$2" > "$f"
  echo "$f"
}
ssl=() # CQLSHRC set (a stack with TLS): cqlsh speaks TLS with the files it names
[ -z "\${CQLSHRC:-}" ] || ssl=(--ssl --cqlshrc "$CQLSHRC")
cql() { # user password cql-file
  cqlsh "$CASSANDRA_HOST" 9042 "\${ssl[@]}" -u "$1" --credentials "$(credentials "$1" "$2")" -f "$3"
}
echo 'SELECT release_version FROM system.local;' > "$work/probe.cql"

login=''
for attempt in $(seq 1 60); do
  if cql "$ADMIN_ROLE" "$admin_pw" "$work/probe.cql" > /dev/null 2>&1; then login='admin'; break; fi
  if cql cassandra cassandra "$work/probe.cql" > /dev/null 2>&1; then login='default'; break; fi
  echo "waiting for Cassandra at $CASSANDRA_HOST:9042 (attempt $attempt/60)"
  sleep 5
done
[ -n "$login" ] || { echo 'Cassandra did not accept a login in 5 minutes' >&2; exit 1; }

if [ "$login" = default ]; then
  echo "CREATE ROLE IF NOT EXISTS $ADMIN_ROLE WITH PASSWORD = '$admin_pw' AND LOGIN = true AND SUPERUSER = true;" \\
    > "$work/admin.cql"
  cql cassandra cassandra "$work/admin.cql"
  echo "created role $ADMIN_ROLE"
  sleep 3 # the roles cache lives 2 s
fi

cat > "$work/converge.cql" <<CQL
ALTER KEYSPACE system_auth WITH replication = {'class': 'NetworkTopologyStrategy', '$LOCAL_DC': $SYSTEM_AUTH_RF};
ALTER ROLE cassandra WITH PASSWORD = '$default_pw' AND SUPERUSER = false AND LOGIN = false;
CQL
cql "$ADMIN_ROLE" "$admin_pw" "$work/converge.cql"
rm -rf "$work"
echo "default superuser disabled; $ADMIN_ROLE is the administrator"
`;
