// Fuzz (issue 23): for arbitrary stack config values of both stacks, the program either builds or stops with
// a ConfigError naming a key, and never accepts a value its engine refuses. The engine rules are restated
// here independently of components/formats (grammar as regular expressions, arithmetic in BigInt), so a
// parser bug is caught rather than mirrored. The validation the program runs before declaring anything is
// fuzzed for the whole budget; the program itself under mocks (slow, seconds a run) a bounded few times.
import { join } from 'node:path';

import fc from 'fast-check';

import { ConfigError, loadConfig, type StackConfig } from '../../components/config';
import { checkHostFiles, checkHostMemory } from '../../components/platforms/local';
import { readStackFile, validateAwsValues } from '../../planner/stack-config';
import { fuzz, fuzzTimeoutMs } from '../fuzz/support';
import { runAwsProgram } from './aws-mocks';
import { runLocalProgram } from './local-mocks';

const GiB = 1024 ** 3;
/** The aws stack as its file sets it (NATS and Cassandra unpublished, three of each), plus the two keys it needs. */
const AWS_STACK = {
  ...readStackFile(join(__dirname, '..', '..', 'Pulumi.aws.yaml')),
  allowedCidr: '203.0.113.7/32',
  sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1dW1teUtleUZvclRlc3RzT25seQ me@laptop',
};
/** The worker memory the aws check knows (planner/aws-prices.ts), for the types drawn below. */
const WORKER_MEMORY_GIB: Record<string, number> = { 't3.medium': 4, 't3.large': 8, 'm5.2xlarge': 32 };

// --- Values: mostly near the engines' grammars, some anything at all. --------------------------------------
const digits = fc.oneof(
  { arbitrary: fc.nat({ max: 1000 }).map(String), weight: 6 },
  { arbitrary: fc.bigInt({ min: 0n, max: 10n ** 22n }).map(String), weight: 2 },
  { arbitrary: fc.constantFrom('0', '007', ''), weight: 1 },
);
const anything = fc.string({ maxLength: 12 });
/** Mostly `likely` (values near the grammar), sometimes anything at all. */
const mostly = (...likely: fc.Arbitrary<string>[]) =>
  fc.oneof(...likely.map((arbitrary) => ({ arbitrary, weight: 3 })), { arbitrary: anything, weight: 1 });
const promDuration = mostly(
  fc
    .array(fc.tuple(digits, fc.constantFrom('y', 'w', 'd', 'h', 'm', 's', 'ms', 'D', 'us', '')), {
      minLength: 1,
      maxLength: 4,
    })
    .map((parts) => parts.map(([n, u]) => n + u).join('')),
  fc.constantFrom('0', '292y', '293y', '106751d23h47m16s854ms', '106751d23h47m16s855ms'),
);
const sizeUnit = fc.constantFrom(
  'B',
  'KB',
  'MB',
  'GB',
  'TB',
  'PB',
  'EB',
  'KiB',
  'MiB',
  'GiB',
  'EiB',
  'kB',
  'Gb',
  '',
);
const promSize = mostly(
  fc
    .array(fc.tuple(fc.constantFrom('', '-', '+'), digits, fc.constantFrom('', '.5', '.', '.25'), sizeUnit), {
      minLength: 1,
      maxLength: 3,
    })
    .map((parts) => parts.map(([sign, n, frac, u], i) => (i === 0 ? sign : '') + n + frac + u).join('')),
  fc.constantFrom('0', '7EB', '8EB', '9EB'),
);
const heap = mostly(
  fc
    .tuple(
      fc.oneof(
        digits,
        fc.nat().map((n) => `0x${n.toString(16)}`),
      ),
      fc.constantFrom('', 'k', 'M', 'm', 'G', 'g', 'T', 'GB', 'b'),
    )
    .map(([n, u]) => n + u),
  fc.constantFrom('256M', '255M', '1G', '4G', '7G', '8G', '64G', '1T'),
);
const streamDuration = mostly(
  fc.tuple(digits, fc.constantFrom('s', 'm', 'h', 'd', 'w', '')).map(([n, u]) => n + u),
  fc.constantFrom('1m', '2m', '59s', '106751d', '106752d'),
);
const streamBytes = mostly(
  fc.tuple(digits, fc.constantFrom('MiB', 'GiB', 'TiB', 'GB', '')).map(([n, u]) => n + u),
  fc.constantFrom('9GiB', '10GiB', '1024TiB', '1025TiB'),
);
const port = mostly(
  fc.constantFrom('0', '22', '2377', '3000', '9090', '4222', '8222', '9042', '65535', '65536'),
);
const small = (max: number) => mostly(fc.integer({ min: 0, max }).map(String));

