// The UCI replay parser on hostile text (issue 23): any line is a row that says what the line says, or a
// skip reason; any file is read to its end in order; nothing throws.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { fuzz, fuzzTimeoutMs } from '../../../tests/fuzz/support';
import { HouseholdCursor, parseUciLine, SkipReason, UciRow } from '../../src/replay/uci';
import { EPOCH_S, within } from '../../src/wire/bounds';

const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer({ min: 0, max: 300 }).map(String),
  fc.constantFrom('0.000', '234.840', '-1', '1e3', '?', '', ' ', 'x', 'NaN', 'Infinity', '0x10', '.5'),
);
const pad = (n: number) => String(n).padStart(2, '0');

/** Lines in the published layout, with every field drawn past its valid range now and then. */
const line = fc
  .record({
    day: fc.integer({ min: 0, max: 32 }),
    month: fc.integer({ min: 0, max: 13 }),
    year: fc.oneof(fc.integer({ min: 1960, max: 2100 }), fc.integer({ min: 0, max: 9999 })),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 99 }),
    values: fc.array(number, { minLength: 7, maxLength: 7 }),
  })
  .map((f) => ({
    ...f,
    text: `${f.day}/${f.month}/${String(f.year).padStart(4, '0')};${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)};${f.values.join(';')}`,
  }));

/** What the line says: its UTC minute (no two-digit-year shortcut), or why it is no row. */
function expected(f: {
  day: number;
  month: number;
  year: number;
  hour: number;
  minute: number;
  second: number;
  values: string[];
}): Pick<UciRow, 'epoch' | 'voltage'> | SkipReason {
  if (f.values.some((v) => v.trim() === '?')) return 'missing';
  const date = new Date(0);
  date.setUTCFullYear(f.year, f.month - 1, f.day);
  const validDate = f.month >= 1 && f.month <= 12 && date.getUTCDate() === f.day;
  if (!validDate || f.hour > 23 || f.minute > 59 || f.second > 59) return 'malformed';
  const values = f.values.map((v) => (v.trim() === '' ? NaN : Number(v)));
  if (!values.every(Number.isFinite)) return 'malformed';
  date.setUTCHours(f.hour, f.minute, 0, 0);
  const epoch = date.getTime() / 1000;
  if (!within(epoch, EPOCH_S)) return 'malformed';
  return { epoch, voltage: values[2] };
}

test(
  'a line in the layout: the row it says, or the reason it is none',
  () =>
    fuzz(
      'UCI lines',
      fc.property(line, (l) => {
        const row = parseUciLine(l.text);
        const want = expected(l);
        if (typeof want === 'string') expect(row).toBe(want);
        else expect(row).toMatchObject(want);
      }),
    ),
  fuzzTimeoutMs(1),
);

test(
  'any text: a plausible row or a skip reason, never an exception',
  () =>
    fuzz(
      'UCI arbitrary text',
      fc.property(
        fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 120 })),
        (text) => {
          const row = parseUciLine(text);
          if (typeof row === 'string') return expect(['missing', 'malformed']).toContain(row);
          expect(Number.isInteger(row.epoch / 60) && within(row.epoch, EPOCH_S)).toBe(true);
          const values = [row.activePower, row.reactivePower, row.voltage, row.intensity, ...row.subMetering];
          expect(values.every(Number.isFinite)).toBe(true);
        },
      ),
    ),
  fuzzTimeoutMs(1),
);

test(
  'any file: read to its end, rows in strictly increasing minutes, every other line skipped and counted',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uci-fuzz-'));
    let n = 0;
    try {
      await fuzz(
        'UCI files',
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              line.map((l) => l.text),
              fc.string({ maxLength: 40 }),
              fc.constant(''),
            ),
            {
              maxLength: 30,
            },
          ),
          fc.constantFrom('\n', '\r\n', '\r'),
          async (lines, eol) => {
            const path = join(dir, `h${n++}.txt`);
            writeFileSync(path, lines.join(eol));
            const skipped: number[] = [];
            const cursor = new HouseholdCursor(path, (_, at) => skipped.push(at));
            const rows: UciRow[] = [];
            for (let row = await cursor.peek(); row; row = await cursor.peek()) {
              rows.push(row);
              await cursor.at(row.epoch);
            }
            expect(cursor.ended).toBe(true);
            rows.forEach((r, i) => i > 0 && expect(r.epoch).toBeGreaterThan(rows[i - 1].epoch));
            expect(new Set(skipped).size).toBe(skipped.length); // each line at most once
            rmSync(path);
          },
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  fuzzTimeoutMs(1),
);
