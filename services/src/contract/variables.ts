// Every environment variable a role of the services image reads: its type, default, limits, meaning and
// the roles that read it. The one declaration both halves use: the roles read their settings through it
// (lib/config.ts EnvReader.get), the Pulumi program takes the limits and defaults of the stack keys that
// become these variables from it (components/config.ts), tests/contract/ checks that what the program sets
// is what each role reads, and services/README.md's table is generated from it.
//
// To add a variable: one entry here (the roles that read it, its kind and limits, a doc line), read it in
// the role's settings with `env.get('NAME')`, then `UPDATE_SETTINGS_TABLE=1 npx jest tests/contract` to
// regenerate the README's table. No imports but the role names: the program loads this file as it is.
import type { RoleName } from '../role-args';
import type {
  BooleanSetting,
  InstantSetting,
  IntegerSetting,
  ListSetting,
  NumberSetting,
  OneOfSetting,
  SecretSetting,
  Setting,
  StringSetting,
} from './values';

type Roles = { readonly roles: readonly RoleName[] };
export type Variable = Setting & Roles;

const ALL: readonly RoleName[] = ['migrate', 'inject', 'ingest', 'train', 'predict', 'stream'];
const NATS_CLIENTS: readonly RoleName[] = ['inject', 'ingest', 'train', 'predict', 'stream'];
const CASSANDRA_CLIENTS: readonly RoleName[] = ['migrate', 'ingest', 'train', 'predict', 'stream'];
const RAW_STREAM_OWNERS: readonly RoleName[] = ['ingest', 'stream'];

/** One subject token: what a `<root>` of the subjects may be. */
const SUBJECT_TOKEN = { test: /^[A-Za-z0-9_-]+$/, says: 'one subject token (letters, digits, _ and -)' };
/** JetStream stream and consumer names: no dots, wildcards or white space. */
const JETSTREAM_NAME = {
  test: /^[A-Za-z0-9_-]{1,64}$/,
  says: 'a JetStream name (1 to 64 letters, digits, _ and -)',
};
const CQL_IDENTIFIER = {
  test: /^[a-z][a-z0-9_]{0,47}$/,
  says: 'a lower-case CQL identifier (a letter, then up to 47 letters, digits and _)',
};

/** The longest duration a JetStream stream holds (a Go time.Duration in ns: ~292 years), in whole seconds. */
export const JETSTREAM_MAX_DURATION_SECONDS = Math.floor(Number(2n ** 63n - 1n) / 1e9);
/** The raw stream's largest budget: far beyond any disk, and with the other streams a safe integer. */
export const RAW_STREAM_MAX_BYTES_LIMIT = 1024 * 1024 ** 4;
/** Minutes in a simulated day: an injected event of n minutes happens at most 1440 / n times a day. */
export const MINUTES_PER_DAY = 1440;

const integer = <const S extends Omit<IntegerSetting, 'kind'> & Roles>(s: S) =>
  ({ kind: 'integer', ...s }) as const;
const number = <const S extends Omit<NumberSetting, 'kind'> & Roles>(s: S) =>
  ({ kind: 'number', ...s }) as const;
const boolean = <const S extends Omit<BooleanSetting, 'kind'> & Roles>(s: S) =>
  ({ kind: 'boolean', ...s }) as const;
const oneOf = <const S extends Omit<OneOfSetting, 'kind'> & Roles>(s: S) =>
  ({ kind: 'oneOf', ...s }) as const;
const string = <const S extends Omit<StringSetting, 'kind'> & Roles>(s: S) =>
  ({ kind: 'string', ...s }) as const;
const list = <const S extends Omit<ListSetting, 'kind'> & Roles>(s: S) => ({ kind: 'list', ...s }) as const;
const instant = <const S extends Omit<InstantSetting, 'kind'> & Roles>(s: S) =>
  ({ kind: 'instant', ...s }) as const;
const secret = <const S extends Omit<SecretSetting, 'kind'> & Roles>(s: S) =>
  ({ kind: 'secret', ...s }) as const;

