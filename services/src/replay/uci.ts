// The UCI "Individual household electric power consumption" data set in its published format, read line
// by line (the full file is 2,075,259 rows: never loaded whole):
//   Date;Time;Global_active_power;Global_reactive_power;Voltage;Global_intensity;Sub_metering_1;Sub_metering_2;Sub_metering_3
//   16/12/2006;17:24:00;4.216;0.418;234.840;18.400;0.000;1.000;17.000
// Dates are day/month/year, times the recorder's clock, read as UTC (the set states no zone; a clock moved
// back for daylight saving repeats an hour, whose second pass is skipped as out of order). A field `?` is a
// missing value: the row is skipped and counted, as is a line that does not parse or is dated before 1970.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { EPOCH_S, within } from '../wire/bounds';

export const UCI_HEADER =
  'Date;Time;Global_active_power;Global_reactive_power;Voltage;Global_intensity;Sub_metering_1;Sub_metering_2;Sub_metering_3';

export interface UciRow {
  /** Epoch seconds of the recorded minute. */
  epoch: number;
  /** kW, the household's minute-averaged active power. */
  activePower: number;
  /** kW */
  reactivePower: number;
  /** V, minute-averaged (230 V nominal). */
  voltage: number;
  /** A */
  intensity: number;
  /** Wh of active energy in the minute: kitchen, laundry, water heater and air conditioning. */
  subMetering: [number, number, number];
}

export type SkipReason = 'missing' | 'malformed' | 'out_of_order';
export const SKIP_REASONS: readonly SkipReason[] = ['missing', 'malformed', 'out_of_order'];

const DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const TIME = /^(\d{1,2}):(\d{2}):(\d{2})$/;

/** One data line → a row, or why it is skipped (out of order is the cursor's call). */
export function parseUciLine(line: string): UciRow | Exclude<SkipReason, 'out_of_order'> {
  const fields = line.trim().split(';');
  if (fields.length !== 9) return 'malformed';
  if (fields.some((f) => f.trim() === '?')) return 'missing';
  const d = DATE.exec(fields[0]);
  const t = TIME.exec(fields[1]);
  if (!d || !t) return 'malformed';
  const [day, month, year] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const [hour, minute, second] = [Number(t[1]), Number(t[2]), Number(t[3])];
  // setUTCFullYear, not Date.UTC, which reads years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (
    date.getUTCDate() !== day ||
    date.getUTCMonth() !== month - 1 ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return 'malformed';
  }
  const ms = date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000;
  if (!within(ms / 1000, EPOCH_S)) return 'malformed'; // before 1970: no epoch the wire carries
  const values = fields.slice(2).map((f) => (f.trim() === '' ? NaN : Number(f)));
  if (values.some((v) => !Number.isFinite(v))) return 'malformed';
  const [activePower, reactivePower, voltage, intensity, s1, s2, s3] = values;
  return {
    epoch: Math.floor(ms / 60_000) * 60,
    activePower,
    reactivePower,
    voltage,
    intensity,
    subMetering: [s1, s2, s3],
  };
}

/**
 * One household's file read forward: `at(epoch)` gives the row recorded at that minute, if any, passing
 * over earlier rows (a replay that starts, or restarts, later in the recording).
 */
export class HouseholdCursor {
  private readonly lines: AsyncIterator<string>;
  private pending: UciRow | undefined;
  private lastEpoch = -Infinity;
  private lineNumber = 0;
  /** True once the file has no more rows. */
  ended = false;
  /** Rows not replayed because the replay's clock was already past them. */
  earlierRows = 0;

  constructor(
    readonly path: string,
    private readonly onSkip: (reason: SkipReason, line: number) => void,
  ) {
    const input = createReadStream(path, { encoding: 'utf8' });
    this.lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
  }

  /** The next row without taking it (undefined at the end of the file). */
  async peek(): Promise<UciRow | undefined> {
    while (!this.pending && !this.ended) {
      const next = await this.lines.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      this.lineNumber++;
      const line = next.value;
      if (line.trim() === '' || (this.lineNumber === 1 && line.startsWith('Date;'))) continue;
      const row = parseUciLine(line);
      if (typeof row === 'string') {
        this.onSkip(row, this.lineNumber);
      } else if (row.epoch <= this.lastEpoch) {
        this.onSkip('out_of_order', this.lineNumber);
      } else {
        this.lastEpoch = row.epoch;
        this.pending = row;
      }
    }
    return this.pending;
  }

  /** The row recorded at `epoch` (a whole minute), or undefined when there is none. */
  async at(epoch: number): Promise<UciRow | undefined> {
    for (;;) {
      const row = await this.peek();
      if (!row || row.epoch > epoch) return undefined;
      this.pending = undefined;
      if (row.epoch === epoch) return row;
      this.earlierRows++;
    }
  }
}
