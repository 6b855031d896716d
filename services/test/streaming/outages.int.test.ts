// Outage detection against the real NATS (JetStream) and Cassandra: the simulator's injected outages (the
// real injector, seeded) detected and restored as rows and events; a stopped injector's meters not reported
// (and a crashed one's reported, which is what the retire notice prevents); and a takeover mid-outage
// without an outage lost or doubled. Expectations come from the simulator's own schedule (outageRuns).
import { createSimulator, OutageOptions, outageRuns, Simulator } from '../../src/simulator';
import { runInjector } from '../../src/simulator/publisher';
import { testDelivery } from '../support/backing';
import { StreamSettings } from '../../src/streaming/settings';
import { encodeVoltage, MeterId } from '../../src/wire/codec';
import {
  natsConnect,
  publishAll,
  RawMessage,
  RunningJob,
  stopJob,
  temperature,
  testSettings,
  uniqueName,
  useStreamBacking,
  waitFor,
} from './support';

const backing = useStreamBacking('outage_');
const { env, keyspace } = backing;
const DAY = Date.UTC(2024, 4, 6) / 1000;
const I = 900; // simulated seconds per cycle in every test here

const start = (settings: StreamSettings) => backing.start(settings);

interface Event {
  subject: string;
  state: 'open' | 'closed';
  line: number;
  transformer: number;
  usagepoint?: number;
  start: number;
  end: number | null;
  duration: number | null;
}

