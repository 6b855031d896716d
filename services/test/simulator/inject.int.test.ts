// The injector in-process against the real NATS: what a subscriber on the original subjects (under a
// unique first token, so parallel tests and JetStream captures stay apart) receives decodes with the wire
// codec to exactly the model's readings, never repeats a (meter, simulated minute), and carries each
// forecast as the temperature 12 cycles later. Rate accuracy is tested on the real process
// (inject-process.int.test.ts): jest's vm context slows this hot path several-fold.
import { randomUUID } from 'node:crypto';
import { connect, Msg, NatsConnection } from 'nats';
import { createSimulator, Simulator, Topology } from '../../src/simulator';
import { Registry } from 'prom-client';
import {
  createInjectorMetrics,
  InjectorMetrics,
  InjectorStats,
  coreSink,
  runInjector,
} from '../../src/simulator/publisher';
import {
  decodeRetire,
  decodeTemperature,
  decodeVoltage,
  parseVoltageSubject,
  RetireNotice,
} from '../../src/wire/codec';
import { backingEnv, requireService } from '../support/backing';

jest.setTimeout(60_000);

let pub: NatsConnection;
let sub: NatsConnection;

beforeAll(async () => {
  const env = backingEnv();
  await requireService('nats', env.natsUrl);
  const options = { servers: env.natsUrl, user: env.natsUser, pass: env.natsPassword };
  [pub, sub] = await Promise.all([connect(options), connect(options)]);
});

afterAll(async () => {
  await Promise.all([pub?.drain(), sub?.drain()]);
});

interface Received {
  kinds: { voltage: number; temperature: number; forecast: number };
  total: number;
  duplicates: number;
  messages: Msg[];
  /** The injector's retire notice(s), after its readings (not counted in total). */
  retired: RetireNotice[];
}

/** Runs the injector for a bounded time while a subscriber counts and decodes everything it publishes. */
async function inject(
  sim: Simulator,
  settings: { rate: number; seconds: number; acceleration?: number; keep?: boolean; decode?: boolean },
  metrics?: InjectorMetrics,
): Promise<{ stats: InjectorStats; received: Received }> {
  const root = `injtest-${randomUUID().slice(0, 8)}`;
  const received: Received = {
    kinds: { voltage: 0, temperature: 0, forecast: 0 },
    total: 0,
    duplicates: 0,
    messages: [],
    retired: [],
  };
  const seen = new Set<string>();
  const subscription = sub.subscribe(`${root}.raw.>`, {
    callback: (err, msg) => {
      if (err) throw err;
      if (msg.subject === `${root}.raw.control.retire`) {
        received.retired.push(decodeRetire(msg.data));
        return;
      }
      received.total++;
      if (settings.keep) received.messages.push(msg);
      const subject = 'smartmeter' + msg.subject.slice(root.length);
      if (subject === 'smartmeter.raw.temperature.data') {
        received.kinds.temperature++;
      } else if (subject === 'smartmeter.raw.temperature.forecast.12') {
        received.kinds.forecast++;
      } else if (!settings.decode) {
        received.kinds.voltage++;
      } else {
        const m = parseVoltageSubject(subject);
        const key = `${m.line}.${m.transformer}.${m.usagePoint}@${decodeVoltage(msg.data).epoch / 60}`;
        if (seen.has(key)) received.duplicates++;
        seen.add(key);
        received.kinds.voltage++;
      }
    },
  });
  await sub.flush();
  const stats = await runInjector(
    coreSink(pub),
    sim,
    {
      rate: settings.rate,
      start: Math.floor(Date.now() / 1000),
      acceleration: settings.acceleration ?? 900,
      durationSeconds: settings.seconds,
      subjectRoot: root,
    },
    { metrics },
  );
  await pub.flush(); // the server has every publish …
  await sub.flush(); // … and has delivered them to the subscriber before this PONG
  subscription.unsubscribe();
  return { stats, received };
}

test('what arrives decodes to exactly the model readings, and forecasts come back as temperatures', async () => {
  // 10 meters, 12 messages a cycle at 240/s: 20 cycles/s, each 0.05 s × 3600 = 3 simulated minutes.
  const topology: Topology = { lines: 1, transformers: 2, usagePoints: 5 };
  const sim = createSimulator({ seed: 99, topology, slot: 4, overVoltage: { perDay: 48, minutes: 6 } });
  const registry = new Registry();
  const { stats, received } = await inject(
    sim,
    { rate: 240, seconds: 2, acceleration: 3600, keep: true },
    createInjectorMetrics(registry),
  );
  expect(received.total).toBe(stats.total);
  // It stops with one retire notice naming its meters (slot 4: line 41) and its last cycle.
  expect(received.retired).toEqual([
    { lines: [41, 41], transformers: 2, usagepoints: 5, epoch: stats.lastEpoch },
  ]);
  expect(stats.cycles).toBeGreaterThan(30);

  const temperatures = new Map<number, number>();
  const forecasts = new Map<number, number>();
  let voltages = 0;
  let over = 0;
  for (const msg of received.messages) {
    const subject = msg.subject.slice(msg.subject.indexOf('.') + 1);
    if (subject.startsWith('raw.temperature.')) {
      const t = decodeTemperature(msg.data);
      expect(t.temperature).toBe(Math.fround(sim.temperatureAt(t.epoch).temperature));
      (subject.endsWith('data') ? temperatures : forecasts).set(t.epoch, t.temperature);
      continue;
    }
    const meter = parseVoltageSubject('smartmeter.' + subject);
    expect(meter.line).toBe(41);
    const index = sim.meters.findIndex(
      (m) => m.transformer === meter.transformer && m.usagePoint === meter.usagePoint,
    );
    const got = decodeVoltage(msg.data);
    const model = sim.voltageAt(index, got.epoch, sim.temperatureAt(got.epoch).temperature);
    expect(got).toEqual({
      epoch: model.reading.epoch,
      voltage: Math.fround(model.reading.voltage),
      demand: Math.fround(model.reading.demand),
      values: model.reading.values.map(Math.fround),
    });
    voltages++;
    if (got.voltage > 120) over++;
  }
  expect(voltages).toBe(stats.published.voltage);
  expect(over).toBe(stats.overVoltageReadings);
  expect(over).toBeGreaterThan(0);
  // The forecast sent 12 cycles ahead is the temperature published when that cycle comes.
  let matched = 0;
  for (const [epoch, value] of forecasts) {
    if (!temperatures.has(epoch)) continue;
    expect(temperatures.get(epoch)).toBe(value);
    matched++;
  }
  expect(matched).toBe(stats.cycles - 12);

  // The metrics say the same as the subscriber.
  const value = async (name: string, label?: string) =>
    (await registry.getSingleMetric(name)!.get()).values.find((v) => !label || v.labels.kind === label)!
      .value;
  expect(await value('smartmeter_inject_readings_total', 'voltage')).toBe(voltages);
  expect(await value('smartmeter_inject_readings_total', 'temperature')).toBe(temperatures.size);
  expect(await value('smartmeter_inject_readings_total', 'forecast')).toBe(forecasts.size);
  expect(await value('smartmeter_inject_overvoltage_readings_total')).toBe(over);
  expect(await value('smartmeter_inject_overvoltage_events_total')).toBeGreaterThan(0);
  expect(await value('smartmeter_inject_slot')).toBe(4);
  expect(await value('smartmeter_inject_simulated_epoch_seconds')).toBe(stats.lastEpoch);
});
