// Cassandra client shared by the roles: credentials from the environment (or *_FILE secrets); the first
// connection is retried with backoff (the node may still be starting), later outages are handled by the
// driver's reconnection policy and by the callers' write retries; the nodes the client sees up and down
// are a metric, so a lost node shows on the dashboards.
import { readFileSync } from 'node:fs';
import { auth, Client, policies, types } from 'cassandra-driver';
import { Counter, Gauge, Registry } from 'prom-client';
import { ConfigError, EnvReader } from './config';
import { Logger } from './log';
import { retryWithBackoff } from './retry';

export interface CassandraSettings {
  contactPoints: string[];
  localDataCenter: string;
  username?: string;
  password?: string;
  keyspace: string;
  /**
   * Route each write to a replica of its partition (the driver's default). Worth it only when some nodes
   * hold no copy of a partition: with nodes ≤ replication factor every node is a replica, and hashing each
   * request's partition key (murmur3, a fifth of ingest's allocations) buys nothing. The stack sets it.
   */
  tokenAware: boolean;
  /** Set: TLS only, nodes checked against `ca` (PEM), and the client certificate shown when present. */
  tls?: CassandraTls;
}

/** PEM texts (not paths): the key never leaves the process. */
export interface CassandraTls {
  ca: string;
  cert?: string;
  key?: string;
}

export function cassandraSettings(env: EnvReader): CassandraSettings {
  const username = env.get('CASSANDRA_USERNAME');
  return {
    contactPoints: env.get('CASSANDRA_CONTACT_POINTS'),
    localDataCenter: env.get('CASSANDRA_LOCAL_DC'),
    username,
    password: username ? env.required('CASSANDRA_PASSWORD', 'with CASSANDRA_USERNAME') : undefined,
    keyspace: env.get('CASSANDRA_KEYSPACE'),
    tokenAware: env.get('CASSANDRA_TOKEN_AWARE'),
    tls: cassandraTls(env),
  };
}

function cassandraTls(env: EnvReader): CassandraTls | undefined {
  const caFile = env.get('CASSANDRA_TLS_CA_FILE');
  const certFile = env.get('CASSANDRA_TLS_CERT_FILE');
  const key = certFile ? env.required('CASSANDRA_TLS_KEY', 'with CASSANDRA_TLS_CERT_FILE') : undefined;
  if (!caFile) {
    if (certFile) throw new ConfigError('CASSANDRA_TLS_CERT_FILE needs CASSANDRA_TLS_CA_FILE');
    return undefined;
  }
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${name}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  return {
    ca: read('CASSANDRA_TLS_CA_FILE', caFile),
    cert: certFile ? read('CASSANDRA_TLS_CERT_FILE', certFile) : undefined,
    key,
  };
}

/** A client not bound to a keyspace (queries name it), so migrate can use the same settings. */
export function createCassandraClient(settings: CassandraSettings): Client {
  const dcAware = new policies.loadBalancing.DCAwareRoundRobinPolicy(settings.localDataCenter);
  return new Client({
    contactPoints: settings.contactPoints,
    localDataCenter: settings.localDataCenter,
    authProvider:
      settings.username !== undefined
        ? new auth.PlainTextAuthProvider(settings.username, settings.password ?? '')
        : undefined,
    policies: {
      loadBalancing: settings.tokenAware ? new policies.loadBalancing.TokenAwarePolicy(dcAware) : dcAware,
      reconnection: new policies.reconnection.ExponentialReconnectionPolicy(500, 10_000, false),
    },
    queryOptions: { consistency: types.consistencies.localQuorum, prepare: true },
    socketOptions: { readTimeout: 12_000 },
    // A node's certificate must chain to the CA (the stack's own, which signs only its members and
    // clients). Its name is not checked: the driver dials the peers it discovers by their overlay IP
    // addresses, which Swarm assigns per task and no certificate can name in advance.
    sslOptions: settings.tls
      ? {
          ca: [settings.tls.ca],
          cert: settings.tls.cert,
          key: settings.tls.key,
          rejectUnauthorized: true,
          checkServerIdentity: () => undefined,
        }
      : undefined,
  });
}

export interface CassandraMetrics {
  readonly connectRetries: Counter;
  /** Reports `client`'s view of the nodes from now on (the gauge reads it at each scrape). */
  watch(client: Client): void;
}

/**
 * The connection's metrics, on the role's registry (a factory so they can be built without connecting):
 *   smartmeter_cassandra_connect_retries_total   failed attempts to open the first connection
 *   smartmeter_cassandra_nodes{state}            nodes the client knows (system.local and system.peers), by
 *                                                up | down: down once it lost every connection to the node
 *                                                and is reconnecting; 0 and 0 until it has connected
 */
export function createCassandraMetrics(registry: Registry): CassandraMetrics {
  let watched: Client | undefined;
  const connectRetries = new Counter({
    name: 'smartmeter_cassandra_connect_retries_total',
    help: 'Failed attempts to open the first Cassandra connection',
    registers: [registry],
  });
  new Gauge({
    name: 'smartmeter_cassandra_nodes',
    help: "Cassandra nodes as this process's client sees them, by state (down: every connection to it lost)",
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const hosts = watched?.hosts.values() ?? [];
      const up = hosts.filter((h) => h.isUp()).length;
      this.set({ state: 'up' }, up);
      this.set({ state: 'down' }, hosts.length - up);
    },
  });
  return {
    connectRetries,
    watch: (client) => {
      watched = client;
    },
  };
}

export async function connectCassandra(
  settings: CassandraSettings,
  log: Logger,
  registry: Registry,
  aborted: () => boolean = () => false,
): Promise<Client> {
  const metrics = createCassandraMetrics(registry);
  const client = await retryWithBackoff(
    async () => {
      const c = createCassandraClient(settings);
      try {
        await c.connect();
        return c;
      } catch (err) {
        await c.shutdown().catch(() => undefined);
        throw err;
      }
    },
    {
      initialMs: 500,
      maxMs: 10_000,
      aborted,
      onRetry: (err, attempt, delayMs) => {
        metrics.connectRetries.inc();
        log.warn('Cassandra not reachable; retrying', {
          contactPoints: settings.contactPoints,
          attempt,
          delayMs,
          err,
        });
      },
    },
  );
  metrics.watch(client);
  log.info('connected to Cassandra', { contactPoints: settings.contactPoints, keyspace: settings.keyspace });
  return client;
}
