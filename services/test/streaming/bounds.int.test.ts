// The stream job against real NATS and Cassandra with implausible readings (issue 23): a voltage no meter can
// measure is dead-lettered `range`; a reading years ahead neither moves the event time nor silences the
// aggregates, and is dead-lettered `future` with its original bytes once pushed out of the hold; a
// checkpoint whose event time was moved far ahead before this version is reported.
import { CheckpointStore } from '../../src/streaming/checkpoint';
import { stateBuckets } from '../../src/streaming/settings';
import { HOLD_MAX } from '../../src/streaming/windows';
import {
  counterValues,
  gaugeValue,
  publishAll,
  RawMessage,
  storedMaxVoltage,
  testSettings,
  uniqueName,
  useStreamBacking,
  voltage,
  waitFor,
} from './support';

const backing = useStreamBacking('bounds_');
const DAY = Date.UTC(2024, 2, 10) / 1000;
const CYCLE = 900;
const YEAR = 365 * 86_400;

const maxVoltage = (epoch: number) => storedMaxVoltage(backing, epoch);

test('a reading years ahead is held, not folded: on-time windows go on; pushed out of the hold it is dead-lettered `future`', async () => {
  const root = uniqueName('sbf');
  const dead: { reason: string; data: Uint8Array; from?: string }[] = [];
  const sub = backing.nc.subscribe(`${root}.deadletter.>`, {
    callback: (_, m) =>
      dead.push({
        reason: m.subject.split('.').pop()!,
        data: m.data,
        from: m.headers?.get('Smartmeter-Subject'),
      }),
  });
  const { job, registry } = await backing.start(testSettings(root));
  const a = { line: 81, transformer: 1, usagePoint: 1 };
  const b = { line: 81, transformer: 1, usagePoint: 2 };
  const far = voltage(root, { line: 81, transformer: 9, usagePoint: 9 }, DAY + 10 * YEAR, 119);
  const impossible = voltage(root, a, DAY, 3.4e38);
  let last = await publishAll(backing.js, [
    voltage(root, a, DAY, 115),
    voltage(root, b, DAY, 116),
    far,
    impossible,
    voltage(root, a, DAY + CYCLE, 117),
    voltage(root, b, DAY + CYCLE, 118),
    voltage(root, a, DAY + 2 * CYCLE, 114), // makes DAY + CYCLE due
  ]);
  await waitFor('caught up', () => job.checkpointedSeq >= last);
  expect([await maxVoltage(DAY), await maxVoltage(DAY + CYCLE)]).toEqual([116, 118]);
  expect(await maxVoltage(DAY + 10 * YEAR)).toBeUndefined();
  expect(await gaugeValue(registry, 'smartmeter_stream_event_time_seconds')).toBe(DAY + 2 * CYCLE);
  expect(await gaugeValue(registry, 'smartmeter_stream_held_readings')).toBe(1);
  expect(await counterValues(registry, 'smartmeter_stream_messages_total')).toMatchObject({
    on_time: 5,
    deadlettered: 1,
  });

  // As many readings again, each years from every other: none agrees, the first one held is pushed out.
  const flood: RawMessage[] = Array.from({ length: HOLD_MAX }, (_, k) =>
    voltage(root, { line: 82, transformer: 1, usagePoint: 1 + k }, DAY + (11 + k) * YEAR, 119),
  );
  last = await publishAll(backing.js, [...flood, voltage(root, a, DAY + 3 * CYCLE, 113)]);
  await waitFor('caught up again', () => job.checkpointedSeq >= last);
  await waitFor('two dead letters', () => dead.length >= 2);
  await backing.nc.flush();
  sub.unsubscribe();
  expect(dead.map((d) => d.reason)).toEqual(['range', 'future']);
  expect(Buffer.from(dead[1].data)).toEqual(Buffer.from(far.data));
  expect(dead[1].from).toBe(far.subject);
  expect(Buffer.from(dead[0].data)).toEqual(Buffer.from(impossible.data));
  expect(await gaugeValue(registry, 'smartmeter_stream_held_readings')).toBe(HOLD_MAX);
  expect(await gaugeValue(registry, 'smartmeter_stream_event_time_seconds')).toBe(DAY + 3 * CYCLE);
  expect(await maxVoltage(DAY + 2 * CYCLE)).toBe(114);
}, 90_000);

test('a checkpoint whose event time is years ahead of the readings after it is reported, once', async () => {
  const root = uniqueName('sbc');
  const settings = testSettings(root);
  // What a job before this version saved after one reading dated ten years ahead.
  const store = await CheckpointStore.open(backing.js, stateBuckets(settings).checkpoint);
  await store.save({ seq: 0, state: { v: 1, maxEventTime: DAY + 10 * YEAR, windows: [] } });
  const { job, registry } = await backing.start(settings);
  const readings = Array.from({ length: 60 }, (_, k) => [
    voltage(root, { line: 83, transformer: 1, usagePoint: 1 }, DAY + k * CYCLE, 115),
    voltage(root, { line: 83, transformer: 1, usagePoint: 2 }, DAY + k * CYCLE, 116),
  ]).flat();
  const last = await publishAll(backing.js, readings);
  await waitFor('caught up', () => job.checkpointedSeq >= last, 60_000);
  expect(await counterValues(registry, 'smartmeter_stream_checkpoint_event_time_implausible_total')).toEqual({
    invalid: 0,
    ahead: 1,
  });
}, 90_000);
