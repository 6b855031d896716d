// The stack's limits are the services' limits: each stack key that becomes a services variable accepts
// exactly what the variable accepts (its declared min and max, not a step beyond), the program passes the
// extremes through so that every role still starts, and a stack left at its defaults sets each such
// variable to the variable's declared default.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadConfig, LIMITS } from '../../components/config';
import { Setting } from '../../services/src/contract/values';
import { VARIABLES, VariableName } from '../../services/src/contract/variables';
import { startProblems } from './start';
import { renderLocal } from './render';

interface Key {
  /** The stack key (without `smartmeter:`). */
  readonly key: string;
  readonly variable: VariableName;
  /** How the key writes the variable's value (default: as the number). */
  readonly text?: (value: number) => string;
  /** Other keys the extremes need (a longer outage allows fewer; a replay needs its files). */
  readonly with?: Record<string, string>;
}

const MIB = 1024 ** 2;
const recording = () => {
  const file = join(mkdtempSync(join(tmpdir(), 'smartmeter-replay-')), 'household.txt');
  writeFileSync(file, '');
  return { replayFiles: file, simulationStart: '2006-12-16T17:24:00Z' };
};

/** Every stack key that becomes a services variable with limits. */
const KEYS: readonly Key[] = [
  { key: 'injectRate', variable: 'INJECT_RATE' },
  { key: 'injectSeed', variable: 'INJECT_SEED' },
  { key: 'injectBufferReadings', variable: 'INJECT_BUFFER_READINGS' },
  { key: 'injectOutageMinutes', variable: 'INJECT_OUTAGE_MINUTES' },
  // At most 1440 / minutes a day: the declared maximum is reached with 1-minute outages.
  { key: 'injectOutageRate', variable: 'INJECT_OUTAGE_RATE', with: { injectOutageMinutes: '1' } },
  {
    key: 'injectTransformerOutageRate',
    variable: 'INJECT_TRANSFORMER_OUTAGE_RATE',
    with: { injectOutageMinutes: '1' },
  },
  { key: 'outageIntervals', variable: 'STREAM_OUTAGE_INTERVALS' },
  { key: 'transformerOutageShare', variable: 'STREAM_TRANSFORMER_OUTAGE_SHARE' },
  { key: 'alertThreshold', variable: 'ALERT_THRESHOLD_V' },
  { key: 'rawRetentionDays', variable: 'RAW_RETENTION_DAYS' },
  { key: 'aggregateRetentionDays', variable: 'AGGREGATE_RETENTION_DAYS' },
  // The duplicate window must fit in the max age (JetStream's rule; both sides check it).
  {
    key: 'rawStreamMaxAge',
    variable: 'RAW_STREAM_MAX_AGE_S',
    text: (s) => `${s}s`,
    with: { rawStreamDuplicateWindow: '1m' },
  },
  {
    key: 'rawStreamDuplicateWindow',
    variable: 'RAW_STREAM_DUPLICATE_WINDOW_S',
    text: (s) => `${s}s`,
    with: { rawStreamMaxAge: '2d' },
  },
  { key: 'rawStreamMaxBytes', variable: 'RAW_STREAM_MAX_BYTES', text: (b) => `${b / MIB}MiB` },
  { key: 'replayMetersPerHousehold', variable: 'INJECT_UCI_METERS_PER_HOUSEHOLD', with: recording() },
  { key: 'replayRecordedNominalVoltage', variable: 'INJECT_UCI_NOMINAL_V', with: recording() },
  { key: 'replayNominalVoltage', variable: 'INJECT_NOMINAL_V', with: recording() },
  // At most one copy per node: the declared maximum is reached on the largest cluster.
  {
    key: 'cassandraReplicationFactor',
    variable: 'CASSANDRA_REPLICATION_FACTOR',
    with: { cassandraNodes: String(LIMITS.cassandraNodes) },
  },
];