/** Every event in the outage stream, in order. */
async function outageEvents(settings: StreamSettings): Promise<Event[]> {
  const jsm = await backing.nc.jetstreamManager();
  const total = (await jsm.streams.info(settings.outageStream)).state.messages;
  const out: Event[] = [];
  if (total === 0) return out;
  const consumer = await backing.js.consumers.get(settings.outageStream);
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push({ subject: m.subject, ...m.json<Omit<Event, 'subject'>>() });
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

/** Resolves once the active job has checkpointed the raw stream's last message. */
async function caughtUp(settings: StreamSettings, jobs: RunningJob[]): Promise<void> {
  const jsm = await backing.nc.jetstreamManager();
  const last = (await jsm.streams.info(settings.stream)).state.last_seq;
  await waitFor(
    `a checkpoint at seq ${last}`,
    () => jobs.some((j) => j.job.isActive && j.job.checkpointedSeq >= last),
    90_000,
  );
}

const meterKey = (m: { line: number; transformer: number; usagepoint?: number; usagePoint?: number }) =>
  `${m.line}.${m.transformer}.${m.usagepoint ?? m.usagePoint}`;

/**
 * The injected runs the detector must report: it knows the meter's interval (its two readings before the
 * run are consecutive) and the run starts early enough for more than 3 intervals of silence at the
 * watermark (900 s behind the newest epoch) before the last epoch. Any other run may be reported.
 */
function expectedRuns(sim: Simulator, epochs: number[]) {
  const first = epochs[0];
  const last = epochs[epochs.length - 1];
  const runs = outageRuns(sim.meters, sim.dark, epochs);
  const known = (r: (typeof runs)[number]) =>
    r.start - 2 * I >= first && !sim.dark(sim.meters.indexOf(r.meter), r.start - 2 * I);
  const must = runs.filter((r) => known(r) && r.start + 5 * I <= last);
  return { must, may: runs.filter((r) => !must.includes(r)) };
}

/** Meter outage events against the injected runs: each must-run opened once and, if it ended, closed once. */
function checkMeterEvents(events: Event[], sim: Simulator, epochs: number[]) {
  const meterEvents = events.filter((e) => e.subject.includes('.outage.meter.'));
  const ids = meterEvents.map((e) => `${meterKey(e)}@${e.start}/${e.state}`);
  expect(new Set(ids).size).toBe(ids.length); // none doubled
  const { must, may } = expectedRuns(sim, epochs);
  const allowed = new Set([...must, ...may].map((r) => `${meterKey(r.meter)}@${r.start}`));
  for (const e of meterEvents) expect(allowed).toContain(`${meterKey(e)}@${e.start}`);
  const last = epochs[epochs.length - 1];
  for (const r of must) {
    const key = `${meterKey(r.meter)}@${r.start}`;
    expect(ids).toContain(`${key}/open`);
    if (r.end !== null && r.end <= last) {
      const closed = meterEvents.find((e) => `${meterKey(e)}@${e.start}` === key && e.state === 'closed');
      expect({ key, end: closed?.end, duration: closed?.duration }).toEqual({
        key,
        end: r.end,
        duration: r.end - r.start,
      });
    }
  }
  return { must: must.length, events: meterEvents.length };
}

/** The rows: one per outage, in its latest state (open, or closed with end and duration). */
async function checkRows(events: Event[]) {
  const latest = new Map<string, Event>();
  for (const e of events.filter((x) => x.subject.includes('.outage.meter.')))
    latest.set(`${meterKey(e)}@${e.start}`, e);
  const rs = await backing.cassandra.execute(
    `SELECT line, transformer, usagepoint, start_epoch, end_epoch, duration_s, state FROM ${keyspace}.meter_outages`,
  );
  const rows = new Map(
    rs.rows.map((r) => [
      `${meterKey(r as never)}@${Number(r.start_epoch)}`,
      {
        state: r.state as string,
        end: r.end_epoch === null ? null : Number(r.end_epoch),
        duration: r.duration_s === null ? null : Number(r.duration_s),
      },
    ]),
  );
  for (const [key, e] of latest)
    expect({ key, ...rows.get(key) }).toEqual({ key, state: e.state, end: e.end, duration: e.duration });
}

const OUTAGES: OutageOptions = { perDay: 2, transformerPerDay: 0.5, minutes: 120 };

/**
 * A bounded run of the real injector: `cycles` cycles of 15 simulated minutes, `cycleMs` real ms each;
 * it ends with its retire notice, as on SIGTERM. Resolves with the epochs it published.
 */
async function inject(
  root: string,
  sim: Simulator,
  cycles: number,
  clock: { start: number; anchor: number },
  cycleMs: number,
  connection = backing.nc,
) {
  const perCycle = sim.meters.length + 2;
  const acceleration = (I * 1000) / cycleMs;
  const stats = await runInjector(testDelivery(connection), sim, {
    rate: (perCycle * 1000) / cycleMs,
    acceleration,
    ...clock,
    maxReadings: cycles * perCycle,
    durationSeconds: 120,
    subjectRoot: root,
  });
  const epochs: number[] = [];
  for (let e = stats.firstEpoch; e <= stats.lastEpoch; e += I) epochs.push(e);
  expect(epochs).toHaveLength(cycles);
  return { stats, epochs };
}

test('injected outages (seeded, real injector) are detected, once, and restored: events and rows', async () => {
  const root = uniqueName('oin');
  const settings = testSettings(root);
  const job = await start(settings);
  const sim = createSimulator({
    seed: 11,
    topology: { lines: 1, transformers: 2, usagePoints: 5 },
    outages: OUTAGES,
  });
  const { epochs } = await inject(root, sim, 400, { start: DAY, anchor: Date.now() / 1000 }, 10);
  await caughtUp(settings, [job]);
  const events = await outageEvents(settings);
  const { must } = checkMeterEvents(events, sim, epochs);
  expect(must).toBeGreaterThan(30);
  await checkRows(events);
  // Transformer outages: every injected one (all 5 meters dark together) well inside the run was reported.
  const transformerEvents = events.filter((e) => e.subject.includes('.outage.transformer.'));
  expect(transformerEvents.filter((e) => e.state === 'open').length).toBeGreaterThan(0);
  for (const e of transformerEvents) {
    const dark = sim.meters
      .map((m, i) => ({ m, i }))
      .filter(({ m }) => m.transformer === e.transformer)
      .filter(({ i }) => sim.dark(i, e.start)).length;
    expect({ subject: e.subject, start: e.start, darkAtStart: dark >= 3 }).toEqual({
      subject: e.subject,
      start: e.start,
      darkAtStart: true,
    });
  }
  const metrics = await job.registry.getSingleMetricAsString('smartmeter_stream_outages_total');
  expect(metrics).toMatch(/kind="meter"} [1-9]/);
}, 180_000);

