// The injector's configuration from the environment, validated up front so that a bad value stops the
// role with an error naming the variable (see roles/inject.ts for the list).
import { ConfigError, EnvReader } from '../lib/config';
import { rawStreamSettings } from '../lib/jetstream';
import { DELIVERY_DEFAULTS, DeliverySettings } from './delivery';
import { validateOutages } from './outages';
import { InjectorSettings } from './publisher';
import { CycleSchedule, SimulatedClock } from './schedule';
import { SimulatorOptions } from './simulator';
import { meterCount, Topology, topologyFromRate, validateTopology } from './topology';

export interface InjectConfig {
  simulator: SimulatorOptions & { slot: number };
  injector: InjectorSettings;
}

const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+$/;
const TOPOLOGY_VARS = ['INJECT_LINES', 'INJECT_TRANSFORMERS', 'INJECT_USAGEPOINTS'] as const;

function rethrow(names: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof RangeError) throw new ConfigError(`${names}: ${err.message}`);
    throw err;
  }
}

/**
 * The clock: INJECT_START is the simulated time at the real instant INJECT_CLOCK_ANCHOR. Given one, the
 * other defaults to it (INJECT_START alone: the original's "simulated origin and real-time anchor"); given
 * neither, both are now. A stack sets both, the same on every replica (schedule.ts).
 */
export function injectClock(env: EnvReader, now: number): Required<SimulatedClock> {
  const anchorGiven = env.optionalEpochSeconds('INJECT_CLOCK_ANCHOR');
  const start = env.epochSeconds('INJECT_START', anchorGiven ?? Math.floor(now));
  return {
    start,
    anchor: anchorGiven ?? start,
    acceleration: env.number('INJECT_ACCELERATION', 900, { min: 1, max: 10_000_000 }),
  };
}

/** The first subject token of what the injector publishes (INJECT_SUBJECT_ROOT). */
export function injectSubjectRoot(env: EnvReader): string {
  const subjectRoot = env.string('INJECT_SUBJECT_ROOT', 'smartmeter');
  if (!SUBJECT_TOKEN.test(subjectRoot)) {
    throw new ConfigError(
      `INJECT_SUBJECT_ROOT must be one subject token (${SUBJECT_TOKEN}), got "${subjectRoot}"`,
    );
  }
  return subjectRoot;
}

export function injectConfig(env: EnvReader, now = Date.now() / 1000): InjectConfig {
  const rate = env.number('INJECT_RATE', 500, { min: 1, max: 10_000_000 });
  const slot = env.integer('INJECT_SLOT', 1, { min: 0, max: 12 });
  const given = TOPOLOGY_VARS.filter((name) => env.optionalString(name) !== undefined);
  if (given.length > 0 && given.length < TOPOLOGY_VARS.length) {
    throw new ConfigError(`set all of ${TOPOLOGY_VARS.join(', ')} or none (given: ${given.join(', ')})`);
  }
  const topology: Topology = given.length
    ? {
        lines: env.integer('INJECT_LINES', 1, { min: 1, max: 10 }),
        transformers: env.integer('INJECT_TRANSFORMERS', 1, { min: 1, max: 1_000_000 }),
        usagePoints: env.integer('INJECT_USAGEPOINTS', 1, { min: 1, max: 1_000_000 }),
      }
    : topologyFromRate(rate);
  rethrow(given.length ? `${TOPOLOGY_VARS.join('/')}, INJECT_SLOT` : 'INJECT_RATE, INJECT_SLOT', () =>
    validateTopology(topology, slot),
  );
  const { start, anchor, acceleration } = injectClock(env, now);
  rethrow('INJECT_RATE, INJECT_ACCELERATION, INJECT_START, INJECT_CLOCK_ANCHOR', () => {
    new CycleSchedule({
      start,
      anchor,
      acceleration,
      cycleRealSeconds: (meterCount(topology) + 2) / rate,
    }).checkRange(now);
  });
  const perDay = env.number('INJECT_OVERVOLTAGE_RATE', 0, { min: 0 });
  const minutes = env.integer('INJECT_OVERVOLTAGE_MINUTES', 45, { min: 1, max: 1440 });
  if ((perDay * minutes) / 1440 > 1) {
    throw new ConfigError(
      `INJECT_OVERVOLTAGE_RATE must be <= ${1440 / minutes} events per meter per simulated day ` +
        `for ${minutes}-minute events (INJECT_OVERVOLTAGE_MINUTES), got ${perDay}`,
    );
  }
  const outages = {
    perDay: env.number('INJECT_OUTAGE_RATE', 0, { min: 0 }),
    transformerPerDay: env.number('INJECT_TRANSFORMER_OUTAGE_RATE', 0, { min: 0 }),
    minutes: env.integer('INJECT_OUTAGE_MINUTES', 120, { min: 1, max: 1440 }),
  };
  rethrow('INJECT_OUTAGE_RATE, INJECT_TRANSFORMER_OUTAGE_RATE, INJECT_OUTAGE_MINUTES', () =>
    validateOutages(outages),
  );
  const subjectRoot = injectSubjectRoot(env);
  const duration = env.number('INJECT_DURATION_S', 0, { min: 0 });
  const maxReadings = env.integer('INJECT_MAX_READINGS', 0, { min: 0 });
  return {
    simulator: {
      seed: env.integer('INJECT_SEED', 1, { min: 0, max: 0xffffffff }),
      topology,
      slot,
      cycleSeconds: Math.max(60, ((meterCount(topology) + 2) / rate) * acceleration),
      overVoltage: { perDay, minutes },
      outages,
    },
    injector: {
      rate,
      start,
      anchor,
      acceleration,
      durationSeconds: duration || undefined,
      maxReadings: maxReadings || undefined,
      subjectRoot,
    },
  };
}

/** How the injector delivers, whichever its source: buffer size, ledger, the stream's duplicate window. */
export interface DeliveryConfig extends Omit<DeliverySettings, 'name'> {
  /** Where the delivery ledger is written (ledger.ts); unset: no ledger. */
  ledgerDir?: string;
}

/** The store-and-forward buffer's default size: at the stack's default 50 readings/s, 100 minutes. */
export const DEFAULT_BUFFER_READINGS = 300_000;

export function deliveryConfig(env: EnvReader): DeliveryConfig {
  return {
    bufferReadings: env.integer('INJECT_BUFFER_READINGS', DEFAULT_BUFFER_READINGS, {
      min: DELIVERY_DEFAULTS.maxBatch,
      max: 100_000_000,
    }),
    ledgerDir: env.optionalString('INJECT_LEDGER_DIR'),
    duplicateWindowMs: rawStreamSettings(env).duplicateWindowSeconds * 1000,
  };
}
