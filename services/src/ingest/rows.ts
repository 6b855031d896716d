// What ingest writes: a voltage reading becomes one raw_data row keyed by (meter, simulated UTC minute),
// a temperature reading one temperature row keyed by its epoch. Both are idempotent upserts, so a
// redelivered message rewrites the same row instead of adding one.
import { RAW_DATA_COLUMNS } from '../storage/schema';
import { MeterId, TemperatureReading, VoltageReading } from '../wire/codec';

export function rawDataInsert(keyspace: string): string {
  const marks = RAW_DATA_COLUMNS.map(() => '?').join(', ');
  return `INSERT INTO ${keyspace}.raw_data (${RAW_DATA_COLUMNS.join(', ')}) VALUES (${marks})`;
}

export function temperatureInsert(keyspace: string): string {
  return `INSERT INTO ${keyspace}.temperature (epoch, temperature) VALUES (?, ?)`;
}

/** Bind values for rawDataInsert, in column order. Simulated time is UTC; day_of_week has Sunday = 0. */
export function rawDataParams(meter: MeterId, r: VoltageReading): number[] {
  const t = new Date(r.epoch * 1000);
  const v = r.values;
  // Written out rather than spread: this runs once per stored reading.
  return [
    meter.line,
    meter.transformer,
    meter.usagePoint,
    t.getUTCFullYear(),
    t.getUTCMonth() + 1,
    t.getUTCDate(),
    t.getUTCHours(),
    t.getUTCMinutes(),
    t.getUTCDay(),
    r.demand,
    v[0],
    v[1],
    v[2],
    v[3],
    v[4],
    v[5],
    v[6],
    v[7],
    v[8],
    v[9],
    r.voltage,
  ];
}

export function temperatureParams(r: TemperatureReading): [number, number] {
  return [r.epoch, r.temperature];
}
