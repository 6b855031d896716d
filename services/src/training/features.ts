// What the model sees of one simulated epoch: the time of day as a point on a circle (so 23:45 is next to
// 00:00), a weekend flag, and the temperature standardised with statistics of the training range only
// (the held-out range must not leak into the scaling). The label is the epoch's max voltage above the
// threshold (116 V in the original).
export interface Observation {
  /** Simulated time, epoch seconds (UTC). */
  epoch: number;
  /** Max voltage over all meters at that epoch. */
  voltage: number;
  temperature: number;
}

export interface Scaler {
  temperatureMean: number;
  temperatureStd: number;
}

export const FEATURE_NAMES = ['hour_sin', 'hour_cos', 'weekend', 'temperature'] as const;
export const FEATURE_COUNT = FEATURE_NAMES.length;
/** The first features are the calendar's, the rest the temperature's (the model has a branch for each). */
export const CALENDAR_FEATURE_COUNT = 3;

/** Hour of day (fractional, UTC) and whether the day is a Saturday or Sunday. */
export function calendar(epoch: number): { hour: number; weekend: boolean } {
  const d = new Date(epoch * 1000);
  const day = d.getUTCDay();
  return { hour: d.getUTCHours() + d.getUTCMinutes() / 60, weekend: day === 0 || day === 6 };
}

export function fitScaler(rows: readonly Pick<Observation, 'temperature'>[]): Scaler {
  if (rows.length === 0) throw new Error('cannot fit the temperature scaling on zero rows');
  const mean = rows.reduce((s, r) => s + r.temperature, 0) / rows.length;
  const variance = rows.reduce((s, r) => s + (r.temperature - mean) ** 2, 0) / rows.length;
  // A constant temperature would divide by zero; 1 keeps the feature centred and harmless.
  return { temperatureMean: mean, temperatureStd: Math.sqrt(variance) || 1 };
}

export function features(epoch: number, temperature: number, scaler: Scaler): number[] {
  const { hour, weekend } = calendar(epoch);
  const angle = (2 * Math.PI * hour) / 24;
  return [
    Math.sin(angle),
    Math.cos(angle),
    weekend ? 1 : 0,
    (temperature - scaler.temperatureMean) / scaler.temperatureStd,
  ];
}

export function label(voltage: number, thresholdV: number): 0 | 1 {
  return voltage > thresholdV ? 1 : 0;
}
