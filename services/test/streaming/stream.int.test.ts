// The stream job against the real NATS (JetStream) and Cassandra: window results as rows and JSON
// extracts, late readings and a backlog behind the watermark (amended into stored rows, once, also after a
// restart from an older checkpoint), alerts, dead letters, and two instances (with a crash of the active
// one) giving exactly what one gives. Every test has its own stream, subjects, buckets and
// epochs/lines; expectations are computed from the input, waits are bounded polls.
import { Client } from 'cassandra-driver';
import {
  collectExtracts,
  counterValues,
  freshKeyspace,
  publishAll,
  RawMessage,
  stopJob,
  storedMaxVoltage,
  temperature,
  testSettings,
  uniqueName,
  useStreamBacking,
  voltage,
  waitFor,
} from './support';

const backing = useStreamBacking('stream_');
const { env, keyspace } = backing;
const DAY = Date.UTC(2024, 2, 4) / 1000; // a Monday, 00:00 UTC
const CYCLE = 900; // one cycle at the default 900x acceleration

const start = (root: string, overrides = {}, ks = keyspace, client = backing.cassandra) =>
  backing.start(testSettings(root, overrides), ks, client);

const rows = async (cql: string, params: unknown[] = [], client = backing.cassandra) =>
  (await client.execute(cql, params, { prepare: true })).rows;

const maxVoltage = (epoch: number) => storedMaxVoltage(backing, epoch);

/** A cycle: readings of meters on `lines` x transformers 1..3 x usage points 1..4, varying with k. */
function cycle(root: string, epoch: number, lines: number[], k: number): RawMessage[] {
  const out: RawMessage[] = [temperature(root, epoch, -3 + k)];
  for (const line of lines)
    for (let transformer = 1; transformer <= 3; transformer++)
      for (let usagePoint = 1; usagePoint <= 4; usagePoint++) {
        const volts = 113 + ((line * 7 + transformer * 5 + usagePoint * 3 + k * 11) % 60) / 10;
        out.push(voltage(root, { line, transformer, usagePoint }, epoch, volts));
      }
  return out;
}

function decode(messages: RawMessage[]) {
  return messages.map((m) => {
    const dv = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    const parts = m.subject.split('.');
    return {
      epoch: Number(dv.getBigInt64(0)),
      value: dv.getFloat32(8),
      isVoltage: parts[2] === 'voltage',
      line: Number(parts[4]),
      transformer: Number(parts[5]),
    };
  });
}

test('per epoch: max voltage overall and per line, temperature; daily average per transformer', async () => {
  const root = uniqueName('sta');
  const extracts = collectExtracts(backing.nc, root);
  const lines = [1, 2];
  const epochs = [DAY, DAY + CYCLE, DAY + 2 * CYCLE];
  const input = epochs.flatMap((e, k) => cycle(root, e, lines, k));
  await start(root);
  await publishAll(backing.js, input);
  // The last epoch is written when input goes idle.
  await waitFor('the last epoch', () => maxVoltage(epochs[2]), 60_000);

  const readings = decode(input);
  const volts = readings.filter((r) => r.isVoltage);
  for (const e of epochs) {
    const expected = Math.max(...volts.filter((r) => r.epoch === e).map((r) => r.value));
    expect(await maxVoltage(e)).toBeCloseTo(expected, 4);
    const published = extracts.get('extract.voltage.max')!.filter((j) => j.epoch === e);
    expect(published.at(-1)!.voltage).toBeCloseTo(expected, 4);
    const temp = readings.find((r) => !r.isVoltage && r.epoch === e)!.value;
    const [t] = await rows(`SELECT temperature FROM ${keyspace}.temperature WHERE epoch = ?`, [e]);
    expect(t.temperature).toBeCloseTo(temp, 4);
    expect(extracts.get('extract.temperature.max')!.find((j) => j.epoch === e)!.temperature).toBeCloseTo(
      temp,
      4,
    );
    for (const line of lines) {
      const lineMax = Math.max(...volts.filter((r) => r.epoch === e && r.line === line).map((r) => r.value));
      const [row] = await rows(
        `SELECT voltage FROM ${keyspace}.max_voltage_by_line WHERE line = ? AND epoch = ?`,
        [line, e],
      );
      expect(row.voltage).toBeCloseTo(lineMax, 4);
    }
  }
  for (const line of lines)
    for (let transformer = 1; transformer <= 3; transformer++) {
      const mine = volts.filter((r) => r.line === line && r.transformer === transformer).map((r) => r.value);
      const [row] = await rows(
        `SELECT voltage_avg, readings FROM ${keyspace}.avg_voltage_by_transformer
         WHERE line = ? AND transformer = ? AND year = 2024 AND month = 3 AND day = 4`,
        [line, transformer],
      );
      expect(Number(row.readings)).toBe(mine.length);
      expect(row.voltage_avg).toBeCloseTo(mine.reduce((a, b) => a + b, 0) / mine.length, 3);
    }
}, 90_000);