test("a stopped injector's meters are no outage; a crashed one's are (no retire notice)", async () => {
  const root = uniqueName('oret');
  const settings = testSettings(root);
  const job = await start(settings);
  const clock = { start: DAY, anchor: Date.now() / 1000 };
  const topology = { lines: 1, transformers: 2, usagePoints: 4 };
  const sim = (slot: number) => createSimulator({ seed: 5, topology, slot });
  // Slot 2 stops after 20 cycles (its retire notice, as on SIGTERM), while slot 1 runs on for 60. Cycles
  // of 100 ms: the two injectors of this process stay within a cycle or two of each other.
  await Promise.all([inject(root, sim(1), 60, clock, 100), inject(root, sim(2), 20, clock, 100)]);
  await caughtUp(settings, [job]);
  expect(await outageEvents(settings)).toEqual([]);

  // Slot 3's connection is lost after 2 s (a crash): its last readings and its retire notice never reach the
  // broker, so its meters and transformers go out while slot 1 runs on. (The pause between the two halves is
  // a gap of the whole input: no outage.)
  const third = await natsConnect(env, 'outage-test-3');
  setTimeout(() => void third.close(), 2000);
  const [, crashed] = await Promise.all([
    inject(root, sim(1), 60, clock, 100),
    inject(root, sim(3), 60, clock, 100, third),
  ]);
  expect(crashed.stats.undelivered).toBeGreaterThan(0);
  await caughtUp(settings, [job]);
  const events = await outageEvents(settings);
  expect(
    events.filter((e) => e.state === 'open').map((e) => e.subject.split('.').slice(3).join('.')),
  ).toEqual(expect.arrayContaining(['meter.31.1.1', 'meter.31.2.4', 'transformer.31.1', 'transformer.31.2']));
  expect(events.every((e) => e.line === 31)).toBe(true);
}, 180_000);

/** Cycles as the injector publishes them (its dark meters left out), straight into JetStream. */
function cycles(root: string, sim: Simulator, from: number, to: number): RawMessage[] {
  const out: RawMessage[] = [];
  for (let k = from; k < to; k++) {
    const c = sim.cycleAt(DAY + k * I);
    out.push(temperature(root, c.epoch, c.temperature.temperature));
    for (const v of c.voltages) out.push(voltageMessage(root, v.meter, v.reading));
  }
  return out;
}

function voltageMessage(root: string, m: MeterId, r: Parameters<typeof encodeVoltage>[0]): RawMessage {
  return {
    subject: `${root}.raw.voltage.data.${m.line}.${m.transformer}.${m.usagePoint}`,
    data: encodeVoltage(r),
  };
}

test('takeover mid-outage: the standby restores the checkpoint, no outage lost or doubled', async () => {
  const root = uniqueName('otk');
  const a = await start(testSettings(root, { instanceId: 'a' }));
  const settings = testSettings(root, { instanceId: 'b' });
  const sim = createSimulator({
    seed: 21,
    topology: { lines: 1, transformers: 3, usagePoints: 4 },
    slot: 4,
    outages: OUTAGES,
  });
  const TOTAL = 300;
  // Split where a meter has been dark for 6 cycles (its outage open), then crash a just after it has
  // checkpointed that and with 20 more cycles on their way (work the standby redoes, events published again).
  const split = Array.from({ length: 100 }, (_, x) => 100 + x).find((k) =>
    sim.meters.some((_, i) => [0, 1, 2, 3, 4, 5, 6].every((d) => sim.dark(i, DAY + (k - d) * I))),
  )!;
  expect(split).toBeDefined();
  await waitFor('a active', () => a.job.isActive);
  const b = await start(settings);
  const firstSeq = await publishAll(backing.js, cycles(root, sim, 0, split));
  await waitFor('a checkpointed the first part', async () => {
    const rs = await backing.cassandra.execute(
      `SELECT state FROM ${keyspace}.meter_outages WHERE line = 41 ALLOW FILTERING`,
    );
    return a.job.checkpointedSeq >= firstSeq && rs.rows.some((r) => r.state === 'open');
  });
  const more = publishAll(backing.js, cycles(root, sim, split, split + 20));
  await stopJob(a, false);
  await more;
  await publishAll(backing.js, cycles(root, sim, split + 20, TOTAL));
  await waitFor('b active', () => b.job.isActive, 30_000);
  await caughtUp(settings, [b]);

  const epochs = Array.from({ length: TOTAL }, (_, k) => DAY + k * I);
  const events = await outageEvents(settings);
  const { must } = checkMeterEvents(events, sim, epochs);
  expect(must).toBeGreaterThan(20);
  const ids = events.map((e) => `${e.subject}@${e.start}/${e.state}`);
  expect(new Set(ids).size).toBe(ids.length);
  await checkRows(events);
}, 180_000);
