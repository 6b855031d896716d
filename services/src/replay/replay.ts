// The replay source of the injector: recorded households (./uci.ts) published as meters on the original
// subjects and wire format, the recorded minutes as simulated time on the stack's clock (schedule.ts).
//
// One cycle is one simulated minute, due every 60/acceleration real seconds on the shared grid (at 900×,
// 15 recorded minutes a real second), paced by the Pacer in cycles per second. Each cycle publishes the
// temperature and the 12-cycle forecast (the data set has no weather: the simulator's weather model gives
// them, from the seed, as for simulated meters), then for every household with a row at that minute one
// voltage message per meter it is mapped to. The clock decides where the replay is: rows before the
// simulated time at start are passed over, so a restarted injector continues where the clock is and never
// publishes a (meter, minute) twice.
//
// Mapping: household h (the h-th file) is transformer h+1 on line 10·slot+1, replayed as usage points
// 1…metersPerHousehold; voltage × nominal / recordedNominal (230 V recorded → the stack's 120 V), demand the
// active power in kW, val3…val7 the reactive power, intensity and the three sub-meterings, val8…val12 0.
import { Counter, Gauge, Registry } from 'prom-client';
import { zeroed } from '../lib/metrics';
import { sleep } from '../lib/retry';
import { readingId } from '../simulator/ledger';
import { rootedSubjects, RunOptions, Sink } from '../simulator/publisher';
import { Pacer } from '../simulator/pacer';
import { MAX_SIMULATED_EPOCH, SimulatedClock } from '../simulator/schedule';
import { createSimulator, Simulator } from '../simulator/simulator';
import { encodeTemperature, encodeVoltage, EXTRA_VALUES, VoltageReading } from '../wire/codec';
import { FORECAST_CYCLES } from '../wire/subjects';
import { HouseholdCursor, SKIP_REASONS, SkipReason, UciRow } from './uci';

export interface ReplaySettings extends SimulatedClock {
  /** One file per household, in the UCI format. */
  files: string[];
  metersPerHousehold: number;
  /** Injector slot: the meters are on line 10·slot+1. */
  slot: number;
  /** Seed of the weather model (temperature and forecast). */
  seed: number;
  /** The recording's nominal voltage (230 V) and the stack's (120 V). */
  recordedNominalVoltage: number;
  nominalVoltage: number;
  durationSeconds?: number;
  subjectRoot?: string;
  /** Most cycles published in one tick of the event loop (default 100). */
  burstMax?: number;
  flushIntervalMs?: number;
}

export interface ReplayMetrics {
  skipped: Counter<'reason'>;
  finished: Gauge;
}

export function createReplayMetrics(registry: Registry): ReplayMetrics {
  const registers = [registry];
  return {
    skipped: zeroed(
      new Counter({
        name: 'smartmeter_inject_replay_skipped_total',
        help: 'Recorded rows not published, by reason (missing: a value is "?"; malformed; out_of_order)',
        labelNames: ['reason'],
        registers,
      }),
      { reason: [...SKIP_REASONS] },
    ),
    finished: new Gauge({
      name: 'smartmeter_inject_replay_finished',
      help: '1 once every recorded household has been replayed to its end',
      registers,
    }),
  };
}

export interface ReplayStats {
  published: { voltage: number; temperature: number; forecast: number };
  skipped: Record<SkipReason, number>;
  /** Rows before the simulated time at start, not replayed. */
  earlierRows: number;
  cycles: number;
  firstEpoch: number;
  lastEpoch: number;
  /** True when every file was replayed to its end (false: stopped or out of time first). */
  ended: boolean;
  /** Messages the sink still held at the end and gave up. */
  undelivered: number;
}

/** The wire reading of a recorded row, its voltage moved to the stack's nominal. */
export function toVoltageReading(row: UciRow, settings: ReplaySettings): VoltageReading {
  const values = [row.reactivePower, row.intensity, ...row.subMetering];
  while (values.length < EXTRA_VALUES) values.push(0);
  return {
    epoch: row.epoch,
    voltage: (row.voltage * settings.nominalVoltage) / settings.recordedNominalVoltage,
    demand: row.activePower,
    values,
  };
}

/**
 * The stack's clock cut into simulated minutes: cycle k is due at anchor + 60k/acceleration real seconds and
 * is the minute of start + 60k, the clock's reading then (exact integers: 60/acceleration is not).
 */
export function minuteGrid({ start, anchor = start, acceleration }: SimulatedClock) {
  const base = Math.floor(start / 60) * 60;
  const epochOf = (k: number) => base + 60 * k;
  return {
    epochOf,
    dueAt: (k: number) => anchor + (60 * k) / acceleration,
    /** The first cycle due at or after `realSeconds`; throws if its minute is outside 1970 … 9999. */
    firstCycle(realSeconds: number): number {
      // Less a hair, so that a cycle's own due instant (rounded) still counts as due; + 0 turns -0 into 0.
      const k = Math.ceil(((realSeconds - anchor) * acceleration) / 60 - 1e-9) + 0;
      if (!(epochOf(k) >= 0 && epochOf(k) <= MAX_SIMULATED_EPOCH)) {
        throw new RangeError(
          `the simulated time now (${epochOf(k)}) is outside 1970 … 9999: check the start and anchor`,
        );
      }
      return k;
    },
  };
}

export interface ReplayOptions extends RunOptions {
  replayMetrics?: ReplayMetrics;
}

