// The replay source's settings from the environment (roles/inject.ts lists them), validated up front so
// that a bad value stops the role with an error naming the variable.
import { accessSync, constants } from 'node:fs';
import { ConfigError, EnvReader } from '../lib/config';
import { injectClock, injectSubjectRoot } from '../simulator/config';
import { validateTopology } from '../simulator/topology';
import { minuteGrid, ReplaySettings } from './replay';

export const INJECT_SOURCES = ['simulator', 'uci'] as const;
export type InjectSource = (typeof INJECT_SOURCES)[number];

export function injectSource(env: EnvReader): InjectSource {
  return env.oneOf('INJECT_SOURCE', INJECT_SOURCES, 'simulator');
}

export function replayConfig(env: EnvReader, now = Date.now() / 1000): ReplaySettings {
  const files = env.list('INJECT_UCI_FILES', '');
  if (files.length === 0) {
    throw new ConfigError('INJECT_UCI_FILES is required with INJECT_SOURCE=uci: one file per household');
  }
  for (const file of files) {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new ConfigError(
        `INJECT_UCI_FILES: cannot read ${file} (it must be a readable file, in the UCI format)`,
      );
    }
  }
  const metersPerHousehold = env.integer('INJECT_UCI_METERS_PER_HOUSEHOLD', 1, { min: 1, max: 100_000 });
  const slot = env.integer('INJECT_SLOT', 1, { min: 0, max: 12 });
  try {
    validateTopology({ lines: 1, transformers: files.length, usagePoints: metersPerHousehold }, slot);
  } catch (err) {
    throw new ConfigError(
      `INJECT_UCI_FILES, INJECT_UCI_METERS_PER_HOUSEHOLD, INJECT_SLOT: ${(err as Error).message}`,
    );
  }
  // Without an anchor (dev, tests) the replay starts at INJECT_START in a second or two, not where a clock
  // anchored at INJECT_START in 2006 would be today.
  if (env.optionalString('INJECT_START') === undefined) {
    throw new ConfigError(
      'INJECT_START is required with INJECT_SOURCE=uci: the simulated time to replay from, such as ' +
        '2006-12-16T17:24:00Z (the UCI recording starts then)',
    );
  }
  const anchor = env.optionalEpochSeconds('INJECT_CLOCK_ANCHOR') ?? Math.ceil(now) + 1;
  const clock = { ...injectClock(env, now), anchor };
  try {
    minuteGrid(clock).firstCycle(now);
  } catch (err) {
    throw new ConfigError(
      `INJECT_START, INJECT_CLOCK_ANCHOR, INJECT_ACCELERATION: ${(err as Error).message}`,
    );
  }
  const duration = env.number('INJECT_DURATION_S', 0, { min: 0 });
  return {
    ...clock,
    files,
    metersPerHousehold,
    slot,
    seed: env.integer('INJECT_SEED', 1, { min: 0, max: 0xffffffff }),
    recordedNominalVoltage: env.number('INJECT_UCI_NOMINAL_V', 230, { min: 1, max: 1000 }),
    nominalVoltage: env.number('INJECT_NOMINAL_V', 120, { min: 1, max: 1000 }),
    durationSeconds: duration || undefined,
    subjectRoot: injectSubjectRoot(env),
  };
}
