// Cassandra client shared by the roles: credentials from the environment (or *_FILE secrets); the first
// connection is retried with backoff (the node may still be starting), later outages are handled by the
// driver's reconnection policy and by the callers' write retries.
import { auth, Client, policies, types } from 'cassandra-driver';
import { Counter, Registry } from 'prom-client';
import { EnvReader } from './config';
import { Logger } from './log';
import { retryWithBackoff } from './retry';

export interface CassandraSettings {
  contactPoints: string[];
  localDataCenter: string;
  username?: string;
  password?: string;
  keyspace: string;
}

const KEYSPACE_NAME = /^[a-z][a-z0-9_]{0,47}$/;

export function cassandraSettings(env: EnvReader): CassandraSettings {
  const username = env.optionalString('CASSANDRA_USERNAME');
  const keyspace = env.string('CASSANDRA_KEYSPACE', 'smartmeter');
  if (!KEYSPACE_NAME.test(keyspace)) {
    throw new Error(
      `CASSANDRA_KEYSPACE must match ${KEYSPACE_NAME} (lower-case CQL identifier), got "${keyspace}"`,
    );
  }
  return {
    contactPoints: env.list('CASSANDRA_CONTACT_POINTS', '127.0.0.1:9042'),
    localDataCenter: env.string('CASSANDRA_LOCAL_DC', 'datacenter1'),
    username,
    password: username ? env.secret('CASSANDRA_PASSWORD') : undefined,
    keyspace,
  };
}

/** A client not bound to a keyspace (queries name it), so migrate can use the same settings. */
export function createCassandraClient(settings: CassandraSettings): Client {
  return new Client({
    contactPoints: settings.contactPoints,
    localDataCenter: settings.localDataCenter,
    authProvider:
      settings.username !== undefined
        ? new auth.PlainTextAuthProvider(settings.username, settings.password ?? '')
        : undefined,
    policies: { reconnection: new policies.reconnection.ExponentialReconnectionPolicy(500, 10_000, false) },
    queryOptions: { consistency: types.consistencies.localQuorum, prepare: true },
    socketOptions: { readTimeout: 12_000 },
  });
}

/** The connection's metric, on the role's registry (a factory so it can be built without connecting). */
export function createCassandraConnectMetrics(registry: Registry): Counter {
  return new Counter({
    name: 'smartmeter_cassandra_connect_retries_total',
    help: 'Failed attempts to open the first Cassandra connection',
    registers: [registry],
  });
}

export async function connectCassandra(
  settings: CassandraSettings,
  log: Logger,
  registry: Registry,
  aborted: () => boolean = () => false,
): Promise<Client> {
  const retries = createCassandraConnectMetrics(registry);
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
        retries.inc();
        log.warn('Cassandra not reachable; retrying', {
          contactPoints: settings.contactPoints,
          attempt,
          delayMs,
          err,
        });
      },
    },
  );
  log.info('connected to Cassandra', { contactPoints: settings.contactPoints, keyspace: settings.keyspace });
  return client;
}
