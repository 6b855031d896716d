// The meter simulator's pure model: given a seed and a topology, the readings of any simulated minute.
//
//   const sim = createSimulator({ seed: 1, topology: topologyFromRate(500), slot: 1 });
//   for (let e = start; e < start + 30 * 86_400; e += 900) {
//     const { temperature, forecast, voltages } = sim.cycleAt(e); // voltages: { meter, reading, overVoltage }[]
//   }
//
// One cycle = one temperature, one forecast, then one voltage per meter, all sharing the cycle's epoch
// (floored to the simulated minute). Everything is a pure function of (seed, meter, simulated minute):
// no hidden state, so the same seed gives the same readings whatever order cycles are asked in, and the
// original's 12-deep forecast queue needs no queue: the forecast sent with the cycle at epoch e is the
// temperature of the cycle 12 cycles later (its epoch and value), and that cycle's temperature message
// carries exactly that value. Temperature does not depend on the slot, so replicas agree on the weather.
//
// Over-voltage events (off by default, so the base statistics stay the original's): simulated time is cut
// into windows of `overVoltage.minutes`; each meter has an event in a window with probability
// perDay·minutes/1440, and then every reading of that window reads 121–125 V (above the original's 120 V
// alert threshold, inside ANSI Range A). With the default 45 minutes and 15-minute cycles an event spans
// 3 consecutive readings, enough for the "above 120 V at least twice" rule.
import { MeterId, TemperatureReading, VoltageReading, voltageSubject } from '../wire/codec';
import { FORECAST_CYCLES } from '../wire/subjects';
import { hash32, Mulberry32, unit } from './prng';
import { Calendar, calendarOf, consumerVoltage, temperature } from './profiles';
import { meterIds, Topology, validateTopology } from './topology';
import { DarkFn, OutageOptions, outageSchedule, NO_OUTAGES } from './outages';

export interface OverVoltageOptions {
  /** Events per meter per simulated day (0 = off). */
  perDay: number;
  /** Length of an event in simulated minutes (default 45). */
  minutes?: number;
}

export interface SimulatorOptions {
  /** Any integer; taken modulo 2^32. */
  seed: number;
  topology: Topology;
  /** Injector slot: meters are on lines 10·slot+1 … 10·slot+lines (default 1). */
  slot?: number;
  /** Simulated seconds between cycles; sets cycleAt's default forecast epoch (default 900). */
  cycleSeconds?: number;
  overVoltage?: OverVoltageOptions;
  /** Injected outages (outages.ts; default none). */
  outages?: OutageOptions;
}

export interface MeterReading {
  meter: MeterId;
  reading: VoltageReading;
  /** True when this reading belongs to an injected over-voltage event. */
  overVoltage: boolean;
}

export interface Cycle {
  epoch: number;
  temperature: TemperatureReading;
  /** The temperature of the cycle 12 cycles ahead, with that cycle's epoch. */
  forecast: TemperatureReading;
  voltages: MeterReading[];
}

export interface Simulator {
  readonly seed: number;
  readonly slot: number;
  readonly topology: Topology;
  readonly meters: readonly MeterId[];
  /** voltageSubject(meters[i]), precomputed. */
  readonly subjects: readonly string[];
  /** The over-voltage window length in seconds, or 0 when events are off. */
  readonly overVoltageWindowSeconds: number;
  temperatureAt(epoch: number): TemperatureReading;
  /** The reading of meters[meterIndex] at `epoch`, given that minute's temperature in °C. */
  voltageAt(meterIndex: number, epoch: number, temperatureC: number): MeterReading;
  /** True when meters[meterIndex] is in an injected outage at `epoch`: it publishes nothing. */
  readonly dark: DarkFn;
  /** The cycle's readings; a meter in an injected outage has none. */
  cycleAt(epoch: number, forecastEpoch?: number): Cycle;
}

/** A meter's own offset is uniform in ±MAX_METER_BIAS volts. */
export const MAX_METER_BIAS = 0.2;
/** Over-voltage readings are uniform in [OVER_VOLTAGE_MIN, OVER_VOLTAGE_MIN + OVER_VOLTAGE_SPAN) V. */
export const OVER_VOLTAGE_MIN = 121;
export const OVER_VOLTAGE_SPAN = 4;