export async function runReplay(
  sink: Sink,
  settings: ReplaySettings,
  { metrics, replayMetrics, log, stopping = () => false }: ReplayOptions = {},
): Promise<ReplayStats> {
  const { files, metersPerHousehold, acceleration, durationSeconds = Infinity } = settings;
  // The meters as the simulator lays them out: households are transformers, their copies usage points.
  const sim: Simulator = createSimulator({
    seed: settings.seed,
    slot: settings.slot,
    topology: { lines: 1, transformers: files.length, usagePoints: metersPerHousehold },
    cycleSeconds: 60,
  });
  const subjects = rootedSubjects(settings.subjectRoot ?? 'smartmeter', sim);
  const grid = minuteGrid(settings);
  const stats: ReplayStats = {
    published: { voltage: 0, temperature: 0, forecast: 0 },
    skipped: { missing: 0, malformed: 0, out_of_order: 0 },
    earlierRows: 0,
    cycles: 0,
    firstEpoch: NaN,
    lastEpoch: NaN,
    ended: false,
    undelivered: 0,
  };
  const slot = String(settings.slot);
  const meterKeys = sim.meters.map((m) => `${m.line}.${m.transformer}.${m.usagePoint}`);
  const households = files.map(
    (path) =>
      new HouseholdCursor(path, (reason, line) => {
        stats.skipped[reason]++;
        replayMetrics?.skipped.inc({ reason });
        log?.debug('replay: row skipped', { path, line, reason });
      }),
  );
  // The first cycle due from now on, and never before the clock reads `start` (an anchor ahead: dev, tests).
  const firstCycle = Math.max(0, grid.firstCycle(Date.now() / 1000));
  const first = await Promise.all(households.map((h) => h.peek()));
  log?.info('replaying', {
    files,
    meters: sim.meters.length,
    firstRecorded: first.map((r) => (r ? new Date(r.epoch * 1000).toISOString() : null)),
    clockAt: new Date(grid.epochOf(firstCycle) * 1000).toISOString(),
    acceleration,
  });
  metrics?.slot.set(sim.slot);
  metrics?.meters.set(sim.meters.length);
  metrics?.targetRate.set(((sim.meters.length + 2) * acceleration) / 60);
  replayMetrics?.finished.set(0);

  const firstDue = grid.dueAt(firstCycle);
  while (!stopping() && Date.now() / 1000 < firstDue) {
    await sleep(Math.max(1, Math.min(firstDue - Date.now() / 1000, 0.25) * 1000));
  }
  const pacer = new Pacer(acceleration / 60);
  const burstMax = settings.burstMax ?? 100;
  const flushIntervalS = (settings.flushIntervalMs ?? 100) / 1000;
  let lastFlush = 0;
  let cycle = firstCycle;

  const publishCycle = async () => {
    const epoch = grid.epochOf(cycle);
    const ahead = grid.epochOf(cycle + FORECAST_CYCLES);
    sink.send({
      subject: subjects.temperature,
      payload: encodeTemperature(sim.temperatureAt(epoch)),
      id: readingId('temperature', slot, epoch),
    });
    sink.send({
      subject: subjects.forecast,
      payload: encodeTemperature(sim.temperatureAt(ahead)),
      id: readingId('forecast', slot, ahead),
    });
    let voltages = 0;
    for (let h = 0; h < households.length; h++) {
      const row = await households[h].at(epoch);
      if (!row) continue;
      const payload = encodeVoltage(toVoltageReading(row, settings));
      for (let u = 0; u < metersPerHousehold; u++) {
        const m = h * metersPerHousehold + u;
        sink.send({ subject: subjects.voltage[m], payload, id: readingId('voltage', meterKeys[m], epoch) });
      }
      voltages += metersPerHousehold;
    }
    stats.published.temperature++;
    stats.published.forecast++;
    stats.published.voltage += voltages;
    metrics?.readings.inc({ kind: 'temperature' });
    metrics?.readings.inc({ kind: 'forecast' });
    if (voltages) metrics?.readings.inc({ kind: 'voltage' }, voltages);
    metrics?.simulatedEpoch.set(epoch);
    if (stats.cycles === 0) stats.firstEpoch = epoch;
    stats.lastEpoch = epoch;
    stats.cycles++;
    cycle++;
  };

  const allEnded = async () => (await Promise.all(households.map((h) => h.peek()))).every((r) => !r);
  for (;;) {
    if (stopping() || pacer.elapsed() >= durationSeconds) break;
    if (await allEnded()) {
      stats.ended = true;
      break;
    }
    const due = pacer.due(burstMax);
    for (let j = 0; j < due; j++) await publishCycle();
    pacer.take(due);
    const elapsed = pacer.elapsed();
    metrics?.lag.set(Math.max(0, -pacer.untilNext()));
    if (elapsed - lastFlush >= flushIntervalS) {
      lastFlush = elapsed;
      await sink.flush();
    } else if (pacer.due(1) > 0) {
      await new Promise((resolve) => setImmediate(resolve)); // behind: let I/O run, then catch up
    } else {
      await sleep(Math.max(1, Math.min(pacer.untilNext(), 0.25) * 1000));
    }
  }
  stats.undelivered = await sink.drain(15_000);
  stats.earlierRows = households.reduce((n, h) => n + h.earlierRows, 0);
  if (stats.ended) replayMetrics?.finished.set(1);
  metrics?.lag.set(0);
  log?.info(stats.ended ? 'replay finished' : 'replay stopped', { ...stats });
  return stats;
}
