// The injector's configuration from the environment, validated up front so that a bad value stops the
// role with an error naming the variable (see roles/inject.ts for the list).
import { MINUTES_PER_DAY } from '../contract/variables';
import { ConfigError, EnvReader } from '../lib/config';
import { DeliverySettings } from './delivery';
import { validateOutages } from './outages';
import { InjectorSettings } from './publisher';
import { CycleSchedule, SimulatedClock } from './schedule';
import { SimulatorOptions } from './simulator';
import { meterCount, Topology, topologyFromRate, validateTopology } from './topology';

export interface InjectConfig {
  simulator: SimulatorOptions & { slot: number };
  injector: InjectorSettings;
}

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
  const anchorGiven = env.get('INJECT_CLOCK_ANCHOR');
  const start = env.get('INJECT_START') ?? anchorGiven ?? Math.floor(now);
  return { start, anchor: anchorGiven ?? start, acceleration: env.get('INJECT_ACCELERATION') };
}

export function injectConfig(env: EnvReader, now = Date.now() / 1000): InjectConfig {
  const rate = env.get('INJECT_RATE');
  const slot = env.get('INJECT_SLOT');
  const given = TOPOLOGY_VARS.filter((name) => env.has(name));
  if (given.length > 0 && given.length < TOPOLOGY_VARS.length) {
    throw new ConfigError(`set all of ${TOPOLOGY_VARS.join(', ')} or none (given: ${given.join(', ')})`);
  }
  const topology: Topology = given.length
    ? {
        lines: env.required('INJECT_LINES', 'with the other topology variables'),
        transformers: env.required('INJECT_TRANSFORMERS', 'with the other topology variables'),
        usagePoints: env.required('INJECT_USAGEPOINTS', 'with the other topology variables'),
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
  const perDay = env.get('INJECT_OVERVOLTAGE_RATE');
  const minutes = env.get('INJECT_OVERVOLTAGE_MINUTES');
  if ((perDay * minutes) / MINUTES_PER_DAY > 1) {
    throw new ConfigError(
      `INJECT_OVERVOLTAGE_RATE must be <= ${MINUTES_PER_DAY / minutes} events per meter per simulated day ` +
        `for ${minutes}-minute events (INJECT_OVERVOLTAGE_MINUTES), got ${perDay}`,
    );
  }
  const outages = {
    perDay: env.get('INJECT_OUTAGE_RATE'),
    transformerPerDay: env.get('INJECT_TRANSFORMER_OUTAGE_RATE'),
    minutes: env.get('INJECT_OUTAGE_MINUTES'),
  };
  rethrow('INJECT_OUTAGE_RATE, INJECT_TRANSFORMER_OUTAGE_RATE, INJECT_OUTAGE_MINUTES', () =>
    validateOutages(outages),
  );
  const subjectRoot = env.get('INJECT_SUBJECT_ROOT');
  const duration = env.get('INJECT_DURATION_S');
  const maxReadings = env.get('INJECT_MAX_READINGS');
  return {
    simulator: {
      seed: env.get('INJECT_SEED'),
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

export function deliveryConfig(env: EnvReader): DeliveryConfig {
  return {
    // At least one batch (DELIVERY_DEFAULTS.maxBatch, 1000): the declared minimum.
    bufferReadings: env.get('INJECT_BUFFER_READINGS'),
    ledgerDir: env.get('INJECT_LEDGER_DIR'),
    duplicateWindowMs: env.get('RAW_STREAM_DUPLICATE_WINDOW_S') * 1000,
  };
}
