import { rawDataInsert, rawDataParams, temperatureInsert, temperatureParams } from '../../src/ingest/rows';

const values = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

test('a voltage reading becomes raw_data values in column order, simulated UTC time, Sunday = 0', () => {
  const epoch = Date.UTC(2024, 2, 10, 14, 37, 59) / 1000; // Sunday 10 March 2024, 14:37:59 UTC
  const params = rawDataParams(
    { line: 7, transformer: 2, usagePoint: 31 },
    { epoch, voltage: 118.5, demand: 1.25, values },
  );
  expect(params).toEqual([7, 2, 31, 2024, 3, 10, 14, 37, 0, 1.25, ...values, 118.5]);
  const saturday = rawDataParams(
    { line: 1, transformer: 1, usagePoint: 1 },
    { epoch: Date.UTC(2023, 11, 30, 23, 59) / 1000, voltage: 1, demand: 1, values },
  );
  expect(saturday.slice(3, 9)).toEqual([2023, 12, 30, 23, 59, 6]);
});

test('the insert statements name the keyspace and bind every column once', () => {
  const raw = rawDataInsert('ks1');
  expect(raw).toMatch(/^INSERT INTO ks1\.raw_data \(line, transformer, usagepoint, year, month, day, hour/);
  expect(raw.match(/\?/g)).toHaveLength(21);
  expect(temperatureInsert('ks1')).toBe('INSERT INTO ks1.temperature (epoch, temperature) VALUES (?, ?)');
  expect(temperatureParams({ epoch: 1700000000, temperature: -3.5 })).toEqual([1700000000, -3.5]);
});
