// The stream job survives every raw and control message, against the real nats-server and Cassandra: each
// is folded in or dead-lettered and the next one is read. A message of max_payload bytes is dead-lettered
// cut to fit (it used to throw out of the handler and stop the consumer while the job kept its lease); a
// retire notice naming a huge range is applied to the meters the job watches (it used to loop over the
// range); and should the consumer stop anyway, the job says so and gives its lease to a standby.
import fc from 'fast-check';
import { Msg } from 'nats';
import { Registry } from 'prom-client';
import { sleep } from '../../src/lib/retry';
import { StreamJob } from '../../src/streaming/job';
import { createStreamMetrics } from '../../src/streaming/metrics';
import { StreamSettings } from '../../src/streaming/settings';
import { encodeRetire } from '../../src/wire/codec';
import { fuzz, fuzzTimeoutMs } from '../../../tests/fuzz/support';
import { natsConnect, quietLog } from '../support/backing';
import { rawInput } from '../support/raw-input';
import {
  counterValues,
  gaugeValue,
  publishAll,
  RawMessage,
  temperature,
  testSettings,
  uniqueName,
  useStreamBacking,
  voltage,
  waitFor,
} from './support';

const backing = useStreamBacking('streamfz_');
const DAY = Date.UTC(2024, 2, 4) / 1000;
const CYCLE = 900;

interface Started {
  job: StreamJob;
  registry: Registry;
  metrics: ReturnType<typeof createStreamMetrics>;
  health: string[];
}

/** A job whose readiness changes are recorded, with its metrics at hand (to inject a fault). */
async function startJob(settings: StreamSettings): Promise<Started> {
  backing.roots.add(settings.subjectRoot);
  const nc = await natsConnect(backing.env, `stream-fuzz-${settings.instanceId}`);
  const registry = new Registry();
  const metrics = createStreamMetrics(registry);
  const health: string[] = [];
  const job = new StreamJob(settings, {
    nc,
    cassandra: backing.cassandra,
    keyspace: backing.keyspace,
    log: quietLog,
    metrics,
    setReady: (ready, reason) => health.push(`${ready} ${reason}`),
  });
  await job.start();
  backing.running.push({ job, nc, registry });
  return { job, registry, metrics, health };
}

/** Messages the job counted, by outcome (retire notices it applied are not counted: they are no reading). */
async function counted(registry: Registry): Promise<number> {
  const values = await counterValues(registry, 'smartmeter_stream_messages_total');
  return Object.values(values).reduce((a, b) => a + b, 0);
}

function collect(root: string): Msg[] {
  const got: Msg[] = [];
  backing.nc.subscribe(`${root}.deadletter.>`, { callback: (_e, m) => got.push(m) });
  return got;
}

const readings = (root: string, epoch: number, n: number): RawMessage[] => [
  temperature(root, epoch, 5),
  ...Array.from({ length: n }, (_, i) =>
    voltage(root, { line: 1, transformer: 1, usagePoint: i + 1 }, epoch, 115),
  ),
];

test('a message of max_payload bytes is dead-lettered cut to fit; the job reads on and keeps its lease', async () => {
  const root = uniqueName('sfmax');
  const letters = collect(root);
  await backing.nc.flush();
  const { job, registry, health } = await startJob(testSettings(root));
  const maxPayload = backing.nc.info!.max_payload;
  const huge = { subject: `${root}.raw.voltage.data.1.1.1`, data: new Uint8Array(maxPayload).fill(3) };
  const input = [...readings(root, DAY, 4), huge, ...readings(root, DAY + CYCLE, 4)];
  await publishAll(backing.js, input);
  await waitFor('every message counted', async () => (await counted(registry)) === input.length, 20_000);
  expect(await counterValues(registry, 'smartmeter_stream_messages_total')).toMatchObject({
    deadlettered: 1,
  });
  await waitFor('the dead letter', () => letters.length === 1, 5_000);
  expect(letters[0].subject).toBe(`${root}.deadletter.size`);
  expect(letters[0].headers?.get('Smartmeter-Truncated')).toBe(String(maxPayload));
  expect(letters[0].headers?.get('Smartmeter-Role')).toBe('stream');
  expect(letters[0].data.byteLength).toBeGreaterThan(maxPayload - 1024);
  expect(job.isActive).toBe(true);
  expect(await gaugeValue(registry, 'smartmeter_consumer_stopped')).toBe(0);
  expect(health).toEqual([]);
}, 60_000);

