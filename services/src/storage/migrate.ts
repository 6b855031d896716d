// Brings a keyspace to the schema of storage/schema.ts: creates what is missing, converges the
// replication factor, and (optionally) creates the application role with only SELECT and MODIFY.
import { Client } from 'cassandra-driver';
import { CassandraSettings, createCassandraClient } from '../lib/cassandra';
import { Logger } from '../lib/log';
import { keyspaceStatement, tableStatements } from './schema';

export interface MigrateOptions {
  replicationFactor: number;
  /** A least-privilege login for the other roles, created or updated here when given. */
  appRole?: { name: string; password: string };
}

export async function migrate(
  client: Client,
  settings: CassandraSettings,
  opts: MigrateOptions,
  log: Logger,
): Promise<void> {
  const { keyspace, localDataCenter: dataCenter } = settings;
  const { replicationFactor } = opts;
  await client.execute(keyspaceStatement(keyspace, dataCenter, replicationFactor));
  const current = await client.execute(
    'SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?',
    [keyspace],
    { prepare: true },
  );
  const replication = current.first()?.replication as Record<string, string> | undefined;
  if (replication?.[dataCenter] !== String(replicationFactor)) {
    log.info('changing keyspace replication', { keyspace, from: replication, to: replicationFactor });
    await client.execute(keyspaceStatement(keyspace, dataCenter, replicationFactor, true));
  }
  for (const statement of tableStatements(keyspace)) await client.execute(statement);

  if (opts.appRole) await ensureAppRole(client, settings, opts.appRole, log);
  await client.metadata.refreshKeyspace(keyspace);
  log.info('schema ready', { keyspace, replicationFactor, dataCenter });
}

/** Creates the role, or resets its password only when it no longer works (Cassandra rate-limits changes). */
async function ensureAppRole(
  client: Client,
  settings: CassandraSettings,
  role: { name: string; password: string },
  log: Logger,
) {
  const { name, password } = role;
  const { keyspace } = settings;
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(name)) throw new Error(`invalid application role name "${name}"`);
  // Role DDL takes no bind markers: the password is quoted CQL-style, and never logged.
  const quoted = password.replace(/'/g, "''");
  const exists = await client.execute('SELECT role FROM system_auth.roles WHERE role = ?', [name], {
    prepare: true,
  });
  if (!exists.rowLength) {
    await client.execute(`CREATE ROLE IF NOT EXISTS ${name} WITH PASSWORD = '${quoted}' AND LOGIN = true`);
  } else if (!(await canLogIn({ ...settings, username: name, password }))) {
    await client.execute(`ALTER ROLE ${name} WITH PASSWORD = '${quoted}' AND LOGIN = true`);
  }
  await client.execute(`GRANT SELECT ON KEYSPACE ${keyspace} TO ${name}`);
  await client.execute(`GRANT MODIFY ON KEYSPACE ${keyspace} TO ${name}`);
  log.info('application role ready', { role: name, keyspace });
}

async function canLogIn(settings: CassandraSettings): Promise<boolean> {
  const probe = createCassandraClient(settings);
  try {
    await probe.connect();
    return true;
  } catch {
    return false;
  } finally {
    await probe.shutdown().catch(() => undefined);
  }
}