test('late readings update and re-emit their window; one behind the watermark amends its stored row', async () => {
  const root = uniqueName('stl');
  const extracts = collectExtracts(backing.nc, root);
  const base = DAY + 86_400; // its own epochs
  const meter = { line: 40, transformer: 1, usagePoint: 1 };
  const { job, registry } = await start(root, { allowedLatenessS: CYCLE });
  await publishAll(backing.js, [
    voltage(root, meter, base, 115),
    voltage(root, meter, base + CYCLE, 116),
    voltage(root, meter, base + 2 * CYCLE, 114),
  ]);
  await waitFor('epoch 2 written', async () => (await maxVoltage(base + CYCLE)) === 116);
  const last = await publishAll(backing.js, [
    voltage(root, meter, base + CYCLE, 119), // newest is base+2C: within one cycle of lateness
    voltage(root, meter, base, 125), // two cycles behind: its window was written and forgotten
  ]);
  await waitFor('late reading applied', async () => (await maxVoltage(base + CYCLE)) === 119);
  await waitFor('caught up', () => job.checkpointedSeq >= last);
  expect(await maxVoltage(base)).toBe(125);
  for (const [epoch, published] of [
    [base + CYCLE, [116, 119]],
    [base, [115, 125]],
  ] as const) {
    const sent = extracts.get('extract.voltage.max')!.filter((j) => j.epoch === epoch);
    expect(sent.map((j) => j.voltage)).toEqual(published);
  }
  const outcomes = await counterValues(registry, 'smartmeter_stream_messages_total');
  expect(outcomes).toMatchObject({ on_time: 3, late: 1, amended: 1 });
  const [avg] = await rows(
    `SELECT readings FROM ${keyspace}.avg_voltage_by_transformer WHERE line = 40 AND transformer = 1 AND year = 2024 AND month = 3 AND day = 5`,
  );
  expect(Number(avg.readings)).toBe(5);
}, 90_000);

test('alerts fire for two readings above 120 V in a window, and not for one, nor for many at 119.9 V', async () => {
  const root = uniqueName('stal');
  const extracts = collectExtracts(backing.nc, root);
  const base = DAY + 2 * 86_400;
  const { job } = await start(root);
  const at = (transformer: number, usagePoint: number, v: number, e = base) =>
    voltage(root, { line: 50, transformer, usagePoint }, e, v);
  const last = await publishAll(backing.js, [
    at(1, 1, 120.5), // transformer 1: two over -> alert
    at(1, 2, 121.25),
    at(1, 3, 118),
    at(2, 1, 125), // transformer 2: one over -> none
    at(2, 2, 119),
    ...[1, 2, 3, 4, 5].map((u) => at(3, u, 119.9)), // transformer 3: many just under -> none
    at(4, 1, 121, base), // transformer 4: over in two different epochs -> none (one epoch per window)
    at(4, 1, 121, base + CYCLE),
    at(5, 1, 117, base + 2 * CYCLE), // moves event time past the epochs above
  ]);
  await waitFor('caught up', () => job.checkpointedSeq >= last);
  const alerts = await rows(
    `SELECT * FROM ${keyspace}.voltage_alerts WHERE line = 50 AND transformer IN (1, 2, 3, 4)`,
  );
  expect(
    alerts.map((r) => [
      r.transformer,
      Number(r.window_start),
      Number(r.window_end),
      r.readings_over,
      r.max_voltage,
    ]),
  ).toEqual([[1, base, base + 1, 2, 121.25]]);
  expect(extracts.get('extract.voltage.alert')).toEqual([
    {
      epoch: base,
      count: 2,
      line: 50,
      transformer: 1,
      window_start: base,
      window_end: base + 1,
      max_voltage: 121.25,
      threshold: 120,
    },
  ]);
}, 90_000);

