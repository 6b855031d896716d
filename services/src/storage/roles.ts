// One Cassandra role per service, each with SELECT or MODIFY on the tables its code touches and nothing else
// (issue 24): a compromised or buggy predict cannot write raw_data, ingest cannot read models, and no
// service role can change the schema or other roles. The admin role (CASSANDRA_USERNAME of migrate) is for
// migrate and the user's cqlsh only.
//
// The table below is read off the services' statements (ingest/rows.ts, streaming/outputs.ts,
// training/dataset.ts, training/registry.ts); tests/integration/cassandra-roles.int.test.ts runs each
// service's own statements as its role, and a sample of forbidden ones.
import { Client } from 'cassandra-driver';
import { CassandraSettings, createCassandraClient } from '../lib/cassandra';
import { Logger } from '../lib/log';
import { sleep } from '../lib/retry';
import { TABLES } from './schema';

export const SERVICES = ['ingest', 'stream', 'train', 'predict'] as const;
export type Service = (typeof SERVICES)[number];
export type Table = (typeof TABLES)[number];
export type Permission = 'SELECT' | 'MODIFY';

const RW: readonly Permission[] = ['SELECT', 'MODIFY'];

/** What each service's role may do, per table. An INSERT needs MODIFY only; a read-back needs SELECT. */
export const GRANTS: Readonly<Record<Service, Readonly<Partial<Record<Table, readonly Permission[]>>>>> = {
  // Raw voltage readings and raw temperatures: INSERTs only.
  ingest: { raw_data: ['MODIFY'], temperature: ['MODIFY'] },
  // Window maxima, averages and alerts are read back before an upsert (seq); outages are only written.
  stream: {
    temperature: RW,
    max_voltage: RW,
    max_voltage_by_line: RW,
    avg_voltage_by_transformer: RW,
    voltage_alerts: RW,
    meter_outages: ['MODIFY'],
    transformer_outages: ['MODIFY'],
  },
  // Reads max_voltage ⋈ temperature, reads the newest version, writes the next one.
  train: { max_voltage: ['SELECT'], temperature: ['SELECT'], models: RW },
  // Loads models only.
  predict: { models: ['SELECT'] },
};

/** The CQL role of a service: `<prefix>_<service>` (CASSANDRA_ROLE_PREFIX, default smartmeter). */
export const roleName = (prefix: string, service: Service): string => `${prefix}_${service}`;

/** The services whose role writes raw_data: what the rekey fence holds back (rekey.ts). */
export const RAW_DATA_WRITERS: readonly Service[] = SERVICES.filter((s) =>
  GRANTS[s].raw_data?.includes('MODIFY'),
);

const ROLE_NAME = /^[a-z][a-z0-9_]{0,47}$/;

export interface ServiceRolesOptions {
  prefix: string;
  /** Each service role's password (never logged). */
  passwords: Readonly<Record<Service, string>>;
  /** Roles of earlier versions to drop once the service roles exist (default: the shared `<prefix>_app`). */
  retired: readonly string[];
}

/** `ks.t` → its permissions, as system_auth.role_permissions names the resource (`data/ks/t`). */
export function wantedPermissions(keyspace: string, service: Service): Map<string, Set<string>> {
  return new Map(
    Object.entries(GRANTS[service]).map(([table, perms]) => [`data/${keyspace}/${table}`, new Set(perms)]),
  );
}

/** A system_auth resource name as CQL (GRANT … ON <this>); undefined for kinds migrate never grants. */
export function resourceCql(resource: string): string | undefined {
  const [kind, a, b] = resource.split('/');
  if (kind === 'data') return b ? `TABLE ${a}.${b}` : a ? `KEYSPACE ${a}` : 'ALL KEYSPACES';
  if (kind === 'roles') return a ? `ROLE ${a}` : 'ALL ROLES';
  if (kind === 'functions' && !b) return a ? `ALL FUNCTIONS IN KEYSPACE ${a}` : 'ALL FUNCTIONS';
  if (kind === 'mbean' && !a) return 'ALL MBEANS';
  return undefined;
}

/** Permissions a role holds directly: resource → permission names. */
export async function permissionsOf(client: Client, role: string): Promise<Map<string, Set<string>>> {
  const rs = await client.execute(
    'SELECT resource, permissions FROM system_auth.role_permissions WHERE role = ?',
    [role],
    { prepare: true },
  );
  return new Map(rs.rows.map((r) => [r.resource as string, new Set((r.permissions as string[]) ?? [])]));
}

