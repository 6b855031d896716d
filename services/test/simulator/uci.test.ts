// The UCI household power format, line by line, and the replay source's settings.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, EnvReader } from '../../src/lib/config';
import { replayConfig } from '../../src/replay/config';
import { minuteGrid, toVoltageReading } from '../../src/replay/replay';
import { HouseholdCursor, parseUciLine, SkipReason, UCI_HEADER } from '../../src/replay/uci';

test('a published line: d/m/yyyy dates, read as UTC minutes', () => {
  expect(parseUciLine('16/12/2006;17:24:00;4.216;0.418;234.840;18.400;0.000;1.000;17.000')).toEqual({
    epoch: Date.UTC(2006, 11, 16, 17, 24) / 1000,
    activePower: 4.216,
    reactivePower: 0.418,
    voltage: 234.84,
    intensity: 18.4,
    subMetering: [0, 1, 17],
  });
  // The file does not pad days and months.
  expect(parseUciLine('1/2/2007;00:00:00;0.3;0.1;240.1;1.4;0;0;0\r')).toMatchObject({
    epoch: Date.UTC(2007, 1, 1) / 1000,
  });
});

test.each([
  ['21/12/2006;11:23:00;?;?;?;?;?;?;', 'missing'],
  ['28/4/2007;00:21:00;0.3;0.1;?;1.4;0;0;0', 'missing'],
  ['31/2/2007;00:21:00;0.3;0.1;240;1.4;0;0;0', 'malformed'],
  ['2007-02-01;00:21:00;0.3;0.1;240;1.4;0;0;0', 'malformed'],
  ['1/2/2007;24:00:00;0.3;0.1;240;1.4;0;0;0', 'malformed'],
  ['1/2/2007;00:21:00;0.3;0.1;240;1.4;0;0', 'malformed'],
  ['1/2/2007;00:21:00;0.3;x;240;1.4;0;0;0', 'malformed'],
  // Found by the fuzz suite (issue 23): seconds past 59 rolled into the next minute; dates before 1970
  // gave negative epochs the wire refuses, years below 100 read as 19xx.
  ['1/2/2007;00:21:60;0.3;0.1;240;1.4;0;0;0', 'malformed'],
  ['1/1/1969;23:59:00;0.3;0.1;240;1.4;0;0;0', 'malformed'],
  ['1/1/0099;00:00:00;0.3;0.1;240;1.4;0;0;0', 'malformed'],
])('%s is skipped as %s', (line, reason) => {
  expect(parseUciLine(line)).toBe(reason);
});

test('a cursor reads forward, passes over earlier rows and skips repeated minutes', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'uci-')), 'h.txt');
  const row = (time: string) => `16/12/2006;${time};1;0;230;4;0;0;0`;
  writeFileSync(
    path,
    [UCI_HEADER, row('10:00:00'), row('10:01:00'), row('10:01:00'), row('10:03:00'), ''].join('\n'),
  );
  const skipped: [SkipReason, number][] = [];
  const cursor = new HouseholdCursor(path, (reason, line) => skipped.push([reason, line]));
  const at = (hh: number, mm: number) => cursor.at(Date.UTC(2006, 11, 16, hh, mm) / 1000);
  expect(await at(10, 1)).toMatchObject({ epoch: Date.UTC(2006, 11, 16, 10, 1) / 1000 });
  expect(cursor.earlierRows).toBe(1);
  expect(await at(10, 2)).toBeUndefined();
  expect(skipped).toEqual([['out_of_order', 4]]);
  expect(await at(10, 3)).toBeDefined();
  expect(await cursor.peek()).toBeUndefined();
});

test('the wire reading: voltage to the stack nominal, demand the active power, the rest in val3…', () => {
  const row = parseUciLine('16/12/2006;17:24:00;4.216;0.418;234.840;18.400;0.000;1.000;17.000');
  if (typeof row === 'string') throw new Error(row);
  const settings = { recordedNominalVoltage: 230, nominalVoltage: 120 } as Parameters<
    typeof toVoltageReading
  >[1];
  expect(toVoltageReading(row, settings)).toEqual({
    epoch: row.epoch,
    voltage: (234.84 * 120) / 230,
    demand: 4.216,
    values: [0.418, 18.4, 0, 1, 17, 0, 0, 0, 0, 0],
  });
});

test('the minute grid: one recorded minute every 60/acceleration s on the stack clock', () => {
  const start = Date.UTC(2006, 11, 16, 17, 24) / 1000;
  const grid = minuteGrid({ start, anchor: 1_000_000, acceleration: 13 }); // 60/13 is not exact
  expect([0, 1, 2, 1000].map(grid.epochOf)).toEqual([start, start + 60, start + 120, start + 60_000]);
  expect(grid.firstCycle(1_000_000)).toBe(0);
  expect(grid.firstCycle(1_000_000 + 60 / 13)).toBe(1);
  expect(grid.dueAt(13)).toBeCloseTo(1_000_060, 6);
});

test('replay settings name the variable at fault', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'uci-')), 'h.txt');
  writeFileSync(file, UCI_HEADER + '\n');
  const config = (env: Record<string, string>) => replayConfig(new EnvReader(env), 1_000_000);
  // Without an anchor the replay starts at INJECT_START in a second or two (now is 1,000,000 here).
  expect(config({ INJECT_UCI_FILES: file, INJECT_START: '2006-12-16' })).toMatchObject({
    files: [file],
    metersPerHousehold: 1,
    recordedNominalVoltage: 230,
    nominalVoltage: 120,
    start: Date.UTC(2006, 11, 16) / 1000,
    anchor: 1_000_001,
    acceleration: 900,
  });
  expect(() => config({ INJECT_UCI_FILES: file })).toThrow(
    /^INJECT_START is required with INJECT_SOURCE=uci/,
  );
  expect(() =>
    config({
      INJECT_UCI_FILES: file,
      INJECT_START: '2006-12-16',
      INJECT_CLOCK_ANCHOR: '0',
      INJECT_ACCELERATION: '10000000',
    }),
  ).toThrow(/INJECT_START, INJECT_CLOCK_ANCHOR, INJECT_ACCELERATION: the simulated time now/);
  expect(() => config({})).toThrow(
    new ConfigError('INJECT_UCI_FILES is required with INJECT_SOURCE=uci: one file per household'),
  );
  expect(() => config({ INJECT_UCI_FILES: '/nope.txt', INJECT_START: '2006-12-16' })).toThrow(
    /INJECT_UCI_FILES: cannot read \/nope.txt/,
  );
  expect(() =>
    config({ INJECT_UCI_FILES: file, INJECT_UCI_METERS_PER_HOUSEHOLD: '0', INJECT_START: '0' }),
  ).toThrow(/INJECT_UCI_METERS_PER_HOUSEHOLD/);
});