test('malformed readings are dead-lettered with their original bytes and counted; good ones still count; forecasts never arrive', async () => {
  const root = uniqueName('std');
  const base = DAY + 3 * 86_400;
  const dead: { subject: string; data: Uint8Array; from: string | undefined }[] = [];
  const sub = backing.nc.subscribe(`${root}.deadletter.>`, {
    callback: (_, m) =>
      dead.push({ subject: m.subject, data: m.data, from: m.headers?.get('Smartmeter-Subject') }),
  });
  const { job, registry } = await start(root);
  const nan = voltage(root, { line: 60, transformer: 1, usagePoint: 1 }, base, NaN);
  const bad: RawMessage[] = [
    { subject: `${root}.raw.voltage.data.60.1.1`, data: new Uint8Array(10) },
    {
      subject: `${root}.raw.voltage.data.x.1.1`,
      data: voltage(root, { line: 1, transformer: 1, usagePoint: 1 }, base, 115).data,
    },
    nan,
    { subject: `${root}.raw.temperature.data`, data: new Uint8Array(13) },
  ];
  const good = [voltage(root, { line: 60, transformer: 1, usagePoint: 2 }, base, 117.5)];
  // Not the job's input (its consumer filters on readings): neither counted nor dead-lettered, even broken.
  const forecast: RawMessage = { subject: `${root}.raw.temperature.forecast.12`, data: new Uint8Array(3) };
  const last = await publishAll(backing.js, [
    ...bad,
    forecast,
    ...good,
    voltage(root, { line: 60, transformer: 1, usagePoint: 2 }, base + CYCLE, 110),
  ]);
  await waitFor('caught up', () => job.checkpointedSeq >= last);
  await waitFor('dead letters', () => dead.length >= bad.length);
  // The job published its dead letters before its checkpoint; a round trip delivers any still on the way.
  await backing.nc.flush();
  sub.unsubscribe();
  expect(dead.map((d) => d.subject.slice(root.length + 1))).toEqual([
    'deadletter.size',
    'deadletter.subject',
    'deadletter.value',
    'deadletter.size',
  ]);
  dead.forEach((d, i) => {
    expect(Buffer.from(d.data)).toEqual(Buffer.from(bad[i].data));
    expect(d.from).toBe(bad[i].subject);
  });
  expect(await counterValues(registry, 'smartmeter_stream_messages_total')).toEqual({
    deadlettered: 4,
    on_time: 2,
    late: 0,
    amended: 0,
  });
  expect(await maxVoltage(base)).toBe(117.5);
}, 90_000);

test('two instances, with the active one crashing mid-run, give exactly the rows one instance gives', async () => {
  const lines = [70, 71, 72];
  const epochs = Array.from({ length: 8 }, (_, k) => DAY + 4 * 86_400 - 2 * CYCLE + k * CYCLE); // spans midnight
  const make = (root: string) =>
    epochs.flatMap((e, k) => {
      const c = cycle(root, e, lines, k);
      // An over-voltage pair in every other cycle, and a late reading in every cycle after the first.
      if (k % 2 === 0)
        c.push(
          voltage(root, { line: 71, transformer: 2, usagePoint: 9 }, e, 121),
          voltage(root, { line: 71, transformer: 2, usagePoint: 8 }, e, 122),
        );
      if (k > 0) c.push(voltage(root, { line: 72, transformer: 3, usagePoint: 7 }, e - CYCLE, 123.5));
      return c;
    });

  // One instance, into this file's keyspace.
  const rootOne = uniqueName('sto');
  const one = await start(rootOne);
  const inputOne = make(rootOne);
  const lastOne = await publishAll(backing.js, inputOne);
  await waitFor('single instance caught up', () => one.job.checkpointedSeq >= lastOne, 60_000);
  await waitFor('single instance idle flush', () => maxVoltage(epochs.at(-1)!), 60_000);

  // Two instances sharing a lease, into a second keyspace; the active one crashes mid-run.
  const keyspace2 = uniqueName('stream2_');
  const cassandra2 = await freshKeyspace(env, keyspace2);
  try {
    const rootTwo = uniqueName('stt');
    const a = await start(rootTwo, { instanceId: 'a' }, keyspace2, cassandra2);
    const b = await start(rootTwo, { instanceId: 'b' }, keyspace2, cassandra2);
    expect([a.job.isActive, b.job.isActive]).toEqual([true, false]);
    const input = make(rootTwo);
    const third = Math.floor(input.length / 3);
    const first = await publishAll(backing.js, input.slice(0, third));
    await waitFor('a checkpointed', () => a.job.checkpointedSeq >= first);
    await publishAll(backing.js, input.slice(third, 2 * third));
    await a.job.halt(); // whatever a did after its last checkpoint is redone by b
    await publishAll(backing.js, input.slice(2 * third));
    await waitFor('b takes over', () => b.job.isActive);
    const lastTwo = (await (await backing.nc.jetstreamManager()).streams.info(rootTwo.toUpperCase())).state
      .last_seq;
    await waitFor('b caught up', () => b.job.checkpointedSeq >= lastTwo, 60_000);
    await waitFor('b idle flush', async () => {
      const r = await rows(
        `SELECT voltage FROM ${keyspace2}.max_voltage WHERE epoch = ?`,
        [epochs.at(-1)],
        cassandra2,
      );
      return r.length > 0;
    });

    // This test's rows of every output table, from each keyspace.
    const dump = async (ks: string, client: Client) => {
      const byEpoch = `epoch IN (${epochs.join(', ')})`;
      const byKey = `line IN (${lines.join(', ')}) AND transformer IN (1, 2, 3)`;
      const queries = {
        max_voltage: `SELECT * FROM ${ks}.max_voltage WHERE ${byEpoch}`,
        temperature: `SELECT * FROM ${ks}.temperature WHERE ${byEpoch}`,
        max_voltage_by_line: `SELECT * FROM ${ks}.max_voltage_by_line WHERE line IN (${lines.join(', ')})`,
        avg_voltage_by_transformer: `SELECT * FROM ${ks}.avg_voltage_by_transformer WHERE ${byKey}`,
        voltage_alerts: `SELECT * FROM ${ks}.voltage_alerts WHERE ${byKey}`,
      };
      const out: Record<string, string[]> = {};
      // Without seq: the sequence a row was last written at depends on when each instance flushed.
      for (const [table, cql] of Object.entries(queries))
        out[table] = (await client.execute(cql)).rows
          .map((r) => JSON.stringify({ ...r, seq: undefined }))
          .sort();
      return out;
    };
    const mine = await dump(keyspace, backing.cassandra);
    const theirs = await dump(keyspace2, cassandra2);
    for (const table of Object.keys(mine)) {
      expect(mine[table].length).toBeGreaterThan(0);
      expect({ table, rows: theirs[table] }).toEqual({ table, rows: mine[table] });
    }
  } finally {
    await cassandra2.execute(`DROP KEYSPACE IF EXISTS ${keyspace2}`);
    await cassandra2.shutdown();
  }
}, 180_000);