export const VARIABLES = {
  // --- every role (lib/service.ts) ---
  METRICS_PORT: integer({
    roles: ALL,
    default: 9464,
    min: 0,
    max: 65535,
    doc: 'HTTP port of `/metrics` and `/healthz`',
  }),
  LOG_LEVEL: oneOf({
    roles: ALL,
    values: ['debug', 'info', 'warn', 'error'],
    default: 'info',
    doc: '`debug`, `info`, `warn`, `error`',
  }),

  // --- NATS (lib/nats.ts) ---
  NATS_URL: list({
    roles: NATS_CLIENTS,
    default: 'nats://127.0.0.1:4222',
    doc: 'comma-separated NATS servers',
  }),
  NATS_USER: string({
    roles: NATS_CLIENTS,
    defaultDoc: 'none',
    doc: "NATS user (none: no credentials); on a stack the role's own (`inject`, `ingest`, …; root README), and replies come on `_INBOX.<NATS_USER>.…`, the inboxes that user may read",
  }),
  NATS_PASSWORD: secret({ roles: NATS_CLIENTS, defaultDoc: 'none', doc: 'NATS password, with `NATS_USER`' }),
  NATS_TLS_CA_FILE: string({
    roles: NATS_CLIENTS,
    defaultDoc: 'none',
    doc: "PEM file of the CA to trust: set, the role connects with TLS only and verifies the servers' certificates against it (the aws stack's CA; none: plain, as the local stack)",
  }),

  // --- Cassandra (lib/cassandra.ts) ---
  CASSANDRA_CONTACT_POINTS: list({
    roles: CASSANDRA_CLIENTS,
    default: '127.0.0.1:9042',
    doc: 'comma-separated `host:port`',
  }),
  CASSANDRA_LOCAL_DC: string({
    roles: CASSANDRA_CLIENTS,
    default: 'datacenter1',
    doc: "the driver's local data centre",
  }),
  CASSANDRA_USERNAME: string({
    roles: CASSANDRA_CLIENTS,
    defaultDoc: 'none',
    doc: "Cassandra role to log in as (none: no credentials); on a stack the service's own, `smartmeter_<service>` (root README), and for migrate the admin role",
  }),
  CASSANDRA_PASSWORD: secret({
    roles: CASSANDRA_CLIENTS,
    defaultDoc: 'none',
    doc: 'its password, with `CASSANDRA_USERNAME`',
  }),
  CASSANDRA_KEYSPACE: string({
    roles: CASSANDRA_CLIENTS,
    default: 'smartmeter',
    pattern: CQL_IDENTIFIER,
    doc: 'keyspace',
  }),
  CASSANDRA_TOKEN_AWARE: boolean({
    roles: CASSANDRA_CLIENTS,
    default: true,
    doc:
      'route each request to a replica of its partition; the stack sets `false` when nodes ≤ replication ' +
      'factor, where every node is one and hashing each key is pure cost',
  }),
  CASSANDRA_TLS_CA_FILE: string({
    roles: CASSANDRA_CLIENTS,
    defaultDoc: 'none',
    doc:
      "PEM file of the CA the nodes' certificates are checked against; set: connect over TLS only (the " +
      'aws stack), none: plaintext (the local stack, on 127.0.0.1)',
  }),
  CASSANDRA_TLS_CERT_FILE: string({
    roles: CASSANDRA_CLIENTS,
    defaultDoc: 'none',
    doc: 'PEM file of the client certificate shown to nodes that require one (the aws stack), with `CASSANDRA_TLS_KEY`',
  }),
  CASSANDRA_TLS_KEY: secret({
    roles: CASSANDRA_CLIENTS,
    defaultDoc: 'none',
    doc: 'its private key (PEM), with `CASSANDRA_TLS_CERT_FILE`',
  }),

  // --- migrate (roles/migrate.ts) ---
  CASSANDRA_REPLICATION_FACTOR: integer({
    roles: ['migrate'],
    default: 1,
    min: 1,
    max: 9,
    doc: 'keyspace replication (3 on a cluster)',
  }),
  CASSANDRA_ROLE_PREFIX: string({
    roles: ['migrate'],
    default: 'smartmeter',
    pattern: { test: /^[a-z][a-z0-9_]{0,38}$/, says: 'a lower-case CQL identifier of at most 39 characters' },
    doc: 'the service roles are `<prefix>_ingest`, `_stream`, `_train`, `_predict`, each with its own table grants only (storage/roles.ts)',
  }),
  CASSANDRA_INGEST_PASSWORD: secret({
    roles: ['migrate'],
    defaultDoc: 'none',
    doc: 'password of the `ingest` role (`<prefix>_ingest`: MODIFY on raw_data, temperature); with the other three, migrate creates the service roles',
  }),
  CASSANDRA_STREAM_PASSWORD: secret({
    roles: ['migrate'],
    defaultDoc: 'none',
    doc: 'password of the `stream` role (`<prefix>_stream`: SELECT, MODIFY on the aggregates; MODIFY on the outage tables); with the other three, migrate creates the service roles',
  }),
  CASSANDRA_TRAIN_PASSWORD: secret({
    roles: ['migrate'],
    defaultDoc: 'none',
    doc: 'password of the `train` role (`<prefix>_train`: SELECT on max_voltage, temperature; SELECT, MODIFY on models); with the other three, migrate creates the service roles',
  }),
  CASSANDRA_PREDICT_PASSWORD: secret({
    roles: ['migrate'],
    defaultDoc: 'none',
    doc: 'password of the `predict` role (`<prefix>_predict`: SELECT on models); with the other three, migrate creates the service roles',
  }),
  CASSANDRA_RETIRED_ROLES: list({
    roles: ['migrate'],
    default: 'smartmeter_app',
    doc: 'roles of earlier versions (the shared application role) fenced during a raw_data move and dropped once the service roles exist',
  }),
  RAW_RETENTION_DAYS: integer({
    roles: ['migrate'],
    default: 7,
    min: 1,
    max: 7300,
    doc: 'real days a raw_data row lives (default TTL; TWCS windows of retention/24)',
  }),
  AGGREGATE_RETENTION_DAYS: integer({
    roles: ['migrate'],
    default: 7,
    min: 1,
    max: 7300,
    doc: 'the same for temperature, max_voltage(_by_line), avg_voltage_by_transformer, voltage_alerts; models are kept',
  }),

  // --- the raw JetStream stream (lib/jetstream.ts) ---
  RAW_STREAM_MAX_AGE_S: integer({
    roles: RAW_STREAM_OWNERS,
    default: 86_400,
    min: 60,
    max: JETSTREAM_MAX_DURATION_SECONDS,
    defaultDoc: '`86400` (24 h)',
    doc: 'how long the raw stream keeps a reading, stored or not',
  }),
  RAW_STREAM_MAX_BYTES: integer({
    roles: RAW_STREAM_OWNERS,
    default: 4 * 1024 ** 3,
    min: 1024 ** 2,
    max: RAW_STREAM_MAX_BYTES_LIMIT,
    defaultDoc: '`4294967296` (4 GiB)',
    doc: "the raw stream's disk budget; oldest readings go past it",
  }),
  JETSTREAM_REPLICAS: integer({
    roles: RAW_STREAM_OWNERS,
    default: 1,
    min: 1,
    max: 5,
    doc: "copies of the raw stream and the stream role's KV buckets (NATS cluster size, at most 3)",
  }),
  RAW_STREAM_DUPLICATE_WINDOW_S: integer({
    roles: ['ingest', 'stream', 'inject'],
    default: 120,
    min: 1,
    max: 86_400,
    doc:
      'how long the raw stream drops a reading sent again (same Nats-Msg-Id); the server keeps every id ' +
      'of the window in memory',
  }),

  // --- ingest (ingest/settings.ts) ---
  INGEST_STREAM: string({
    roles: ['ingest'],
    default: 'SMARTMETER_RAW',
    pattern: JETSTREAM_NAME,
    doc: 'JetStream stream read (created if missing)',
  }),
  INGEST_CONSUMER: string({
    roles: ['ingest'],
    default: 'ingest',
    pattern: JETSTREAM_NAME,
    doc: 'durable pull consumer shared by all replicas',
  }),
  INGEST_SUBJECT_ROOT: string({
    roles: ['ingest'],
    default: 'smartmeter',
    pattern: SUBJECT_TOKEN,
    doc: 'reads `<root>.raw.>`, dead-letters to `<root>.deadletter.<reason>`',
  }),
  INGEST_CONCURRENCY: integer({
    roles: ['ingest'],
    default: 1024,
    min: 1,
    max: 4096,
    doc: 'messages being written at once, per replica',
  }),
  INGEST_BATCH: integer({
    roles: ['ingest'],
    default: 512,
    min: 1,
    max: 4096,
    doc: 'most messages per fetch',
  }),
  INGEST_ACK_WAIT_MS: integer({
    roles: ['ingest'],
    default: 60_000,
    min: 5000,
    doc: 'redelivery after this long without an ack',
  }),
  INGEST_MAX_ACK_PENDING: integer({
    roles: ['ingest'],
    default: 8192,
    min: 1,
    doc: 'unacknowledged messages across all replicas (at least `INGEST_CONCURRENCY`)',
  }),
  INGEST_DRAIN_TIMEOUT_MS: integer({
    roles: ['ingest'],
    default: 15_000,
    min: 0,
    max: 20_000,
    doc: 'SIGTERM: retry in-flight writes this long, then hand them back',
  }),
  INGEST_POLL_INTERVAL_MS: integer({
    roles: ['ingest'],
    default: 5000,
    min: 100,
    doc: 'refresh of the consumer-lag and rate metrics',
  }),

  // --- stream (streaming/settings.ts) ---
  STREAM_RAW_STREAM: string({
    roles: ['stream'],
    default: 'SMARTMETER_RAW',
    pattern: JETSTREAM_NAME,
    doc: 'JetStream stream read (created if missing)',
  }),
  STREAM_SUBJECT_ROOT: string({
    roles: ['stream'],
    default: 'smartmeter',
    pattern: SUBJECT_TOKEN,
    doc: 'reads `<root>.raw.>`, writes `<root>.extract.*`, dead-letters to `<root>.deadletter.<reason>`',
  }),
  STREAM_STATE_PREFIX: string({
    roles: ['stream'],
    default: 'smartmeter-stream',
    pattern: SUBJECT_TOKEN,
    doc: 'KV buckets `<prefix>-lease` (active instance) and `<prefix>-checkpoint`',
  }),
  STREAM_ALLOWED_LATENESS_S: integer({
    roles: ['stream'],
    default: 900,
    min: 0,
    doc:
      'simulated s a reading may trail the newest epoch and still count as late (later: amended, its ' +
      'closed windows read back from their rows)',
  }),
  STREAM_MAX_AHEAD_S: integer({
    roles: ['stream'],
    default: 14_400,
    min: 60,
    max: 366 * 86_400,
    defaultDoc: '`14400` (4 h)',
    doc:
      'simulated s a reading may be ahead of the event time; further ahead it waits for a second reading ' +
      'to agree, else is dead-lettered `future`',
  }),
  STREAM_FLUSH_INTERVAL_MS: integer({
    roles: ['stream'],
    default: 1000,
    min: 50,
    max: 60_000,
    doc: 'how often due windows are written, published and checkpointed',
  }),
  STREAM_IDLE_TIMEOUT_MS: integer({
    roles: ['stream'],
    default: 5000,
    min: 100,
    doc: 'real ms without input after which open windows are written',
  }),
  STREAM_LEASE_TTL_MS: integer({
    roles: ['stream'],
    default: 10_000,
    min: 1000,
    max: 120_000,
    doc: 'a standby takes over after this long without renewal',
  }),
  STREAM_INSTANCE_ID: string({
    roles: ['stream'],
    pattern: SUBJECT_TOKEN,
    defaultDoc: '`<hostname>-<pid>`',
    doc: "this replica's name in the lease",
  }),
  ALERT_THRESHOLD_V: number({
    roles: ['stream'],
    default: 120,
    min: 1,
    max: 1000,
    doc: 'volts; readings strictly above it count towards an alert',
  }),
  ALERT_MIN_COUNT: integer({
    roles: ['stream'],
    default: 2,
    min: 1,
    doc: 'readings above it per (line, transformer) and window that raise an alert',
  }),
  ALERT_WINDOW_S: integer({
    roles: ['stream'],
    default: 0,
    min: 0,
    defaultDoc: '`0` (one epoch)',
    doc: "alert window in simulated s; 0 = per epoch, as the original's batch",
  }),
  STREAM_OUTAGE_INTERVALS: number({
    roles: ['stream'],
    default: 3,
    min: 1,
    max: 1000,
    doc: 'a meter silent for more than this many of its reporting intervals (at the watermark) is out',
  }),
  STREAM_TRANSFORMER_OUTAGE_SHARE: number({
    roles: ['stream'],
    default: 0.5,
    min: 0,
    minExclusive: true,
    max: 1,
    doc: "share (0–1] of a transformer's watched meters out together that is a transformer outage",
  }),
  STREAM_OUTAGE_STREAM: string({
    roles: ['stream'],
    default: 'SMARTMETER_OUTAGES',
    pattern: JETSTREAM_NAME,
    doc: 'JetStream stream of `<root>.extract.outage.>` (created if missing; drops repeats by Nats-Msg-Id)',
  }),

  // --- inject (simulator/config.ts, replay/config.ts) ---
  INJECT_RATE: number({
    roles: ['inject'],
    default: 50,
    min: 1,
    max: 100_000,
    doc: 'messages/s (voltages + temperatures + forecasts), ±5 % up to ≥ 50,000/s; sizes the topology',
  }),
  INJECT_SLOT: integer({
    roles: ['inject'],
    default: 1,
    min: 0,
    max: 12,
    doc: 'injector slot 0–12: meters on lines `10·slot+1 …` (a tinyint holds lines up to 127)',
  }),
  INJECT_LINES: integer({
    roles: ['inject'],
    min: 1,
    max: 10,
    defaultDoc: 'from the rate (50 → 1×3×16, 500 → 1×7×71)',
    doc: 'explicit topology, with `INJECT_TRANSFORMERS` and `INJECT_USAGEPOINTS` (all three or none)',
  }),
  INJECT_TRANSFORMERS: integer({
    roles: ['inject'],
    min: 1,
    max: 1_000_000,
    defaultDoc: 'from the rate',
    doc: 'transformers per line of the explicit topology',
  }),
  INJECT_USAGEPOINTS: integer({
    roles: ['inject'],
    min: 1,
    max: 1_000_000,
    defaultDoc: 'from the rate',
    doc: 'meters per transformer of the explicit topology',
  }),
  INJECT_CLOCK_ANCHOR: instant({
    roles: ['inject'],
    defaultDoc: '`INJECT_START`',
    doc:
      'real instant (epoch s or ISO-8601) at which the simulated clock reads `INJECT_START`; the same on ' +
      'every replica',
  }),
  INJECT_START: instant({
    roles: ['inject'],
    defaultDoc: 'the anchor, else now',
    doc:
      'simulated time at the anchor: sim = START + (real − ANCHOR)·ACCELERATION; alone it is also the ' +
      'anchor (dev, tests)',
  }),
  INJECT_ACCELERATION: number({
    roles: ['inject'],
    default: 900,
    min: 1,
    max: 10_000_000,
    doc: 'simulated s per real s (1 s = 15 simulated min)',
  }),
  INJECT_SEED: integer({
    roles: ['inject'],
    default: 1,
    min: 0,
    max: 0xffffffff,
    doc: 'PRNG seed: same seed, clock, topology → same readings',
  }),
  INJECT_OVERVOLTAGE_RATE: number({
    roles: ['inject'],
    default: 0,
    min: 0,
    max: MINUTES_PER_DAY,
    defaultDoc: '`0` (off)',
    doc: 'over-voltage events (121–125 V) per meter per simulated day (at most 1440 / minutes)',
  }),
  INJECT_OVERVOLTAGE_MINUTES: integer({
    roles: ['inject'],
    default: 45,
    min: 1,
    max: MINUTES_PER_DAY,
    doc: 'length of an event in simulated minutes',
  }),
  INJECT_OUTAGE_RATE: number({
    roles: ['inject'],
    default: 0,
    min: 0,
    max: MINUTES_PER_DAY,
    defaultDoc: '`0` (off)',
    doc: 'outages per meter per simulated day (the meter publishes nothing; at most 1440 / minutes)',
  }),
  INJECT_TRANSFORMER_OUTAGE_RATE: number({
    roles: ['inject'],
    default: 0,
    min: 0,
    max: MINUTES_PER_DAY,
    defaultDoc: '`0` (off)',
    doc: 'outages of a whole transformer per transformer per simulated day (at most 1440 / minutes)',
  }),
  INJECT_OUTAGE_MINUTES: integer({
    roles: ['inject'],
    default: 120,
    min: 1,
    max: MINUTES_PER_DAY,
    doc: 'length of an outage in simulated minutes',
  }),
  INJECT_DURATION_S: number({
    roles: ['inject'],
    default: 0,
    min: 0,
    defaultDoc: '`0` (no bound)',
    doc: 'stop (exit 0) after this long',
  }),
  INJECT_MAX_READINGS: integer({
    roles: ['inject'],
    default: 0,
    min: 0,
    defaultDoc: '`0` (no bound)',
    doc: 'stop (exit 0) after this many messages',
  }),
  INJECT_SUBJECT_ROOT: string({
    roles: ['inject'],
    default: 'smartmeter',
    pattern: SUBJECT_TOKEN,
    doc: 'first subject token of what it publishes',
  }),
  INJECT_BUFFER_READINGS: integer({
    roles: ['inject'],
    default: 300_000,
    min: 1000,
    max: 100_000_000,
    doc:
      'store-and-forward: readings held while the broker does not acknowledge (100 minutes at the default ' +
      'rate); past it the oldest are dropped and counted',
  }),
  INJECT_LEDGER_DIR: string({
    roles: ['inject'],
    defaultDoc: 'none (no ledger)',
    doc: 'append every reading the broker acknowledged (its id and stream sequence) to a file there',
  }),
  INJECT_SOURCE: oneOf({
    roles: ['inject'],
    values: ['simulator', 'uci'],
    default: 'simulator',
    doc: '`uci`: replay recorded households instead (`src/replay/`; root README, "Replay recorded meter data")',
  }),
  INJECT_UCI_FILES: list({
    roles: ['inject'],
    defaultDoc: '(required with `uci`)',
    doc:
      'comma-separated files in the UCI household power format, one per household: household h is ' +
      'transformer h+1 on line `10·slot+1`',
  }),
  INJECT_UCI_METERS_PER_HOUSEHOLD: integer({
    roles: ['inject'],
    default: 1,
    min: 1,
    max: 100_000,
    doc: 'meters (usage points 1…n) each household is replayed as',
  }),
  INJECT_UCI_NOMINAL_V: number({
    roles: ['inject'],
    default: 230,
    min: 1,
    max: 1000,
    doc: "the recording's nominal voltage: voltages × `INJECT_NOMINAL_V / INJECT_UCI_NOMINAL_V`",
  }),
  INJECT_NOMINAL_V: number({
    roles: ['inject'],
    default: 120,
    min: 1,
    max: 1000,
    doc: 'the published nominal voltage of a replay',
  }),

  // --- train and predict (training/settings.ts) ---
  TRAIN_ONCE: boolean({
    roles: ['train'],
    default: false,
    doc: '`true`: train once and exit (exit 1 with the reason below `TRAIN_MIN_ROWS`)',
  }),
  TRAIN_INTERVAL_S: number({
    roles: ['train'],
    default: 300,
    min: 1,
    doc: 'seconds between looks for new rows (schedule mode)',
  }),
  TRAIN_MIN_ROWS: integer({
    roles: ['train'],
    default: 500,
    min: 20,
    doc: 'joined max_voltage ⋈ temperature rows needed to train at all',
  }),
  TRAIN_MIN_NEW_ROWS: integer({
    roles: ['train'],
    default: 96,
    min: 1,
    doc: 'new rows since the served model before retraining',
  }),
  TRAIN_THRESHOLD_V: number({
    roles: ['train'],
    default: 116,
    min: 0,
    max: 1000,
    doc: 'label: epoch max voltage above this is an alert',
  }),
  TRAIN_HELDOUT_FRACTION: number({
    roles: ['train'],
    default: 0.2,
    min: 0.05,
    max: 0.5,
    doc: 'latest share of rows held out for evaluation',
  }),
  TRAIN_EPOCHS: integer({ roles: ['train'], default: 60, min: 1, max: 10_000, doc: 'training epochs' }),
  TRAIN_SEED: integer({
    roles: ['train'],
    default: 1234,
    min: 0,
    doc: 'training seed (training is deterministic)',
  }),
  TRAIN_SUBJECT_ROOT: string({
    roles: ['train'],
    default: 'smartmeter',
    pattern: SUBJECT_TOKEN,
    doc: 'announces new versions on `<root>.model.updated`',
  }),
  MODEL_NAME: string({
    roles: ['train', 'predict'],
    default: 'overvoltage',
    doc: 'model name in the `models` table',
  }),
  PREDICT_QUEUE_GROUP: string({
    roles: ['predict'],
    default: 'smartmeter_predict',
    doc: 'queue group of forecasts and requests',
  }),
  PREDICT_SUBJECT_ROOT: string({
    roles: ['predict'],
    default: 'smartmeter',
    pattern: SUBJECT_TOKEN,
    doc: 'first token of the forecast, prediction, request and model.updated subjects',
  }),
  PREDICT_MODEL_RETRY_S: number({
    roles: ['predict'],
    default: 5,
    min: 0.1,
    doc: 'seconds between looks for a first model',
  }),
} as const satisfies Record<string, Variable>;

