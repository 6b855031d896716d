// Least privilege on NATS (issue 24), under mocks on both stacks: every role's container gets its own NATS
// user and that user's password only (as a file), no other container gets any NATS password but the
// servers (whose config holds them all), and the admin password reaches no container at all.
import { NATS_ROLES } from '../../components/tiers/nats-auth';
import { runAwsProgram, serviceHoldings } from './aws-mocks';
import { containers, envOf, runLocalProgram } from './local-mocks';

const USERS = ['admin', ...NATS_ROLES] as const;
/** The generated password's resource of a user (components/tiers/messaging.ts). */
const resourceOf = (user: string) =>
  user === 'admin' ? 'messaging-nats-password' : `messaging-nats-${user}-password`;

/** Which users' passwords each container or service has (anywhere in what it is given), by its name. */
type Holdings = Map<string, string[]>;

function expectLeastPrivilege(held: Holdings, roleOf: (name: string) => string | undefined) {
  expect(held.size).toBeGreaterThan(0);
  for (const [name, users] of held) {
    const role = roleOf(name);
    if (role === 'nats')
      expect(users).toEqual(USERS.slice()); // the servers' config
    else if ((NATS_ROLES as readonly string[]).includes(role ?? '')) expect(users).toEqual([role]);
    else expect(users).toEqual([]);
  }
  // Every role is there to be checked.
  expect(NATS_ROLES.filter((r) => ![...held.keys()].some((n) => roleOf(n) === r))).toEqual([]);
}

test('local stack: each role container holds its own NATS password only, as NATS_USER and a file', async () => {
  const run = await runLocalProgram({ injectors: '2', ingestReplicas: '2' });
  const passwords = USERS.map((u) => `Gen3rated${resourceOf(u).replace(/[^A-Za-z0-9]/g, '')}Pw`);
  const held: Holdings = new Map(
    containers(run).map((c) => {
      const text = JSON.stringify(c.inputs);
      return [c.name, USERS.filter((_, i) => text.includes(passwords[i]))];
    }),
  );
  const roleOf = (name: string) => name.replace(/-\d+$/, '');
  expectLeastPrivilege(held, roleOf);
  for (const c of containers(run)) {
    const role = roleOf(c.name);
    if (!(NATS_ROLES as readonly string[]).includes(role)) continue;
    expect(envOf(c)).toEqual(
      expect.arrayContaining([`NATS_USER=${role}`, 'NATS_PASSWORD_FILE=/run/secrets/nats_password']),
    );
  }
});

test('aws stack: each role service holds its own NATS password only, as a docker secret', async () => {
  const run = await runAwsProgram();
  const prefixes = USERS.map((u) => `generated-secret-${resourceOf(u)}-`);
  const held: Holdings = new Map(
    [...serviceHoldings(run)].map(([name, text]) => [
      name,
      USERS.filter((_, i) => text.includes(prefixes[i])),
    ]),
  );
  const roleOf = (name: string) => name.replace(/-\d+$/, '');
  expectLeastPrivilege(held, roleOf);
}, 60_000);