test('a backlog behind the watermark reaches every aggregate once, also when replayed from an older checkpoint', async () => {
  // Line 80 reports on time for 10 cycles; line 81's injector was cut off and flushes its backlog of the same
  // 10 cycles afterwards, with an over-voltage pair in cycle 2. Its windows were closed and forgotten.
  const root = uniqueName('stb');
  const base = DAY + 5 * 86_400;
  const epochs = Array.from({ length: 10 }, (_, k) => base + k * CYCLE);
  const onTime = epochs.flatMap((e, k) => cycle(root, e, [80], k));
  const backlog = epochs.flatMap((e, k) => [
    ...cycle(root, e, [81], k + 3).slice(1), // voltages only: the temperature came on time
    ...(k === 2
      ? [1, 2].map((u) => voltage(root, { line: 81, transformer: 3, usagePoint: 10 + u }, e, 121.5 + u))
      : []),
  ]);
  const settings = testSettings(root);
  const a = await start(root);
  const mid = await publishAll(backing.js, onTime);
  await waitFor('on-time data checkpointed', () => a.job.checkpointedSeq >= mid);
  // The checkpoint before the backlog, kept to replay from later (as if the job had died before saving the next).
  const kv = await backing.js.views.kv(`${settings.statePrefix}-checkpoint`);
  const before = (await kv.get('state'))!.value;
  const last = await publishAll(backing.js, backlog);
  await waitFor('backlog checkpointed', () => a.job.checkpointedSeq >= last);
  await waitFor('backlog folded', async () => {
    const [r] = await rows(
      `SELECT voltage FROM ${keyspace}.max_voltage_by_line WHERE line = 81 AND epoch = ?`,
      [epochs[9]],
    );
    return r !== undefined;
  });
  const outcomes = await counterValues(a.registry, 'smartmeter_stream_messages_total');
  expect(outcomes.amended).toBeGreaterThan(backlog.length / 2);

  // Everything the input says, from the rows: maxima, per-line maxima, daily averages and the alert.
  const volts = decode([...onTime, ...backlog]).filter((r) => r.isVoltage);
  const expectRows = async () => {
    for (const e of epochs) {
      const at = volts.filter((r) => r.epoch === e);
      expect(await maxVoltage(e)).toBeCloseTo(Math.max(...at.map((r) => r.value)), 4);
      const [line81] = await rows(
        `SELECT voltage FROM ${keyspace}.max_voltage_by_line WHERE line = 81 AND epoch = ?`,
        [e],
      );
      expect(line81.voltage).toBeCloseTo(Math.max(...at.filter((r) => r.line === 81).map((r) => r.value)), 4);
    }
    for (let transformer = 1; transformer <= 3; transformer++) {
      const mine = volts.filter((r) => r.line === 81 && r.transformer === transformer);
      const [avg] = await rows(
        `SELECT readings, voltage_sum FROM ${keyspace}.avg_voltage_by_transformer
         WHERE line = 81 AND transformer = ? AND year = 2024 AND month = 3 AND day = 9`,
        [transformer],
      );
      expect(Number(avg.readings)).toBe(mine.length);
      expect(avg.voltage_sum).toBeCloseTo(
        mine.reduce((x, r) => x + r.value, 0),
        3,
      );
    }
    const alerts = await rows(`SELECT * FROM ${keyspace}.voltage_alerts WHERE line = 81 AND transformer = 3`);
    expect(alerts.map((r) => [Number(r.window_start), r.readings_over, r.max_voltage])).toEqual([
      [epochs[2], 2, 123.5],
    ]);
  };
  await expectRows();

  // A restart from the older checkpoint replays the backlog: the rows already hold it, nothing counts twice.
  await stopJob(a);
  await kv.put('state', before);
  const b = await start(root, { instanceId: 'b' });
  await waitFor('replayed', () => b.job.checkpointedSeq >= last, 60_000);
  expect((await counterValues(b.registry, 'smartmeter_stream_messages_total')).amended).toBeGreaterThan(0);
  await expectRows();
}, 120_000);

