// The replay source's settings from the environment (roles/inject.ts lists them), validated up front so
// that a bad value stops the role with an error naming the variable.
import { accessSync, constants } from 'node:fs';
import { ConfigError, EnvReader } from '../lib/config';
import { injectClock } from '../simulator/config';
import { validateTopology } from '../simulator/topology';
import { minuteGrid, ReplaySettings } from './replay';

export const INJECT_SOURCES = ['simulator', 'uci'] as const;
export type InjectSource = (typeof INJECT_SOURCES)[number];

export function injectSource(env: EnvReader): InjectSource {
  return env.get('INJECT_SOURCE');
}

export function replayConfig(env: EnvReader, now = Date.now() / 1000): ReplaySettings {
  const files = env.required('INJECT_UCI_FILES', 'with INJECT_SOURCE=uci: one file per household');
  for (const file of files) {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new ConfigError(
        `INJECT_UCI_FILES: cannot read ${file} (it must be a readable file, in the UCI format)`,
      );
    }
  }
  const metersPerHousehold = env.get('INJECT_UCI_METERS_PER_HOUSEHOLD');
  const slot = env.get('INJECT_SLOT');
  try {
    validateTopology({ lines: 1, transformers: files.length, usagePoints: metersPerHousehold }, slot);
  } catch (err) {
    throw new ConfigError(
      `INJECT_UCI_FILES, INJECT_UCI_METERS_PER_HOUSEHOLD, INJECT_SLOT: ${(err as Error).message}`,
    );
  }
  // Without an anchor (dev, tests) the replay starts at INJECT_START in a second or two, not where a clock
  // anchored at INJECT_START in 2006 would be today.
  if (!env.has('INJECT_START')) {
    throw new ConfigError(
      'INJECT_START is required with INJECT_SOURCE=uci: the simulated time to replay from, such as ' +
        '2006-12-16T17:24:00Z (the UCI recording starts then)',
    );
  }
  const anchor = env.get('INJECT_CLOCK_ANCHOR') ?? Math.ceil(now) + 1;
  const clock = { ...injectClock(env, now), anchor };
  try {
    minuteGrid(clock).firstCycle(now);
  } catch (err) {
    throw new ConfigError(
      `INJECT_START, INJECT_CLOCK_ANCHOR, INJECT_ACCELERATION: ${(err as Error).message}`,
    );
  }
  const duration = env.get('INJECT_DURATION_S');
  return {
    ...clock,
    files,
    metersPerHousehold,
    slot,
    seed: env.get('INJECT_SEED'),
    recordedNominalVoltage: env.get('INJECT_UCI_NOMINAL_V'),
    nominalVoltage: env.get('INJECT_NOMINAL_V'),
    durationSeconds: duration || undefined,
    subjectRoot: env.get('INJECT_SUBJECT_ROOT'),
  };
}