export async function roleExists(client: Client, role: string): Promise<boolean> {
  const rs = await client.execute('SELECT role FROM system_auth.roles WHERE role = ?', [role], {
    prepare: true,
  });
  return rs.rowLength > 0;
}

/**
 * Creates or converges every service role: LOGIN, not SUPERUSER, member of no role, exactly its grants
 * (missing ones granted, any other permission on any resource revoked), then drops the retired roles.
 * A password is reset only when it no longer logs in (Cassandra rate-limits role changes).
 */
export async function ensureServiceRoles(
  client: Client,
  settings: CassandraSettings,
  opts: ServiceRolesOptions,
  log: Logger,
): Promise<void> {
  const names = SERVICES.map((s) => roleName(opts.prefix, s));
  for (const name of [...names, ...opts.retired]) {
    if (!ROLE_NAME.test(name)) throw new Error(`invalid Cassandra role name "${name}"`);
  }
  const clash = opts.retired.find((r) => names.includes(r) || r === settings.username);
  if (clash) throw new Error(`role "${clash}" cannot be both retired and in use`);

  for (const service of SERVICES) {
    const name = roleName(opts.prefix, service);
    await ensureLogin(client, settings, name, opts.passwords[service]);
    await convergeGrants(client, name, wantedPermissions(settings.keyspace, service), log);
    log.info('service role ready', { cassandraRole: name, grants: GRANTS[service] });
  }
  for (const name of opts.retired) {
    if (!(await roleExists(client, name))) continue;
    await client.execute(`DROP ROLE IF EXISTS ${name}`);
    log.info('retired role dropped', { cassandraRole: name });
  }
}

async function ensureLogin(client: Client, settings: CassandraSettings, name: string, password: string) {
  // Role DDL takes no bind markers: the password is quoted CQL-style, and never logged.
  const quoted = password.replace(/'/g, "''");
  const rs = await client.execute(
    'SELECT is_superuser, can_login, member_of FROM system_auth.roles WHERE role = ?',
    [name],
    { prepare: true },
  );
  const row = rs.first();
  if (!row) {
    await client.execute(
      `CREATE ROLE IF NOT EXISTS ${name} WITH PASSWORD = '${quoted}' AND LOGIN = true AND SUPERUSER = false`,
    );
    return;
  }
  if (row.is_superuser || !row.can_login)
    await client.execute(`ALTER ROLE ${name} WITH SUPERUSER = false AND LOGIN = true`);
  for (const parent of (row.member_of as string[] | null) ?? [])
    await client.execute(`REVOKE ${parent} FROM ${name}`);
  if (!(await canLogIn({ ...settings, username: name, password }))) {
    await changePassword(client, `ALTER ROLE ${name} WITH PASSWORD = '${quoted}'`);
  }
}

/**
 * Cassandra refuses a second password change of a role within a few seconds ("can only be changed every
 * 5000ms"): wait as long as it says, then try again (a migrate re-run right after a failed one, rotation).
 */
async function changePassword(client: Client, alter: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.execute(alter);
      return;
    } catch (err) {
      const wait = /can only be changed every (\d+)\s*ms/.exec((err as Error).message);
      if (!wait || attempt >= 4) throw err;
      await sleep(Number(wait[1]) + 500);
    }
  }
}

async function convergeGrants(client: Client, role: string, wanted: Map<string, Set<string>>, log: Logger) {
  const held = await permissionsOf(client, role);
  for (const [resource, perms] of held) {
    const extra = [...perms].filter((p) => !wanted.get(resource)?.has(p));
    if (!extra.length) continue;
    const on = resourceCql(resource);
    if (!on)
      throw new Error(`role ${role} holds ${extra.join(', ')} on ${resource}, which migrate cannot revoke`);
    log.warn('revoking a permission beyond the role', { cassandraRole: role, resource, permissions: extra });
    for (const p of extra) await client.execute(`REVOKE ${p} ON ${on} FROM ${role}`);
  }
  for (const [resource, perms] of wanted) {
    for (const p of perms) {
      if (!held.get(resource)?.has(p))
        await client.execute(`GRANT ${p} ON ${resourceCql(resource)} TO ${role}`);
    }
  }
}

export async function canLogIn(settings: CassandraSettings): Promise<boolean> {
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
