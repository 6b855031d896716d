// Least privilege on Cassandra (issue 24), against the real node: after migrate, each service's role runs its
// own statements (the services' code: ingest/rows.ts, streaming/outputs.ts, training/dataset.ts and
// registry.ts), and is refused (Unauthorized) every table access its grants do not name, any schema change
// and any role change. Then rotation: a new password for one service and a re-run of migrate let it in with
// the new password only; and the shared role of earlier versions is gone after an upgrade.
import { Client, errors, types } from 'cassandra-driver';
import {
  rawDataInsert,
  rawDataParams,
  temperatureInsert,
  temperatureParams,
} from '../../services/src/ingest/rows';
import { createCassandraClient } from '../../services/src/lib/cassandra';
import { migrate } from '../../services/src/storage/migrate';
import { GRANTS, Permission, Service, SERVICES } from '../../services/src/storage/roles';
import { TABLES } from '../../services/src/storage/schema';
import { outageOutput, outputOf, storedWindowOf } from '../../services/src/streaming/outputs';
import { Window, WindowKind } from '../../services/src/streaming/windows';
import { loadObservations } from '../../services/src/training/dataset';
import { latestModel, ModelRecord, modelVersion, saveModel } from '../../services/src/training/registry';
import {
  backingEnv,
  cassandraSettingsFor,
  quietLog as log,
  requireService,
  uniqueName,
} from '../../services/test/support/backing';
import {
  createLegacyAppRole,
  dropTestRoles,
  logsIn,
  serviceClient,
  testRoles,
} from '../../services/test/support/roles';

const env = backingEnv();
const keyspace = uniqueName('roles_');
const settings = cassandraSettingsFor(env, keyspace);
const roles = testRoles('rl');
const options = { replicationFactor: 1, serviceRoles: roles, fenceSettleMs: 0 };
let admin: Client;
const clients = {} as Record<Service, Client>;

beforeAll(async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  admin = createCassandraClient(settings);
  await admin.connect();
  // An upgraded keyspace: the shared role of earlier versions exists, with SELECT and MODIFY on it all.
  await migrate(admin, settings, { replicationFactor: 1 }, log);
  await createLegacyAppRole(admin, keyspace, roles.legacy);
  await migrate(admin, settings, options, log);
  for (const s of SERVICES) {
    clients[s] = serviceClient(env, roles, s);
    await clients[s].connect();
  }
}, 120_000);

afterAll(async () => {
  for (const c of Object.values(clients)) await c.shutdown();
  await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await dropTestRoles(admin, roles);
  await admin.shutdown();
}, 120_000);

const UNAUTHORIZED = types.responseErrorCodes.unauthorized;

/** Runs `cql` as `service`; resolves to 'ok', or 'Unauthorized: <message>', and throws any other error. */
async function attempt(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (err) {
    if (err instanceof errors.ResponseError && err.code === UNAUTHORIZED)
      return `Unauthorized: ${err.message}`;
    throw err;
  }
}
const as = (service: Service, cql: string, params: unknown[] = []) =>
  attempt(() => clients[service].execute(cql, params, { prepare: true }));

// What each service does, through its own code ------------------------------------------------------------

const window = (kind: WindowKind, start: number): Window => ({
  kind,
  line: kind === 'max_voltage' || kind === 'temperature' ? -1 : 1,
  transformer: kind === 'avg_voltage' || kind === 'alert' ? 2 : -1,
  start,
  end: start + 900,
  max: 119,
  sum: 230,
  count: 2,
  over: 1,
  firstOver: start + 60,
  version: 1,
  written: 0,
  seq: 7,
  floor: 0,
});
const EPOCH = Date.UTC(2031, 5, 1, 12) / 1000;
const model = (name: string): ModelRecord => ({
  name,
  topology: '{}',
  weights: Buffer.from([1, 2, 3]),
  metrics: {} as ModelRecord['metrics'],
  trainingRows: 2,
});

