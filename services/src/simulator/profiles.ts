// The original's consumer voltage profile and temperature model, as functions of simulated time (UTC).
// Bugs fixed: day_of_week is the real weekday (Sunday = 0, like the original README's row for Sunday
// 2019-03-17), never the day of the year; Saturday and Sunday are the weekend (the original's
// DayOfWeek.ordinal() made Monday and Sunday the weekend).

const SECONDS_PER_DAY = 86_400;
// Bound once: the hot path avoids global lookups (slow inside vm contexts such as jest's).
const { abs, cos, floor, max, min, PI } = Math;

export interface Calendar {
  /** 0 = Sunday … 6 = Saturday */
  dayOfWeek: number;
  /** 1 … 366 */
  dayOfYear: number;
  /** fractional hour of the day, 0 ≤ h < 24 */
  hour: number;
}

export function calendarOf(epoch: number): Calendar {
  const days = Math.floor(epoch / SECONDS_PER_DAY);
  const date = new Date(days * SECONDS_PER_DAY * 1000);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1) / 1000 / SECONDS_PER_DAY;
  return {
    dayOfWeek: (((days + 4) % 7) + 7) % 7, // 1970-01-01 was a Thursday
    dayOfYear: days - yearStart + 1,
    hour: (epoch - days * SECONDS_PER_DAY) / 3600,
  };
}

export function isWeekend(dayOfWeek: number): boolean {
  return dayOfWeek === 0 || dayOfWeek === 6;
}

/** Consumer voltage knots at hours 0, 3, …, 24, and their range (max − min). */
export const CONSUMER_VOLTAGE = {
  weekday: { knots: [117, 117, 118, 116, 115, 114, 116, 118, 117], range: 4 },
  weekend: { knots: [117, 117, 116, 116, 118, 119, 119, 118, 117], range: 3 },
} as const;

/** The original's RANDOMNESS: r = RANDOMNESS·(U − 0.5). */
export const RANDOMNESS = 0.2;

/** Linear interpolation between the 3-hourly knots. */
export function interpolate(knots: readonly number[], hour: number): number {
  const x = min(max(hour, 0), 24) / 3;
  const i = min(floor(x), knots.length - 2);
  return knots[i] + (knots[i + 1] - knots[i]) * (x - i);
}

/**
 * |interp(h) + 0.4·range·(r − 0.5) + bias| + 0.08·|T − 5| − 1, with r = RANDOMNESS·(u − 0.5).
 * `bias` is the meter's own small offset in volts (the original's was always 0 by integer division).
 */
export function consumerVoltage(cal: Calendar, temperature: number, u: number, bias: number): number {
  const profile = isWeekend(cal.dayOfWeek) ? CONSUMER_VOLTAGE.weekend : CONSUMER_VOLTAGE.weekday;
  const r = RANDOMNESS * (u - 0.5);
  const base = interpolate(profile.knots, cal.hour) + 0.4 * profile.range * (r - 0.5) + bias;
  return abs(base) + 0.08 * abs(temperature - 5) - 1;
}

/** −22·cos(2π(doy−1)/365) + cos(2π(dow−1)/6) − 5·cos(2π·h/23) + 2u, in °C. */
export function temperature(cal: Calendar, u: number): number {
  return (
    -22 * cos((2 * PI * (cal.dayOfYear - 1)) / 365) +
    cos((2 * PI * (cal.dayOfWeek - 1)) / 6) -
    5 * cos((2 * PI * cal.hour) / 23) +
    2 * u
  );
}
