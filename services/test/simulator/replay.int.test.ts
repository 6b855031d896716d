// The UCI replay source against the real NATS and Cassandra, with ingest and the stream job running as in
// production: small files in exactly the data set's published format (header, d/m/yyyy dates, `?` for
// missing values, a day change) are replayed onto the original subjects and wire format; raw_data holds one
// row per meter and recorded minute with the voltage moved from 230 V to 120 V, the missing rows are skipped
// and counted, and the stream job's windows and alerts are those of the mapped readings.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';
import { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { Ingest, startIngest } from '../../src/ingest/ingest';
import { createReplayMetrics, runReplay } from '../../src/replay/replay';
import { UCI_HEADER } from '../../src/replay/uci';
import { createInjectorMetrics } from '../../src/simulator/publisher';
import { RunningJob, startJob, stopJob, testSettings } from '../streaming/support';
import { backingEnv, requireService, testDelivery } from '../support/backing';
import {
  countRows,
  freshKeyspace,
  STREAM_MAX_BYTES,
  metricValue,
  natsConnect,
  quietLog,
  testIngestSettings,
  uniqueName,
  pollUntil,
} from '../ingest/support';

jest.setTimeout(120_000);

const env = backingEnv();
const keyspace = uniqueName('replay_');
const root = uniqueName('replay');
let cassandra: Client;
let nc: NatsConnection;
let ingestNc: NatsConnection;
let ingest: Ingest;
let stream: RunningJob;

// Household 1: 23:57 on 16 December 2006 to 00:03 the next day; 23:59 is missing entirely (as the set
// marks a recorder outage) and 00:01 has only its voltage missing.
const HOUSEHOLD_1 = [
  UCI_HEADER,
  '16/12/2006;23:57:00;2.532;0.000;241.590;10.400;0.000;1.000;17.000',
  '16/12/2006;23:58:00;2.488;0.082;241.440;10.200;0.000;2.000;18.000',
  '16/12/2006;23:59:00;?;?;?;?;?;?;',
  '17/12/2006;00:00:00;1.044;0.152;242.730;4.400;0.000;0.000;0.000',
  '17/12/2006;00:01:00;1.520;0.226;?;6.200;0.000;1.000;0.000',
  '17/12/2006;00:02:00;3.384;0.282;240.010;14.000;0.000;37.000;17.000',
  '17/12/2006;00:03:00;3.270;0.152;239.210;13.600;1.000;36.000;17.000',
];
// Household 2 starts a minute later and has no gap.
const HOUSEHOLD_2 = [
  UCI_HEADER,
  '16/12/2006;23:58:00;0.374;0.084;235.010;1.600;0.000;1.000;0.000',
  '16/12/2006;23:59:00;0.370;0.086;234.960;1.600;0.000;0.000;0.000',
  '17/12/2006;00:00:00;0.368;0.090;235.800;1.600;0.000;1.000;0.000',
];
const START = Date.UTC(2006, 11, 16, 23, 57) / 1000;

/** The rows of both files that are not missing, as the test expects them stored: household h is transformer h. */
function recordedRows() {
  return [HOUSEHOLD_1, HOUSEHOLD_2].flatMap((lines, h) =>
    lines
      .slice(1)
      .filter((line) => !line.includes('?'))
      .map((line) => {
        const fields = line.split(';');
        const [day, month, year] = fields[0].split('/').map(Number);
        const [hour, minute] = fields[1].split(':').map(Number);
        return {
          transformer: h + 1,
          fields,
          year,
          month,
          day,
          hour,
          minute,
          epoch: Date.UTC(year, month - 1, day, hour, minute) / 1000,
          mappedVoltage: (Number(fields[4]) * 120) / 230,
        };
      }),
  );
}

function writeHousehold(dir: string, name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.join('\r\n') + '\r\n'); // the published file's line ends
  return path;
}

beforeAll(async () => {
  await requireService('nats', env.natsUrl);
  await requireService('cassandra', env.cassandraContactPoints[0]);
  cassandra = await freshKeyspace(env, keyspace);
  [nc, ingestNc] = await Promise.all([natsConnect(env, 'replay-test'), natsConnect(env, 'replay-ingest')]);
  ingest = await startIngest(
    { nc: ingestNc, cassandra, keyspace, log: quietLog, registry: new Registry() },
    testIngestSettings(root),
  );
  stream = await startJob(env, testSettings(root, { streamMaxBytes: STREAM_MAX_BYTES }), cassandra, keyspace);
}, 120_000);

afterAll(async () => {
  if (stream) await stopJob(stream);
  await ingest?.stop();
  await ingestNc?.drain();
  const jsm = await nc?.jetstreamManager();
  const state = testSettings(root).statePrefix;
  for (const name of [root.toUpperCase(), `KV_${state}-lease`, `KV_${state}-checkpoint`]) {
    await jsm?.streams.delete(name).catch(() => undefined);
  }
  await nc?.drain();
  await cassandra?.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await cassandra?.shutdown();
});