export type Variables = typeof VARIABLES;
export type VariableName = keyof Variables;

/**
 * The prefixes each role owns: a variable of one of them that is declared nowhere above is a mistake (a
 * misspelt name would silently leave the role on its default), so the role refuses to start and names it.
 * Shared prefixes (NATS_, CASSANDRA_) are not owned: a developer's shell holds other ones (NATS_PORT,
 * CASSANDRA_JMX_PORT from scripts/backing-services.sh); the contract test checks what the program sets.
 */
export const OWN_PREFIXES: Readonly<Record<RoleName, readonly string[]>> = {
  migrate: [
    'RAW_RETENTION_',
    'AGGREGATE_RETENTION_',
    'CASSANDRA_REPLICATION_',
    'CASSANDRA_ROLE_',
    'CASSANDRA_RETIRED_',
    'CASSANDRA_INGEST_',
    'CASSANDRA_STREAM_',
    'CASSANDRA_TRAIN_',
    'CASSANDRA_PREDICT_',
  ],
  inject: ['INJECT_', 'RAW_STREAM_'],
  ingest: ['INGEST_', 'RAW_STREAM_', 'JETSTREAM_'],
  stream: ['STREAM_', 'ALERT_', 'RAW_STREAM_', 'JETSTREAM_'],
  train: ['TRAIN_', 'MODEL_'],
  predict: ['PREDICT_', 'MODEL_'],
};

export function isVariableName(name: string): name is VariableName {
  return Object.prototype.hasOwnProperty.call(VARIABLES, name);
}

/** The variables `role` reads, in declaration order. */
export function variablesOf(role: RoleName): VariableName[] {
  return (Object.keys(VARIABLES) as VariableName[]).filter((name) =>
    (VARIABLES[name].roles as readonly RoleName[]).includes(role),
  );
}

/** Edits (insert, delete, replace a letter) between two names. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/**
 * The names in `env` that `role` must refuse: of a prefix it owns, and neither a declared variable nor the
 * `_FILE` form of a declared secret. Each with why, for the start-up error.
 */
export function unknownVariables(role: RoleName, names: Iterable<string>): string[] {
  const problems: string[] = [];
  for (const name of names) {
    if (!OWN_PREFIXES[role].some((prefix) => name.startsWith(prefix))) continue;
    const base = name.endsWith('_FILE') ? name.slice(0, -'_FILE'.length) : undefined;
    if (isVariableName(name) || (base && isVariableName(base) && VARIABLES[base].kind === 'secret')) continue;
    const hint = (Object.keys(VARIABLES) as VariableName[]).find((v) => distance(name, v) <= 2);
    problems.push(`${name} is not a variable of any role${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  return problems;
}
