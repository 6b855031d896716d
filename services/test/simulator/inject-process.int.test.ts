// inject as a process (`node services/dist/main.js inject`, built by `npm test`'s pretest), as it runs in
// production, delivering into a raw stream of the test's (acknowledged atomic batches): over a 3 s run the
// stream stores the configured rate within ±5 % (a count, not a timing), decodable and with no (meter,
// simulated minute) twice; a bounded run exits 0 after exactly its readings; SIGTERM stops it and waits for
// the acknowledgements, so every reading it produced is stored, and it exits 0. On one stack clock
// (INJECT_CLOCK_ANCHOR, INJECT_START), injectors started seconds apart publish the same epochs, and a
// restarted one continues after its predecessor on the same grid. Judged by what the stream holds.
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { JsMsg, NatsConnection } from 'nats';
import { ensureRawStream } from '../../src/lib/jetstream';
import { decodeRetire, decodeTemperature, decodeVoltage, parseVoltageSubject } from '../../src/wire/codec';
import { SUBJECTS } from '../../src/wire/subjects';
import { backingEnv, natsConnect, requireService, roleProcessEnv, streamContents } from '../support/backing';

jest.setTimeout(60_000);

const MAIN = join(__dirname, '../../dist/main.js');
const env = backingEnv();
let nc: NatsConnection;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build --workspace services\``);
  await requireService('nats', env.natsUrl);
  nc = await natsConnect(env, 'inject-process-test');
});

const streams: string[] = [];

afterAll(async () => {
  const jsm = await nc?.jetstreamManager();
  for (const name of streams) await jsm?.streams.delete(name).catch(() => undefined);
  await nc?.drain();
});

/** The raw stream the injector delivers into, under the test's own root. */
async function rawStream(root: string): Promise<string> {
  const name = root.toUpperCase().replace(/-/g, '_');
  await ensureRawStream(await nc.jetstreamManager(), {
    name,
    subjects: [`${root}.raw.>`],
    maxBytes: 256 * 1024 ** 2,
  });
  streams.push(name);
  return name;
}

/** What the stream stored, by kind, with the voltage readings that repeat a (meter, simulated minute). */
function tally(root: string, messages: JsMsg[], decode: boolean) {
  const kinds = { voltage: 0, temperature: 0, forecast: 0, duplicates: 0 };
  const seen = new Set<string>();
  for (const msg of messages) {
    if (msg.subject === `${root}.raw.control.retire`) continue; // its stop notice, not a reading
    const subject = 'smartmeter' + msg.subject.slice(root.length);
    if (subject === SUBJECTS.temperature) kinds.temperature++;
    else if (subject === SUBJECTS.forecast) kinds.forecast++;
    else kinds.voltage++;
    if (!decode) continue;
    if (subject === SUBJECTS.temperature || subject === SUBJECTS.forecast) {
      decodeTemperature(msg.data);
      continue;
    }
    const m = parseVoltageSubject(subject);
    const key = `${m.line}.${m.transformer}.${m.usagePoint}@${decodeVoltage(msg.data).epoch / 60}`;
    if (seen.has(key)) kinds.duplicates++;
    seen.add(key);
  }
  return { ...kinds, received: kinds.voltage + kinds.temperature + kinds.forecast };
}

interface Summary {
  total: number;
  undelivered: number;
  published: Record<string, number>;
  cycles: number;
  firstEpoch: number;
  lastEpoch: number;
}

interface Process {
  child: ChildProcess;
  exit: Promise<number | null>;
  /** The injector's closing log line. */
  summary: () => Summary | undefined;
}

interface Run extends Process {
  /** Messages the stream holds so far. */
  stored: () => Promise<number>;
  /** What the stream holds, tallied (after the run). */
  contents: (decode: boolean) => Promise<ReturnType<typeof tally>>;
}