test('recorded households reach raw_data as meters, voltage mapped to 120 V, missing rows skipped and counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'uci-'));
  const files = [
    writeHousehold(dir, 'household_power_consumption.txt', HOUSEHOLD_1),
    writeHousehold(dir, 'second.txt', HOUSEHOLD_2),
  ];
  const registry = new Registry();
  const replayMetrics = createReplayMetrics(registry);
  // The clock reads 23:57 on 16/12/2006 two seconds from now; 3,600×: a recorded minute every 1/60 s.
  const stats = await runReplay(
    testDelivery(nc),
    {
      files,
      metersPerHousehold: 2,
      slot: 3,
      seed: 7,
      start: START,
      anchor: Date.now() / 1000 + 2, // ahead of the start, even on a busy machine
      acceleration: 3600,
      recordedNominalVoltage: 230,
      nominalVoltage: 120,
      subjectRoot: root,
    },
    { metrics: createInjectorMetrics(registry), replayMetrics, log: quietLog },
  );
  expect(stats.ended).toBe(true);
  expect(stats.skipped).toEqual({ missing: 2, malformed: 0, out_of_order: 0 });
  expect(await metricValue(registry, 'smartmeter_inject_replay_skipped_total', { reason: 'missing' })).toBe(
    2,
  );
  expect(await metricValue(registry, 'smartmeter_inject_replay_finished')).toBe(1);
  // 5 rows of household 1 and 3 of household 2, each as 2 meters.
  expect(stats.published.voltage).toBe((5 + 3) * 2);
  expect(await metricValue(registry, 'smartmeter_inject_readings_total', { kind: 'voltage' })).toBe(16);

  const rows = await pollUntil(
    () => countRows(cassandra, keyspace),
    (n) => n >= 16,
    60_000,
  );
  expect(rows).toBe(16);
  const result = await cassandra.execute(
    `SELECT line, transformer, usagepoint, year, month, day, hour, minute, day_of_week, voltage, demand,
            val3, val4, val5, val6, val7, val8, val12 FROM ${keyspace}.raw_data`,
  );
  const stored = new Map(
    result.rows.map((r) => [
      `${r.line}.${r.transformer}.${r.usagepoint} ${r.year}-${r.month}-${r.day} ${r.hour}:${r.minute}`,
      r,
    ]),
  );
  for (const r of recordedRows()) {
    for (const usagePoint of [1, 2]) {
      // Slot 3: line 31; household h is transformer h, its copies usage points 1 and 2.
      const row = stored.get(
        `31.${r.transformer}.${usagePoint} ${r.year}-${r.month}-${r.day} ${r.hour}:${r.minute}`,
      );
      expect(row).toBeDefined();
      expect(row!.voltage).toBeCloseTo(r.mappedVoltage, 4);
      expect(row!.demand).toBeCloseTo(Number(r.fields[2]), 5);
      expect([row!.val3, row!.val4, row!.val5, row!.val6, row!.val7]).toEqual(
        [3, 5, 6, 7, 8].map((i) => Math.fround(Number(r.fields[i]))),
      );
      expect([row!.val8, row!.val12]).toEqual([0, 0]);
      // 16/12/2006 was a Saturday, the 17th a Sunday.
      expect(row!.day_of_week).toBe(r.day === 16 ? 6 : 0);
    }
  }
  // Nothing for the missing minutes of household 1.
  expect(stored.has('31.1.1 2006-12-16 23:59')).toBe(false);
  expect(stored.has('31.1.1 2006-12-17 0:1')).toBe(false);

  // The stream job: per recorded minute the max of the mapped voltages, and an alert per household and
  // minute (its two meters read the same voltage, and every one here is above 120 V once mapped).
  const epochs = [...new Set(recordedRows().map((r) => r.epoch))];
  const maxVoltage = async (epoch: number) =>
    (
      await cassandra.execute(`SELECT voltage FROM ${keyspace}.max_voltage WHERE epoch = ?`, [epoch], {
        prepare: true,
      })
    ).first()?.voltage as number | undefined;
  await pollUntil(
    () => maxVoltage(Math.max(...epochs)),
    (v) => v !== undefined,
    60_000,
  );
  for (const epoch of epochs) {
    const volts = recordedRows()
      .filter((r) => r.epoch === epoch)
      .map((r) => Math.fround(r.mappedVoltage));
    expect(await maxVoltage(epoch)).toBeCloseTo(Math.max(...volts), 4);
  }
  const alerts = await cassandra.execute(
    `SELECT transformer, window_start, readings_over FROM ${keyspace}.voltage_alerts
     WHERE line = 31 AND transformer IN (1, 2)`,
  );
  const alerted = alerts.rows.map((r) => `${r.transformer}@${Number(r.window_start)}:${r.readings_over}`);
  expect(recordedRows().every((r) => r.mappedVoltage > 120)).toBe(true);
  const perHousehold = recordedRows().map((r) => `${r.transformer}@${r.epoch}:2`);
  expect(alerted.sort()).toEqual(perHousehold.sort());
});