const GENERATORS = {
  prometheusRetention: promDuration,
  prometheusRetentionSize: promSize,
  cassandraHeap: heap,
  cassandraNodes: small(10),
  natsNodes: small(6),
  rawStreamMaxAge: streamDuration,
  rawStreamDuplicateWindow: streamDuration,
  rawStreamMaxBytes: streamBytes,
  grafanaPort: port,
  prometheusPort: port,
  injectors: small(13),
};
const LOCAL_ONLY = { natsPort: port, natsMonitoringPort: port, cassandraPort: port };
const AWS_ONLY = {
  cassandraReplicationFactor: small(4),
  workers: small(6),
  rootVolumeGiB: fc.oneof(fc.constantFrom('8', '20', '24', '30', '1024'), anything),
  workerInstanceType: fc.constantFrom('t3.medium', 't3.large', 'm5.2xlarge', 'c7g.large'),
  availabilityZones: small(6),
  allowZoneQuorumLoss: fc.constantFrom('true', 'false'),
};
/** A few keys set at a time (the rest at their defaults), so that many inputs are accepted and checked. */
function values(generators: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<Record<string, string>> {
  return fc
    .subarray(Object.keys(generators), { maxLength: 4 })
    .chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, generators[k]]))));
}
const localValues = values({ ...GENERATORS, ...LOCAL_ONLY });
const awsValues = values({ ...GENERATORS, ...AWS_ONLY });

// --- The engines' rules, restated. ---------------------------------------------------------------------------
const INT64_MAX = 2n ** 63n - 1n;
const DURATION_NS: Record<string, bigint> = {
  y: 365n * 86_400n * 10n ** 9n,
  w: 7n * 86_400n * 10n ** 9n,
  d: 86_400n * 10n ** 9n,
  h: 3_600n * 10n ** 9n,
  m: 60n * 10n ** 9n,
  s: 10n ** 9n,
  ms: 10n ** 6n,
};
/** prometheus/common model.ParseDuration as its grammar regexp (of older releases) plus the int64 bound. */
function prometheusTakesDuration(text: string): boolean {
  if (text === '0') return true;
  const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
  if (!m || text === '') return false;
  const units = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  const ns = units.reduce((sum, u, i) => sum + BigInt(m[i + 1] ?? 0) * DURATION_NS[u], 0n);
  return ns <= INT64_MAX;
}
/** alecthomas/units ParseBase2Bytes: one unit family, a size within an int64; the project wants no sign `-`. */
function prometheusTakesSize(text: string): boolean {
  if (/^\+?0$/.test(text)) return true;
  const family = (units: string) => new RegExp(`^[+-]?(?:(?:\\d+\\.?\\d*|\\.\\d+)(?:${units}))+$`).test(text);
  if (!family('B|KiB|MiB|GiB|TiB|PiB|EiB') && !family('B|KB|MB|GB|TB|PB|EB')) return false;
  const power = (unit: string) => 1024 ** Math.max(0, 'BKMGTPE'.indexOf(unit[0]));
  const parts = [...text.matchAll(/(\d+\.?\d*|\.\d+)([A-Za-z]+)/g)];
  const size = parts.reduce((sum, [, n, unit]) => sum + Number(n) * power(unit), 0);
  return !text.startsWith('-') && size < 2 ** 63;
}
/** HotSpot -Xmx: decimal or hex, one unit letter, 64 bits, at least 2 MiB. */
function jvmHeapBytes(text: string): bigint | undefined {
  const m = /^(?:(0[xX][0-9a-fA-F]+)|(\d+))([kKmMgGtT]?)$/.exec(text);
  if (!m) return undefined;
  const n = BigInt(m[1] ?? m[2]);
  const bytes = n * 1024n ** BigInt(' kmgt'.indexOf((m[3] || ' ').toLowerCase()));
  return bytes < 2n ** 64n && bytes >= 2n * 1024n ** 2n ? bytes : undefined;
}