/** `node dist/main.js inject` publishing under `root`, with the backing NATS and `extra` settings. */
function spawnInjector(root: string, extra: Record<string, string>): Process {
  const child = spawn(process.execPath, [MAIN, 'inject'], {
    env: {
      ...roleProcessEnv(env),
      INJECT_SUBJECT_ROOT: root,
      METRICS_PORT: '0',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let summary: Summary | undefined;
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      if (line.msg === 'injection stopped') summary = line;
    }
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, summary: () => summary };
}

async function startInjector(root: string, extra: Record<string, string>): Promise<Run> {
  const stream = await rawStream(root);
  const run = spawnInjector(root, extra);
  return {
    ...run,
    stored: async () => (await (await nc.jetstreamManager()).streams.info(stream)).state.messages,
    contents: async (decode) => tally(root, await streamContents(nc, stream), decode),
  };
}

async function until<T>(probe: () => T | Promise<T>, done: (v: T) => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!done(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

// At 50,000/s the subscriber only counts, so that decoding does not slow the receiving side.
test.each([
  [1, true],
  [1000, true],
  [50_000, false],
])('at %i readings/s a 3 s run delivers the rate within ±5 %%', async (rate, decode) => {
  const root = `injrate-${randomUUID().slice(0, 8)}`;
  const run = await startInjector(root, {
    INJECT_RATE: String(rate),
    INJECT_DURATION_S: '3',
    LOG_LEVEL: 'info',
  });
  expect(await run.exit).toBe(0);
  const stored = await run.contents(decode);
  const expected = rate * 3;
  process.stdout.write(
    `inject process at ${rate}/s for 3 s: ${stored.received} stored, ${run.summary()?.total} produced (expected ${expected})\n`,
  );
  expect(stored.received).toBeGreaterThanOrEqual(Math.floor(expected * 0.95));
  expect(stored.received).toBeLessThanOrEqual(Math.ceil(expected * 1.05));
  const summary = run.summary()!;
  expect(stored.received).toBe(summary.total); // nothing produced was lost
  expect(summary.undelivered).toBe(0);
  const { voltage, temperature, forecast } = stored;
  expect({ voltage, temperature, forecast }).toEqual(summary.published);
  expect(stored.duplicates).toBe(0);
  expect(stored.temperature).toBe(summary.cycles);
  expect(stored.forecast).toBe(summary.cycles);
});

test('a bounded run delivers exactly INJECT_MAX_READINGS and exits 0', async () => {
  const run = await startInjector(`injproc-${randomUUID().slice(0, 8)}`, {
    INJECT_RATE: '2000',
    INJECT_MAX_READINGS: '1500',
  });
  expect(await run.exit).toBe(0);
  expect((await run.contents(false)).received).toBe(1500);
  expect(run.summary()?.total).toBe(1500);
});

test('SIGTERM stops and waits for the acknowledgements: everything produced is stored, exit 0', async () => {
  const run = await startInjector(`injproc-${randomUUID().slice(0, 8)}`, { INJECT_RATE: '5000' });
  await until(run.stored, (n) => n >= 2000, 30_000);
  run.child.kill('SIGTERM');
  expect(await run.exit).toBe(0);
  const summary = run.summary();
  expect(summary).toBeDefined();
  expect(summary!.total).toBeGreaterThanOrEqual(2000);
  expect((await run.contents(false)).received).toBe(summary!.total);
});

test('a bad setting stops the role with an error naming the variable', async () => {
  const child = spawn(process.execPath, [MAIN, 'inject'], {
    env: { PATH: process.env.PATH, INJECT_RATE: '-5', METRICS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(1);
  expect(out).toMatch(/INJECT_RATE must be a number >= 1/);
});

test('on one stack clock, injectors started apart share the epochs, and a restart continues forward', async () => {
  // As a stack deployed a minute ago hands it to every injector. 3 meters at 50/s: a cycle (5 messages)
  // every 0.1 real s, at 9000× 900 simulated s, so every epoch lies on START + k·900.
  const root = `injclock-${randomUUID().slice(0, 8)}`;
  const START = Date.parse('2024-05-01T00:00:00Z') / 1000;
  const ANCHOR = Math.floor(Date.now() / 1000) - 60;
  const clock = {
    INJECT_CLOCK_ANCHOR: String(ANCHOR),
    INJECT_START: String(START),
    INJECT_ACCELERATION: '9000',
    INJECT_RATE: '50',
    INJECT_LINES: '1',
    INJECT_TRANSFORMERS: '1',
    INJECT_USAGEPOINTS: '3',
  };
  const simulatedNow = () => START + (Date.now() / 1000 - ANCHOR) * 9000;

  const stream = await rawStream(root);
  const stored = async () => (await (await nc.jetstreamManager()).streams.info(stream)).state.messages;
  const first = spawnInjector(root, { ...clock, INJECT_SLOT: '1', INJECT_DURATION_S: '10' });
  await until(stored, (n) => n >= 50, 30_000); // 10 cycles of 5 messages
  const scaledUpAt = simulatedNow();
  const scaledUp = spawnInjector(root, { ...clock, INJECT_SLOT: '2', INJECT_DURATION_S: '3' });
  expect(await scaledUp.exit).toBe(0);
  expect(await first.exit).toBe(0);
  const stoppedAt = simulatedNow();
  const restarted = spawnInjector(root, { ...clock, INJECT_SLOT: '1', INJECT_DURATION_S: '2' });
  expect(await restarted.exit).toBe(0);

  // Epochs by line (slot s: line 10·s + 1), and every temperature and forecast value by epoch.
  const epochs = new Map<number, number[]>();
  const temperatures = new Map<number, number[]>();
  const forecasts = new Map<number, number[]>();
  const seen = new Set<string>();
  let duplicates = 0;
  const retires: number[] = [];
  const add = (map: Map<number, number[]>, key: number, value: number) =>
    map.set(key, [...(map.get(key) ?? []), value]);
  for (const msg of await streamContents(nc, stream)) {
    const subject = 'smartmeter' + msg.subject.slice(root.length);
    if (subject === SUBJECTS.retire) {
      retires.push(decodeRetire(msg.data).lines[0]);
      continue;
    }
    if (subject === SUBJECTS.temperature || subject === SUBJECTS.forecast) {
      const t = decodeTemperature(msg.data);
      add(subject === SUBJECTS.temperature ? temperatures : forecasts, t.epoch, t.temperature);
      continue;
    }
    const m = parseVoltageSubject(subject);
    const { epoch } = decodeVoltage(msg.data);
    const key = `${m.line}.${m.transformer}.${m.usagePoint}@${epoch}`;
    if (seen.has(key)) duplicates++;
    seen.add(key);
    if (m.transformer === 1 && m.usagePoint === 1) add(epochs, m.line, epoch);
  }

  const [a, b, again] = [first, scaledUp, restarted].map((p) => p.summary()!);
  const slot1 = epochs.get(11)!;
  const slot2 = epochs.get(21)!;
  const all = [...slot1, ...slot2, ...temperatures.keys(), ...forecasts.keys()];
  for (const epoch of all) expect((epoch - START) % 900).toBe(0); // one grid for everyone
  expect(duplicates).toBe(0);
  // Each of the three runs ended with its retire notice (slot 2 on line 21, slot 1's two runs on line 11).
  expect(retires.sort()).toEqual([11, 11, 21]);

  // The injector started later joined the first one's cycles at the shared clock's time, not behind it.
  expect(b.firstEpoch).toBeGreaterThanOrEqual(Math.floor(scaledUpAt / 900) * 900);
  const shared = slot2.filter((e) => e <= a.lastEpoch);
  expect(shared.length).toBeGreaterThanOrEqual(20);
  for (const epoch of shared) expect(slot1).toContain(epoch);
  // … and both published the same temperature for each of those epochs (pure in seed and epoch).
  for (const epoch of shared) {
    const values = temperatures.get(epoch)!;
    expect(values).toHaveLength(2);
    expect(values[1]).toBe(values[0]);
  }
  // The forecast of a cycle is the temperature published when its epoch comes, by whichever injector.
  let matched = 0;
  for (const [epoch, values] of forecasts) {
    for (const v of temperatures.get(epoch) ?? []) {
      expect(values.every((f) => f === v)).toBe(true);
      matched++;
    }
  }
  expect(matched).toBeGreaterThan(0);

  // The restart went on after the last cycle of its predecessor: forward, never a (meter, minute) again.
  expect(again.firstEpoch).toBeGreaterThan(a.lastEpoch);
  expect(again.firstEpoch).toBeGreaterThanOrEqual(Math.floor(stoppedAt / 900) * 900);
}, 60_000);