describe('a checkpoint the raw stream no longer matches (resume.ts)', () => {
  const meter = (usagePoint: number) => ({ line: 90, transformer: 1, usagePoint });

  test('a stream that lost its tail (recreated here): the job reads every new message and reports the gap', async () => {
    const root = uniqueName('stg');
    const base = DAY + 6 * 86_400;
    const first = await start(root);
    const before = await publishAll(
      backing.js,
      Array.from({ length: 20 }, (_, i) => voltage(root, meter(i + 1), base, 115)),
    );
    await waitFor('checkpointed', () => first.job.checkpointedSeq >= before);
    await stopJob(first);
    // The stream loses everything the checkpoint read; new messages take its sequences again.
    const jsm = await backing.nc.jetstreamManager();
    const config = (await jsm.streams.info(root.toUpperCase())).config;
    await jsm.streams.delete(root.toUpperCase());
    await jsm.streams.add(config);
    const after = Array.from({ length: 30 }, (_, i) =>
      voltage(root, meter(i + 1), base + CYCLE, 116 + i / 10),
    );
    const last = await publishAll(backing.js, after);
    expect(last).toBe(30); // sequences 1…30 again, 1…20 under the checkpoint's
    const second = await start(root, { instanceId: 'b' });
    await waitFor('caught up', () => second.job.checkpointedSeq >= last);
    await waitFor('written', async () => (await maxVoltage(base + CYCLE)) !== undefined);
    expect(await maxVoltage(base + CYCLE)).toBeCloseTo(118.9, 4); // the 30th reading: none skipped
    expect(await counterValues(second.registry, 'smartmeter_stream_checkpoint_gaps_total')).toMatchObject({
      stream_behind: 1,
    });
    expect((await counterValues(second.registry, 'smartmeter_stream_messages_total')).on_time).toBe(30);
  }, 60_000);

  test('messages removed by retention before the job read them: it resumes at the first there is, and says so', async () => {
    const root = uniqueName('str');
    const base = DAY + 7 * 86_400;
    const first = await start(root);
    const seen = await publishAll(backing.js, [voltage(root, meter(1), base, 115)]);
    await waitFor('checkpointed', () => first.job.checkpointedSeq >= seen);
    await stopJob(first);
    await publishAll(
      backing.js,
      Array.from({ length: 10 }, (_, i) => voltage(root, meter(2), base + (i + 1) * CYCLE, 116)),
    );
    const jsm = await backing.nc.jetstreamManager();
    await jsm.streams.purge(root.toUpperCase(), { keep: 4 }); // as max_age or max_bytes would
    const second = await start(root, { instanceId: 'b' });
    await waitFor('caught up', () => second.job.checkpointedSeq >= 11);
    expect(await counterValues(second.registry, 'smartmeter_stream_checkpoint_gaps_total')).toMatchObject({
      retention: 1,
    });
    // The four left, and the first job's lone reading: a fresh job holds its first readings until two agree
    // (windows.ts), so it waited in the checkpoint and the second job folds it with the first of the four.
    expect((await counterValues(second.registry, 'smartmeter_stream_messages_total')).on_time).toBe(5);
  }, 60_000);
});