const ALLOWED: Record<Service, Record<string, () => Promise<unknown>>> = {
  ingest: {
    'writes a voltage reading to raw_data': () =>
      clients.ingest.execute(
        rawDataInsert(keyspace),
        rawDataParams(
          { line: 1, transformer: 2, usagePoint: 3 },
          { epoch: EPOCH, voltage: 118, demand: 1, values: Array(10).fill(0) },
        ),
        { prepare: true },
      ),
    'writes a temperature': () =>
      clients.ingest.execute(
        temperatureInsert(keyspace),
        temperatureParams({ epoch: EPOCH, temperature: 21 }),
        {
          prepare: true,
        },
      ),
  },
  stream: Object.fromEntries(
    (['max_voltage', 'max_voltage_by_line', 'temperature', 'avg_voltage', 'alert'] as const).flatMap(
      (kind) => [
        [
          `writes a ${kind} window`,
          () => {
            const o = outputOf(keyspace, window(kind, EPOCH), 116);
            return clients.stream.execute(o.query, o.params, { prepare: true });
          },
        ],
        [
          `reads a ${kind} window back`,
          () => {
            const q = storedWindowOf(keyspace, window(kind, EPOCH));
            return clients.stream.execute(q.query, q.params, { prepare: true });
          },
        ],
      ],
    ),
  ),
  train: {
    'reads max_voltage ⋈ temperature': () => loadObservations(clients.train, keyspace),
    'claims and writes a model version (LWT: SELECT and MODIFY)': () =>
      saveModel(clients.train, keyspace, model('roles')),
    'reads the newest model': () => latestModel(clients.train, keyspace, 'roles'),
  },
  predict: {
    'reads the newest model': () => latestModel(clients.predict, keyspace, 'roles'),
    'reads a model version': () => modelVersion(clients.predict, keyspace, 'roles', 1),
  },
};
for (const [kind, state] of [
  ['meter', 'open'],
  ['transformer', 'closed'],
] as const) {
  ALLOWED.stream[`writes a ${kind} outage`] = () => {
    const o = outageOutput(keyspace, {
      kind,
      state,
      line: 1,
      transformer: 2,
      usagePoint: kind === 'meter' ? 3 : -1,
      start: EPOCH,
      end: state === 'closed' ? EPOCH + 900 : null,
      detected: EPOCH + 1800,
      metersOut: 3,
      meters: 4,
    });
    return clients.stream.execute(o.query, o.params, { prepare: true });
  };
}

const allowedCases = SERVICES.flatMap((s) =>
  Object.entries(ALLOWED[s]).map(([what, run]) => [s, what, run] as const),
);
test.each(allowedCases)('%s %s', async (_service, _what, run) => {
  expect(await attempt(run)).toBe('ok');
});

// Table accesses outside the grants: every table × SELECT and MODIFY a service's grants do not name --------

const probe = (table: string, p: Permission) =>
  // TRUNCATE needs MODIFY (and only MODIFY): a write probe needing no key values.
  p === 'SELECT' ? `SELECT * FROM ${keyspace}.${table} LIMIT 1` : `TRUNCATE ${keyspace}.${table}`;

const deniedCases = SERVICES.flatMap((s) =>
  TABLES.flatMap((t) =>
    (['SELECT', 'MODIFY'] as const).filter((p) => !GRANTS[s][t]?.includes(p)).map((p) => [s, p, t] as const),
  ),
);

test('the denied table accesses are the complement of the grants (4 services × 9 tables × 2)', () => {
  const granted = SERVICES.reduce((n, s) => n + Object.values(GRANTS[s]).flat().length, 0);
  expect(deniedCases.length + granted).toBe(SERVICES.length * TABLES.length * 2);
  expect(deniedCases).toContainEqual(['predict', 'MODIFY', 'raw_data']);
  expect(deniedCases).toContainEqual(['ingest', 'SELECT', 'models']);
  expect(deniedCases).toContainEqual(['ingest', 'SELECT', 'raw_data']);
});

test.each(deniedCases)('%s has no %s on %s', async (service, p, table) => {
  expect(await as(service, probe(table, p))).toMatch(
    new RegExp(
      `^Unauthorized: User ${roles.user(service)} has no ${p} permission on <table ${keyspace}.${table}>`,
    ),
  );
});