function limits(k: Key) {
  const v: Setting = VARIABLES[k.variable];
  if (v.kind !== 'integer' && v.kind !== 'number') throw new Error(`${k.variable} is not a number`);
  const min = v.min as number;
  const max = v.max as number;
  // The smallest step the key can write: a whole unit of its text (a MiB) or of an integer, else a hair.
  const step = k.key === 'rawStreamMaxBytes' ? MIB : v.kind === 'integer' ? 1 : 1e-6;
  const exclusive = v.kind === 'number' && v.minExclusive === true;
  const text = k.text ?? String;
  return { min, max, step, exclusive, text };
}

/** What the stack does with `key=text`: accepts it, or refuses it naming the key (or for another reason). */
function verdict(k: Key, text: string, base: Record<string, string>): [string, string] {
  try {
    loadConfig((key) => ({ ...base, [k.key]: text })[key]);
    return [`${k.key}=${text}`, 'accepted'];
  } catch (err) {
    const message = (err as Error).message;
    return [`${k.key}=${text}`, message.includes(`smartmeter:${k.key} `) ? 'refused' : message];
  }
}

describe.each(KEYS)('smartmeter:$key has $variable’s limits', (k) => {
  const { min, max, step, exclusive, text } = limits(k);
  const base = { platform: 'local', ...k.with };
  const expectVerdict = (value: number, expected: 'accepted' | 'refused') =>
    expect(verdict(k, text(value), base)).toEqual([`${k.key}=${text(value)}`, expected]);

  test('the stack accepts its declared minimum and maximum', () => {
    expect(Number.isFinite(min) && Number.isFinite(max)).toBe(true);
    if (!exclusive) expectVerdict(min, 'accepted');
    expectVerdict(min + step, 'accepted');
    expectVerdict(max, 'accepted');
  });

  test('and refuses a step beyond, naming the key', () => {
    const below = exclusive ? min : min - step;
    // A size below 1 MiB cannot be written (the key's unit is the MiB).
    if (below > 0 || k.key !== 'rawStreamMaxBytes') expectVerdict(below, 'refused');
    expectVerdict(max + step, 'refused');
  });
});

test('the injectors are at most the injector slots', () => {
  expect(LIMITS.injectors).toBe(VARIABLES.INJECT_SLOT.max);
  expect(LIMITS.injectRate).toBe(VARIABLES.INJECT_RATE.max);
});

describe('the program passes the extremes through: every role starts', () => {
  // The keys' extremes together; a key another key's extreme needs keeps that value (1-minute outages).
  const together = (pick: 'min' | 'max') => {
    const needed = Object.assign({}, ...KEYS.map((k) => k.with ?? {})) as Record<string, string>;
    const extremes = KEYS.filter((k) => !(k.key in needed)).map((k) => {
      const l = limits(k);
      return [k.key, l.text(pick === 'min' ? (l.exclusive ? l.min + l.step : l.min) : l.max)];
    });
    return { ...needed, ...Object.fromEntries(extremes) };
  };

  test.each(['min', 'max'] as const)('all at their %s', async (pick) => {
    const config = {
      ...together(pick),
      injectors: pick === 'max' ? String(LIMITS.injectors) : '1',
    };
    const rendered = await renderLocal(config);
    expect(rendered.filter((r) => r.role).flatMap(startProblems)).toEqual([]);
  });
});

const declaredDefault = (name: VariableName) => {
  const v: Setting = VARIABLES[name];
  return 'default' in v ? v.default : undefined;
};

test('a stack at its defaults sets each of these variables to its declared default', async () => {
  const rendered = await renderLocal({});
  const mapped = new Set<string>(KEYS.map((k) => k.variable));
  const differing = rendered
    .filter((r) => r.role)
    .flatMap((r) =>
      Object.entries(r.declared)
        .filter(([name]) => mapped.has(name))
        .filter(([name, value]) => value !== String(declaredDefault(name as VariableName)))
        .map(
          ([name, value]) =>
            `${r.name}: ${name}=${value}, declared default ${String(declaredDefault(name as VariableName))}`,
        ),
    );
  expect(differing).toEqual([]);
  // And the injector's rate, the one both sides once defaulted differently (500 in the service, 50 here).
  expect(rendered.find((r) => r.role === 'inject')?.declared.INJECT_RATE).toBe(
    String(VARIABLES.INJECT_RATE.default),
  );
});
