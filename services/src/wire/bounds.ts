// Plausibility bounds of the raw quantities, in one place. The wire decoders (codec.ts) apply them, so
// ingest, the stream job and predict's forecasts refuse the same readings; predict's request parser uses
// them too. How far ahead of the others a reading may be is not a property of one reading: the stream job
// judges it (streaming/windows.ts, STREAM_MAX_AHEAD_S).
import { WireError } from './errors';

export interface Range {
  min: number;
  max: number;
}

/**
 * Volts. An RMS voltage is never negative (0 V: a dead line); 1,000 V AC is the top of the low-voltage range
 * (IEC 60038, the EU Low Voltage Directive) that household meters are built for. The simulator publishes
 * about 120 V (over-voltage events 121–125 V), a replay scales recordings to the same nominal.
 */
export const VOLTAGE_V: Range = { min: 0, max: 1000 };

/**
 * Degrees Celsius: what predict accepts (beyond Earth's records, −89.2 °C and 56.7 °C, with a margin), so a
 * stored temperature can always be asked about.
 */
export const TEMPERATURE_C: Range = { min: -100, max: 100 };

/**
 * Epoch seconds, 1970 to the end of year 9999: rows carry year/month/day columns and ISO dates with
 * four-digit years. No tighter: simulated time legitimately runs centuries ahead (900× for a real year is
 * 900 simulated years).
 */
export const EPOCH_S: Range = { min: 0, max: 253_402_300_799 };

export const within = (v: number, r: Range): boolean => v >= r.min && v <= r.max;

/** A finite number in `range`: else WireError `value` (not a number) or `range` (physically impossible). */
export function plausible(name: string, v: number, range: Range, unit: string): number {
  if (!Number.isFinite(v)) throw new WireError('value', `${name} is not a finite number`);
  if (!within(v, range)) {
    throw new WireError('range', `${name} ${v} ${unit} is outside [${range.min}, ${range.max}] ${unit}`);
  }
  return v;
}

export function checkEpoch(epoch: number): number {
  if (!(Number.isInteger(epoch) && within(epoch, EPOCH_S)))
    throw new WireError('epoch', `epoch ${epoch} out of range [${EPOCH_S.min}, ${EPOCH_S.max}]`);
  return epoch;
}