test("predict's role cannot write raw_data, through ingest's own statement", async () => {
  const params = rawDataParams(
    { line: 9, transformer: 9, usagePoint: 9 },
    { epoch: EPOCH, voltage: 130, demand: 1, values: Array(10).fill(0) },
  );
  expect(await as('predict', rawDataInsert(keyspace), params)).toMatch(
    /^Unauthorized: .* has no MODIFY permission/,
  );
});

// Schema and roles: no service role may change either --------------------------------------------------------

const DDL = (self: string): [string, string][] => [
  ['drop a table', `DROP TABLE ${keyspace}.raw_data`],
  ['truncate models', `TRUNCATE ${keyspace}.models`],
  ['create a table', `CREATE TABLE ${keyspace}.intruder (k int PRIMARY KEY)`],
  ['alter a table', `ALTER TABLE ${keyspace}.raw_data WITH default_time_to_live = 1`],
  ['alter the keyspace', `ALTER KEYSPACE ${keyspace} WITH durable_writes = true`],
  ['drop the keyspace', `DROP KEYSPACE ${keyspace}`],
  [
    'create a keyspace',
    `CREATE KEYSPACE ${keyspace}_x WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
  ],
  ['create a role', `CREATE ROLE ${self}_x WITH PASSWORD = 'x' AND LOGIN = true`],
  ['grant itself MODIFY on the keyspace', `GRANT MODIFY ON KEYSPACE ${keyspace} TO ${self}`],
  [
    'drop another role',
    `DROP ROLE ${roles.user('ingest') === self ? roles.user('stream') : roles.user('ingest')}`,
  ],
];
const ddlCases = SERVICES.flatMap((s) =>
  DDL(roles.user(s)).map(([what, cql]) => [s, what, cql] as const),
).filter(
  // stream holds no MODIFY on models, ingest none either: every role is refused truncating it but train.
  ([s, what]) => !(s === 'train' && what === 'truncate models'),
);

test.each(ddlCases)('%s cannot %s', async (service, _what, cql) => {
  expect(await attempt(() => clients[service].execute(cql))).toMatch(/^Unauthorized: /);
});

// Rotation and retirement -------------------------------------------------------------------------------

test('migrate converges: a permission granted by hand beyond the table is revoked, a lost grant restored', async () => {
  const user = roles.user('predict');
  await admin.execute(`GRANT MODIFY ON KEYSPACE ${keyspace} TO ${user}`);
  await admin.execute(`REVOKE SELECT ON TABLE ${keyspace}.models FROM ${user}`);
  await migrate(admin, settings, options, log);
  const rs = await admin.execute(
    'SELECT resource, permissions FROM system_auth.role_permissions WHERE role = ?',
    [user],
  );
  expect(rs.rows.map((r) => [r.resource, r.permissions])).toEqual([[`data/${keyspace}/models`, ['SELECT']]]);
}, 60_000);

test("a new password for one service: after migrate it logs in with it, not the old one; the others' still work", async () => {
  const old = roles.passwords.train;
  const rotated = { ...roles, passwords: { ...roles.passwords, train: old + 'rotated' } };
  await migrate(admin, settings, { ...options, serviceRoles: rotated }, log);
  // The credentials cache (credentials_validity) may hold the old password for up to its validity.
  const deadline = Date.now() + 10_000;
  while ((await logsIn(env, roles.user('train'), old)) && Date.now() < deadline) await sleep(500);
  expect(await logsIn(env, roles.user('train'), old)).toBe(false);
  expect(await logsIn(env, roles.user('train'), rotated.passwords.train)).toBe(true);
  expect(await logsIn(env, roles.user('predict'), roles.passwords.predict)).toBe(true);
  await migrate(admin, settings, options, log); // back, for the other tests
}, 60_000);

test('the shared role of earlier versions is gone after the upgrade, and a re-run keeps it so', async () => {
  expect(await logsIn(env, roles.legacy.name, roles.legacy.password)).toBe(false);
  const rs = await admin.execute('SELECT role FROM system_auth.roles WHERE role = ?', [roles.legacy.name]);
  expect(rs.rowLength).toBe(0);
  await migrate(admin, settings, options, log);
  expect(await logsIn(env, roles.legacy.name, roles.legacy.password)).toBe(false);
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
