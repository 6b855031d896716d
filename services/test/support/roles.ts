// Cassandra roles for tests: a set of service roles under a unique prefix (other engineers' tests share the
// Cassandra), the shared application role as earlier versions made it, and clients logged in as any of them.
import { auth, Client } from 'cassandra-driver';
import { roleName, Service, SERVICES, ServiceRolesOptions } from '../../src/storage/roles';
import { BackingEnv, uniqueName } from './backing';

export interface TestRoles extends ServiceRolesOptions {
  /** The shared role an earlier version would have left (in `retired`). */
  legacy: { name: string; password: string };
  user(service: Service): string;
}

const password = () => 'pw' + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);

export function testRoles(prefix: string): TestRoles {
  const p = uniqueName(prefix);
  const legacy = { name: `${p}_app`, password: password() };
  return {
    prefix: p,
    passwords: Object.fromEntries(SERVICES.map((s) => [s, password()])) as Record<Service, string>,
    retired: [legacy.name],
    legacy,
    user: (service) => roleName(p, service),
  };
}

/** What migrate made before per-service roles: one login with SELECT and MODIFY on the whole keyspace. */
export async function createLegacyAppRole(admin: Client, keyspace: string, role: TestRoles['legacy']) {
  await admin.execute(
    `CREATE ROLE IF NOT EXISTS ${role.name} WITH PASSWORD = '${role.password}' AND LOGIN = true`,
  );
  await admin.execute(`GRANT SELECT ON KEYSPACE ${keyspace} TO ${role.name}`);
  await admin.execute(`GRANT MODIFY ON KEYSPACE ${keyspace} TO ${role.name}`);
}

export async function dropTestRoles(admin: Client, roles: TestRoles) {
  for (const name of [...SERVICES.map(roles.user), ...roles.retired]) {
    await admin.execute(`DROP ROLE IF EXISTS ${name}`);
  }
}

/** A client logged in as `user` (not connected: connect() fails when the login does). */
export function loginClient(env: BackingEnv, user: string, pw: string): Client {
  return new Client({
    contactPoints: env.cassandraContactPoints,
    localDataCenter: env.cassandraLocalDc,
    authProvider: new auth.PlainTextAuthProvider(user, pw),
  });
}

export const serviceClient = (env: BackingEnv, roles: TestRoles, service: Service) =>
  loginClient(env, roles.user(service), roles.passwords[service]);

/** Whether `user` can log in with `pw` now. */
export async function logsIn(env: BackingEnv, user: string, pw: string): Promise<boolean> {
  const c = loginClient(env, user, pw);
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.shutdown().catch(() => undefined);
  }
}