test('a retire notice naming a billion billion meters is applied to the ones watched; out-of-bounds ones are dead-lettered as control', async () => {
  const root = uniqueName('sfret');
  const letters = collect(root);
  await backing.nc.flush();
  const { job, registry } = await startJob(testSettings(root));
  const huge = {
    lines: [1, 10] as [number, number],
    transformers: 999_999_999,
    usagepoints: 999_999_999,
    epoch: DAY + CYCLE,
  };
  const retire = (n: object) => ({
    subject: `${root}.raw.control.retire`,
    data: new TextEncoder().encode(JSON.stringify(n)),
  });
  const input = [
    ...readings(root, DAY, 3),
    ...readings(root, DAY + CYCLE, 3),
    { subject: `${root}.raw.control.retire`, data: encodeRetire(huge) },
    retire({ ...huge, lines: [0, 2 ** 40] }),
    retire({ ...huge, transformers: 2 ** 53 }),
    ...readings(root, DAY + 2 * CYCLE, 1),
  ];
  await publishAll(backing.js, input);
  // Every reading counted, the two notices beyond the bounds too (dead-lettered); the first one applied.
  await waitFor('every message handled', async () => (await counted(registry)) === input.length - 1, 20_000);
  await waitFor('two dead letters', () => letters.length === 2, 5_000);
  expect(letters.map((m) => m.subject)).toEqual([`${root}.deadletter.control`, `${root}.deadletter.control`]);
  expect(job.isActive).toBe(true);
  // The three meters were retired, then meter 1 reported again: one watched.
  await waitFor(
    'a checkpoint',
    async () => (await gaugeValue(registry, 'smartmeter_stream_meters_watched')) === 1,
    10_000,
  );
}, 60_000);

test('a consumer that stops (a handler threw) says so, gives its lease up, and a standby takes over', async () => {
  const root = uniqueName('sfcf');
  const a = await startJob(testSettings(root, { instanceId: 'a' }));
  expect(a.job.isActive).toBe(true);
  const b = await startJob(testSettings(root, { instanceId: 'b' }));
  // A fault in a's handler: its first metric update throws, for one message.
  jest.spyOn(a.metrics.lag, 'set').mockImplementationOnce(() => {
    throw new Error('injected handler fault');
  });
  await publishAll(backing.js, readings(root, DAY, 2));
  await waitFor('a not ready', () => a.health.some((h) => h.startsWith('false stopped consuming')), 10_000);
  expect(a.health[0]).toMatch(
    /^false stopped consuming: the raw stream consumer ended: injected handler fault$/,
  );
  expect(await gaugeValue(a.registry, 'smartmeter_consumer_stopped')).toBe(1);
  expect(await gaugeValue(a.registry, 'smartmeter_consumer_failures_total')).toBe(1);
  await waitFor('b active', () => b.job.isActive, 10_000);
  expect(a.job.isActive).toBe(false);
  // b reads from a's last checkpoint (none: the start), the reading a failed on included.
  await waitFor('b counts them', async () => (await counted(b.registry)) === 3, 10_000);
  await publishAll(backing.js, readings(root, DAY + CYCLE, 2));
  await waitFor('b reads on', async () => (await counted(b.registry)) === 6, 10_000);
}, 60_000);

test(
  'fuzz: any raw or control message is folded in or dead-lettered, and the next reading is read',
  async () => {
    const root = uniqueName('sffz');
    const { job, registry, health } = await startJob(testSettings(root));
    const maxPayload = backing.nc.info!.max_payload;
    // Two readings that agree give the fresh job its event time, so the next readings are not held for it.
    let epoch = DAY + CYCLE;
    let lastSeq = await publishAll(backing.js, [temperature(root, DAY, 5), temperature(root, epoch, 5)]);
    await waitFor('the first two counted', async () => (await counted(registry)) === 2, 10_000);
    // Every message the job reads is counted, or held (a reading far ahead, until another agrees or it is
    // refused, and then counted): counted + held moves by what each message accounts for.
    const accounted = async () =>
      (await counted(registry)) + ((await gaugeValue(registry, 'smartmeter_stream_held_readings')) ?? NaN);
    await fuzz(
      'stream raw messages',
      fc.asyncProperty(rawInput(root, maxPayload), async (input) => {
        const before = await accounted();
        lastSeq = await publishAll(backing.js, [input, temperature(root, (epoch += CYCLE), 5)]);
        const deadline = Date.now() + 15_000;
        while (job.readSeq < lastSeq && Date.now() < deadline) await sleep(2);
        expect(job.readSeq).toBeGreaterThanOrEqual(lastSeq); // the reading after it was read
        // Both counted, but for a subject the job does not read and a retire notice it applied.
        const delta = (await accounted()) - before;
        const { subject } = input;
        if (subject === `${root}.raw.control.retire`) expect([1, 2]).toContain(delta);
        else if (
          subject === `${root}.raw.temperature.data` ||
          subject.startsWith(`${root}.raw.voltage.data.`)
        )
          expect(delta).toBe(2);
        else expect(delta).toBe(1);
      }),
    );
    expect(job.isActive).toBe(true);
    expect(health).toEqual([]);
    expect(await gaugeValue(registry, 'smartmeter_stream_deadletter_failures_total')).toBe(0);
    // What they made of the windows is written: a checkpoint covers the last message.
    await waitFor('a checkpoint of the last message', () => job.checkpointedSeq >= lastSeq, 30_000);
  },
  fuzzTimeoutMs(1, 60_000),
);