/** What the accepted config hands the engines, checked against their rules. */
function engineRules(config: StackConfig, machineBytes: number | undefined, heapsPerMachine: number): void {
  const r = config.retention;
  expect(prometheusTakesDuration(r.prometheusTime)).toBe(true);
  expect(prometheusTakesSize(r.prometheusSize)).toBe(true);
  const heapBytes = jvmHeapBytes(config.cassandraHeap);
  expect(heapBytes).toBeDefined();
  if (machineBytes !== undefined && config.tiers.has('storage')) {
    expect(Number(heapBytes) * heapsPerMachine).toBeLessThanOrEqual(machineBytes);
  }
  // JetStream: time.Durations, the duplicate window within the max age, budgets a safe integer.
  expect(BigInt(r.rawStreamMaxAgeSeconds) * 10n ** 9n).toBeLessThanOrEqual(INT64_MAX);
  expect(r.rawStreamDuplicateWindowSeconds).toBeLessThanOrEqual(r.rawStreamMaxAgeSeconds);
  expect(Number.isSafeInteger(r.rawStreamMaxBytes + 512 * 1024 ** 2)).toBe(true);
  const published = Object.values(config.ports).filter((p) => p !== 0);
  expect(new Set(published).size).toBe(published.length);
}

/**
 * A refusal must be a one-line ConfigError that names a `smartmeter:` key (by name: the program under mocks
 * is a fresh copy of the modules, with its own ConfigError class).
 */
function namesKey(err: unknown): void {
  expect(err).toBeInstanceOf(Error);
  expect([(err as Error).name, (err as Error).message]).toEqual([
    new ConfigError('').name,
    expect.anything(),
  ]);
  const message = (err as Error).message;
  expect(message).toMatch(/smartmeter:[A-Za-z]+/);
  expect(message).not.toContain('\n');
}

const refusedOrChecked = (check: () => void) => {
  try {
    check();
  } catch (err) {
    if ((err as Error).name === 'JestAssertionError' || (err as { matcherResult?: unknown }).matcherResult)
      throw err;
    namesKey(err);
  }
};

test(
  'local: any values build or fail naming a key, and what is accepted the engines take',
  async () => {
    const memory = 16 * GiB;
    await fuzz(
      'local stack config',
      fc.property(localValues, (values) =>
        refusedOrChecked(() => {
          const config = loadConfig((k) => ({ platform: 'local', ...values })[k]);
          checkHostFiles(config);
          checkHostMemory(config, memory);
          engineRules(config, memory - GiB, config.cassandraNodes);
        }),
      ),
    );
  },
  fuzzTimeoutMs(1),
);

test(
  'aws: any values build or fail naming a key, and what is accepted the engines and the nodes take',
  async () => {
    await fuzz(
      'aws stack config',
      fc.property(awsValues, (values) =>
        refusedOrChecked(() => {
          const { config, aws } = validateAwsValues({ ...AWS_STACK, ...values });
          const perWorker = (n: number) => Math.ceil(n / aws.workers);
          const memory = WORKER_MEMORY_GIB[aws.workerInstanceType];
          engineRules(config, memory && (memory - 1) * GiB, perWorker(config.cassandraNodes));
          for (const p of [config.ports.grafana, config.ports.prometheus])
            expect([22, 2377, 7946]).not.toContain(p);
          if (config.tiers.has('messaging')) {
            const store =
              (config.retention.rawStreamMaxBytes + 512 * 1024 ** 2) * perWorker(config.natsNodes);
            expect(store).toBeLessThanOrEqual((aws.rootVolumeGiB - 20) * GiB);
          }
        }),
      ),
    );
  },
  fuzzTimeoutMs(1),
);

// The program itself: a couple of runs per stack (each loads the whole program under mocks, seconds).
const programRun = (run: () => Promise<unknown>) =>
  run().then(
    () => undefined,
    (err: unknown) => namesKey(err),
  );

test(
  'the local program under mocks builds or stops with a ConfigError naming a key',
  async () => {
    await fuzz(
      'local program',
      fc.asyncProperty(localValues, (values) => programRun(() => runLocalProgram(values))),
      { maxRuns: 2 },
    );
  },
  fuzzTimeoutMs(1, 60_000),
);

test(
  'the aws program under mocks builds or stops with a ConfigError naming a key',
  async () => {
    await fuzz(
      'aws program',
      fc.asyncProperty(awsValues, (values) => programRun(() => runAwsProgram(values))),
      { maxRuns: 2 },
    );
  },
  fuzzTimeoutMs(1, 60_000),
);