// Distinct hash streams, so no two kinds of draw ever share random numbers.
const STREAM = { temperature: 1, voltage: 2, bias: 3, event: 4 } as const;

const floor = Math.floor; // bound once: global lookups are slow in vm contexts (jest)

export function toMinute(epoch: number): number {
  return floor(epoch / 60) * 60;
}

export function createSimulator(options: SimulatorOptions): Simulator {
  const seed = options.seed >>> 0;
  const slot = options.slot ?? 1;
  const topology = validateTopology({ ...options.topology }, slot);
  const cycleSeconds = options.cycleSeconds ?? 900;
  if (!(cycleSeconds >= 60)) throw new RangeError(`cycleSeconds must be >= 60, got ${cycleSeconds}`);
  const perDay = options.overVoltage?.perDay ?? 0;
  const minutes = options.overVoltage?.minutes ?? 45;
  if (!(minutes >= 1) || !Number.isInteger(minutes)) {
    throw new RangeError(`overVoltage.minutes must be an integer >= 1, got ${minutes}`);
  }
  const eventProbability = (perDay * minutes) / 1440;
  if (!(perDay >= 0) || eventProbability > 1) {
    throw new RangeError(`overVoltage.perDay must be in [0, ${1440 / minutes}] for ${minutes}-minute events`);
  }
  const windowSeconds = perDay > 0 ? minutes * 60 : 0;

  const meters = meterIds(topology, slot);
  const dark = outageSchedule(seed, meters, options.outages ?? NO_OUTAGES);
  const subjects = meters.map(voltageSubject);
  const meterKeys = meters.map((m) => hash32(m.line, m.transformer, m.usagePoint));
  const biases = meterKeys.map((k) => (unit(hash32(seed, k, 0, STREAM.bias)) - 0.5) * 2 * MAX_METER_BIAS);
  const rng = new Mulberry32(0);

  // Every reading of a cycle shares its epoch: remember the last calendar instead of recomputing it.
  let cachedEpoch = NaN;
  let cachedCalendar: Calendar = calendarOf(0);
  const calendar = (minute: number) => {
    if (minute !== cachedEpoch) {
      cachedEpoch = minute;
      cachedCalendar = calendarOf(minute);
    }
    return cachedCalendar;
  };

  const temperatureAt = (epoch: number): TemperatureReading => {
    const minute = toMinute(epoch);
    const u = unit(hash32(seed, minute / 60, 0, STREAM.temperature));
    return { epoch: minute, temperature: temperature(calendarOf(minute), u) };
  };

  const voltageAt = (meterIndex: number, epoch: number, temperatureC: number): MeterReading => {
    const minute = toMinute(epoch);
    const key = meterKeys[meterIndex];
    if (key === undefined) throw new RangeError(`no meter ${meterIndex}`);
    rng.reseed(hash32(seed, key, minute / 60, STREAM.voltage));
    let voltage = consumerVoltage(calendar(minute), temperatureC, rng.next(), biases[meterIndex]);
    const demand = 100 + rng.next();
    const values = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (let k = 0; k < 10; k++) values[k] = k + 3 + rng.next();
    const overVoltage =
      windowSeconds > 0 &&
      unit(hash32(seed, key, floor(minute / windowSeconds), STREAM.event)) < eventProbability;
    if (overVoltage) voltage = OVER_VOLTAGE_MIN + OVER_VOLTAGE_SPAN * rng.next();
    return { meter: meters[meterIndex], reading: { epoch: minute, voltage, demand, values }, overVoltage };
  };

  const cycleAt = (epoch: number, forecastEpoch = epoch + FORECAST_CYCLES * cycleSeconds): Cycle => {
    const temp = temperatureAt(epoch);
    const voltages = meters.flatMap((_, i) =>
      dark(i, temp.epoch) ? [] : [voltageAt(i, temp.epoch, temp.temperature)],
    );
    return { epoch: temp.epoch, temperature: temp, forecast: temperatureAt(forecastEpoch), voltages };
  };

  return {
    seed,
    slot,
    topology,
    meters,
    subjects,
    overVoltageWindowSeconds: windowSeconds,
    temperatureAt,
    voltageAt,
    dark,
    cycleAt,
  };
}
