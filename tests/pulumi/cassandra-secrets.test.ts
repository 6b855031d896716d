// Least privilege on Cassandra (issue 24), under mocks on both stacks: each service's container gets its own
// Cassandra role and that role's password only (as a file); migrate gets the admin password and every service
// password (it creates the roles); the auth job the admin and default-superuser ones; nothing else any.
import { CASSANDRA_SERVICES } from '../../components/tiers/shared';
import { SERVICES } from '../../services/src/storage/roles';
import { runAwsProgram, serviceHoldings } from './aws-mocks';
import { containers, envOf, runLocalProgram } from './local-mocks';

const LOGINS = ['admin', 'default', ...CASSANDRA_SERVICES] as const;
/** The generated password's resource of a login (components/tiers/storage.ts). */
const resourceOf = (login: string) => `storage-cassandra-${login}-password`;

/** What each container or service may hold, by role; any other holds none. */
const EXPECTED: Record<string, readonly string[]> = {
  migrate: ['admin', ...CASSANDRA_SERVICES],
  'cassandra-auth': ['admin', 'default'],
  ...Object.fromEntries(CASSANDRA_SERVICES.map((s) => [s, [s]])),
};

function expectLeastPrivilege(held: Map<string, string[]>) {
  const roleOf = (name: string) => name.replace(/-\d+$/, '');
  expect(held.size).toBeGreaterThan(0);
  for (const [name, logins] of held) expect([name, logins]).toEqual([name, EXPECTED[roleOf(name)] ?? []]);
  // Every holder is there to be checked.
  const roles = new Set([...held.keys()].map(roleOf));
  expect(Object.keys(EXPECTED).filter((r) => !roles.has(r))).toEqual([]);
}

test('the program and migrate agree on the services that have a role', () => {
  expect([...CASSANDRA_SERVICES]).toEqual([...SERVICES]);
});

test('local stack: each service container holds its own Cassandra password only, as its role and a file', async () => {
  const run = await runLocalProgram({ injectors: '2', ingestReplicas: '2' });
  const passwords = LOGINS.map((l) => `Gen3rated${resourceOf(l).replace(/[^A-Za-z0-9]/g, '')}Pw`);
  const held = new Map(
    containers(run).map((c) => {
      const text = JSON.stringify(c.inputs);
      return [c.name, LOGINS.filter((_, i) => text.includes(passwords[i]))];
    }),
  );
  expectLeastPrivilege(held);
  for (const c of containers(run)) {
    const role = c.name.replace(/-\d+$/, '');
    if (!(CASSANDRA_SERVICES as readonly string[]).includes(role)) continue;
    expect(envOf(c)).toEqual(
      expect.arrayContaining([
        `CASSANDRA_USERNAME=smartmeter_${role}`,
        'CASSANDRA_PASSWORD_FILE=/run/secrets/cassandra_password',
      ]),
    );
  }
  const migrate = envOf(containers(run).find((c) => c.name === 'migrate-0')!);
  expect(migrate).toEqual(
    expect.arrayContaining([
      'CASSANDRA_USERNAME=smartmeter_admin',
      ...CASSANDRA_SERVICES.map(
        (s) => `CASSANDRA_${s.toUpperCase()}_PASSWORD_FILE=/run/secrets/cassandra_${s}_password`,
      ),
    ]),
  );
});

test('aws stack: each service holds its own Cassandra password only, as a docker secret', async () => {
  const run = await runAwsProgram();
  const prefixes = LOGINS.map((l) => `generated-secret-${resourceOf(l)}-`);
  const held = new Map(
    [...serviceHoldings(run)].map(([name, text]) => [
      name,
      LOGINS.filter((_, i) => text.includes(prefixes[i])),
    ]),
  );
  expectLeastPrivilege(held);
}, 60_000);
