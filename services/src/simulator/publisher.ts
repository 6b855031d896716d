// The real-time injector: walks the simulator's cycles on the CycleSchedule and sends every reading on the
// original subjects and wire format to a Sink (delivery.ts: acknowledged batches into the raw stream, each
// reading with its identity as Nats-Msg-Id), paced to `rate` messages per second. Every
// message counts toward the rate: the temperature, the forecast and one voltage per meter of each cycle.
// It waits for the next cycle boundary of the shared grid (at most one cycle) and starts there, so its
// cycles are the other replicas' cycles, with the same epochs, due at the same real instants.
// Every injector publishes the temperature and forecast of its cycles: both are pure functions of the seed
// and the epoch, so replicas publish identical duplicates (the temperature table is keyed by epoch, and
// the stream job keeps the max per epoch: duplicates change nothing).
// Readings are produced in bursts (at most `burstMax` per tick) and the sink is flushed every
// `flushIntervalMs` (core NATS: a round trip that bounds the client's buffers; the delivery's own buffer is
// bounded by itself). The pace is the meters': an unreachable broker does not slow them down.
// Metrics are updated once per burst, not per message, to keep the hot path short.
// A meter in an injected outage (outages.ts) publishes nothing, but its place in the cycle is paced all the
// same, so the cycles stay on the shared grid. When the injector stops (stopped, or at the end of a bounded
// run) it sends a retire notice naming its meters, after its last reading: the stream job then stops
// watching them instead of reporting an outage of every one (streaming/outages.ts).
import { NatsConnection } from 'nats';
import { Counter, Gauge, Registry } from 'prom-client';
import { Logger } from '../lib/log';
import { sleep } from '../lib/retry';
import { FORECAST_CYCLES, SUBJECTS, underRoot } from '../wire/subjects';
import { encodeRetire, encodeTemperature, encodeVoltage } from '../wire/codec';
import { Pacer } from './pacer';
import { CycleSchedule, SimulatedClock } from './schedule';
import { Simulator } from './simulator';
import { zeroed } from '../lib/metrics';
import { Outgoing } from './delivery';
import { readingId } from './ledger';

/** The clock (start, anchor, acceleration: schedule.ts) and the pace. */
export interface InjectorSettings extends SimulatedClock {
  /** Messages per second (voltages + temperatures + forecasts). */
  rate: number;
  /** Stop after this many real seconds (default: run until stopped). */
  durationSeconds?: number;
  /** Stop after this many messages (default: no bound). */
  maxReadings?: number;
  /** Most messages published in one tick of the event loop (default 1000). */
  burstMax?: number;
  /** How often to flush the connection (default 100 ms). */
  flushIntervalMs?: number;
  /** First subject token, `smartmeter` in production; tests use their own to stay apart. */
  subjectRoot?: string;
  /** When stopping, how long the sink may take to deliver what it holds (default 15 s). */
  drainTimeoutMs?: number;
}

/** Where an injector's messages go. */
export interface Sink {
  send(message: Outgoing): void;
  /** Awaited every `flushIntervalMs` of the pacing loop. */
  flush(): Promise<void>;
  /** Delivers what is left within `timeoutMs`; resolves with the count given up. */
  drain(timeoutMs: number): Promise<number>;
}

/** Core NATS publishes, unacknowledged: what the injectors did before acknowledged delivery (the bench's baseline). */
export function coreSink(nc: NatsConnection): Sink {
  return {
    send: (m) => nc.publish(m.subject, m.payload),
    flush: () => nc.flush(),
    drain: async () => (await nc.flush(), 0),
  };
}

export type ReadingKind = 'voltage' | 'temperature' | 'forecast';

export interface InjectorStats {
  published: Record<ReadingKind, number>;
  total: number;
  cycles: number;
  overVoltageReadings: number;
  overVoltageEvents: number;
  /** Voltage readings not published: the meter was in an injected outage. */
  darkReadings: number;
  /** Epochs of the first and the last cycle published (NaN before the first). */
  firstEpoch: number;
  lastEpoch: number;
  elapsedSeconds: number;
  /** Messages the sink still held when the run ended and gave up (0 with core NATS). */
  undelivered: number;
}

export interface InjectorMetrics {
  readings: Counter<'kind'>;
  rate: Gauge;
  targetRate: Gauge;
  lag: Gauge;
  slot: Gauge;
  meters: Gauge;
  simulatedEpoch: Gauge;
  overVoltageReadings: Counter;
  overVoltageEvents: Counter;
  darkReadings: Counter;
}

export function createInjectorMetrics(registry: Registry): InjectorMetrics {
  const registers = [registry];
  return {
    readings: zeroed(
      new Counter({
        name: 'smartmeter_inject_readings_total',
        help: 'Readings published, by kind (voltage, temperature, forecast)',
        labelNames: ['kind'],
        registers,
      }),
      { kind: ['voltage', 'temperature', 'forecast'] },
    ),
    rate: new Gauge({
      name: 'smartmeter_inject_rate_readings_per_second',
      help: 'Readings published per second, measured over the last second',
      registers,
    }),
    targetRate: new Gauge({
      name: 'smartmeter_inject_target_rate_readings_per_second',
      help: 'Configured publish rate (INJECT_RATE)',
      registers,
    }),
    lag: new Gauge({
      name: 'smartmeter_inject_lag_seconds',
      help: 'How far publishing is behind its schedule (0 when on rate)',
      registers,
    }),
    slot: new Gauge({ name: 'smartmeter_inject_slot', help: 'Injector slot (lines 10·slot+1 …)', registers }),
    meters: new Gauge({
      name: 'smartmeter_inject_meters',
      help: 'Meters simulated by this injector',
      registers,
    }),
    simulatedEpoch: new Gauge({
      name: 'smartmeter_inject_simulated_epoch_seconds',
      help: 'Simulated epoch of the last cycle published',
      registers,
    }),
    overVoltageReadings: new Counter({
      name: 'smartmeter_inject_overvoltage_readings_total',
      help: 'Voltage readings published inside an injected over-voltage event',
      registers,
    }),
    overVoltageEvents: new Counter({
      name: 'smartmeter_inject_overvoltage_events_total',
      help: 'Injected over-voltage events started (one per meter and event window)',
      registers,
    }),
    darkReadings: new Counter({
      name: 'smartmeter_inject_outage_readings_total',
      help: 'Voltage readings not published because the meter was in an injected outage',
      registers,
    }),
  };
}

/** The original subjects with their first token replaced by `root`. */
export function rootedSubjects(root: string, sim: Simulator) {
  const reroot = (subject: string) => underRoot(root, subject);
  return {
    temperature: reroot(SUBJECTS.temperature),
    forecast: reroot(SUBJECTS.forecast),
    voltage: root === 'smartmeter' ? sim.subjects : sim.subjects.map(reroot),
    retire: reroot(SUBJECTS.retire),
  };
}

const LATE_GRACE_S = 0.5;

export interface RunOptions {
  metrics?: InjectorMetrics;
  log?: Logger;
  /** Polled between bursts: return true to stop (e.g. on SIGTERM). */
  stopping?: () => boolean;
}

/** Produces readings until stopped or a bound is reached; resolves once the sink has drained. */
export async function runInjector(
  sink: Sink,
  sim: Simulator,
  settings: InjectorSettings,
  { metrics, log, stopping = () => false }: RunOptions = {},
): Promise<InjectorStats> {
  const { rate, durationSeconds = Infinity, maxReadings = Infinity } = settings;
  const burstMax = settings.burstMax ?? 1000;
  const flushIntervalS = (settings.flushIntervalMs ?? 100) / 1000;
  const cycleLength = sim.meters.length + 2;
  const schedule = new CycleSchedule({
    start: settings.start,
    anchor: settings.anchor,
    acceleration: settings.acceleration,
    cycleRealSeconds: cycleLength / rate,
  });
  const startedAt = Date.now() / 1000;
  schedule.checkRange(startedAt);
  const firstCycle = schedule.firstCycle(startedAt);
  const windowS = sim.overVoltageWindowSeconds;
  const subjects = rootedSubjects(settings.subjectRoot ?? 'smartmeter', sim);
  const stats: InjectorStats = {
    published: { voltage: 0, temperature: 0, forecast: 0 },
    total: 0,
    cycles: 0,
    overVoltageReadings: 0,
    overVoltageEvents: 0,
    darkReadings: 0,
    firstEpoch: NaN,
    lastEpoch: NaN,
    elapsedSeconds: 0,
    undelivered: 0,
  };
  // Identities (ledger.ts readingId) built once per meter: a reading's id is its key and epoch.
  const meterKeys = sim.meters.map((m) => `${m.line}.${m.transformer}.${m.usagePoint}`);
  const slot = String(sim.slot);
  metrics?.targetRate.set(rate);
  metrics?.slot.set(sim.slot);
  metrics?.meters.set(sim.meters.length);

  // The cycle being published and the position in it: 0 temperature, 1 forecast, 2… voltages.
  let cycle = firstCycle - 1;
  let position = cycleLength;
  let epoch = NaN;
  let temperatureC = NaN;
  let temperature: Outgoing = { subject: subjects.temperature, payload: new Uint8Array(), id: '' };
  let forecast: Outgoing = { subject: subjects.forecast, payload: new Uint8Array(), id: '' };
  let eventsStart = false;

  const beginCycle = () => {
    cycle++;
    position = 0;
    const previous = epoch;
    epoch = schedule.epochOf(cycle);
    const reading = sim.temperatureAt(epoch);
    temperatureC = reading.temperature;
    temperature = {
      subject: subjects.temperature,
      payload: encodeTemperature(reading),
      id: readingId('temperature', slot, epoch),
    };
    const ahead = schedule.epochOf(cycle + FORECAST_CYCLES);
    forecast = {
      subject: subjects.forecast,
      payload: encodeTemperature(sim.temperatureAt(ahead)),
      id: readingId('forecast', slot, ahead),
    };
    // An over-voltage reading starts an event when its window differs from the previous cycle's.
    eventsStart = windowS > 0 && !(Math.floor(previous / windowS) === Math.floor(epoch / windowS));
    if (stats.cycles === 0) stats.firstEpoch = epoch;
    stats.cycles++;
    stats.lastEpoch = epoch;
  };

  const publishOne = () => {
    if (position === cycleLength) beginCycle();
    if (position === 0) {
      sink.send(temperature);
      stats.published.temperature++;
    } else if (position === 1) {
      sink.send(forecast);
      stats.published.forecast++;
    } else {
      const i = position - 2;
      if (sim.dark(i, epoch)) {
        stats.darkReadings++;
        position++;
        return;
      }
      const { reading, overVoltage } = sim.voltageAt(i, epoch, temperatureC);
      sink.send({
        subject: subjects.voltage[i],
        payload: encodeVoltage(reading),
        id: readingId('voltage', meterKeys[i], epoch),
      });
      stats.published.voltage++;
      if (overVoltage) {
        stats.overVoltageReadings++;
        if (eventsStart) stats.overVoltageEvents++;
      }
    }
    position++;
  };

  // Metrics lag the local counters by at most one burst.
  const reported = { voltage: 0, temperature: 0, forecast: 0, ovr: 0, ove: 0, dark: 0 };
  const report = () => {
    if (!metrics) return;
    for (const kind of ['voltage', 'temperature', 'forecast'] as const) {
      metrics.readings.inc({ kind }, stats.published[kind] - reported[kind]);
      reported[kind] = stats.published[kind];
    }
    metrics.overVoltageReadings.inc(stats.overVoltageReadings - reported.ovr);
    metrics.overVoltageEvents.inc(stats.overVoltageEvents - reported.ove);
    reported.ovr = stats.overVoltageReadings;
    reported.ove = stats.overVoltageEvents;
    metrics.darkReadings.inc(stats.darkReadings - reported.dark);
    reported.dark = stats.darkReadings;
    if (Number.isFinite(stats.lastEpoch)) metrics.simulatedEpoch.set(stats.lastEpoch);
  };

  log?.info('injecting', {
    rate,
    meters: sim.meters.length,
    topology: sim.topology,
    slot: sim.slot,
    clock: {
      start: settings.start,
      anchor: settings.anchor ?? settings.start,
      acceleration: settings.acceleration,
    },
    firstCycle,
    firstEpoch: schedule.epochOf(firstCycle),
    simulatedSecondsPerCycle: schedule.simulatedSecondsPerCycle,
  });
  // Wait for the first cycle's instant on the shared grid (at most one cycle away), in slices so that a
  // stop is not held up.
  const firstDue = schedule.dueAt(firstCycle);
  while (!stopping() && Date.now() / 1000 < firstDue) {
    await sleep(Math.max(1, Math.min(firstDue - Date.now() / 1000, 0.25) * 1000));
  }

  const pacer = new Pacer(rate);
  let lastFlush = 0;
  let rateWindow = { at: 0, count: 0 };

  // A bounded run stops at its duration, after publishing what fell due within it (n/rate < duration)
  // that a late last tick missed, for at most LATE_GRACE_S: a publisher further behind stops short.
  const dueWithin = Math.ceil(durationSeconds * rate - 1e-9);
  for (;;) {
    if (stopping() || pacer.count >= maxReadings) break;
    const elapsed = pacer.elapsed();
    const overtime = elapsed >= durationSeconds;
    if (overtime && (pacer.count >= dueWithin || elapsed >= durationSeconds + LATE_GRACE_S)) break;
    // Capped at dueWithin also before the end: due() reads the clock again, and a read just past the
    // duration would otherwise add the reading due at exactly durationSeconds (a 4th at 1/s for 3 s).
    const due = overtime ? burstMax : pacer.due(burstMax);
    const n = Math.min(due, dueWithin - pacer.count, maxReadings - pacer.count);
    for (let j = 0; j < n; j++) publishOne();
    pacer.take(n);
    stats.total = pacer.count;
    report();
    if (elapsed - rateWindow.at >= 1) {
      metrics?.rate.set((pacer.count - rateWindow.count) / (elapsed - rateWindow.at));
      metrics?.lag.set(Math.max(0, -pacer.untilNext()));
      rateWindow = { at: elapsed, count: pacer.count };
    }
    if (elapsed - lastFlush >= flushIntervalS) {
      lastFlush = elapsed;
      await sink.flush();
    } else if (pacer.due(1) > 0) {
      await new Promise((resolve) => setImmediate(resolve)); // behind: let I/O run, then catch up
    } else {
      const wait = Math.min(pacer.untilNext(), 0.25);
      await sleep(Math.max(1, wait * 1000));
    }
  }
  if (stats.cycles > 0) {
    const { lines, transformers, usagePoints } = sim.topology;
    const first = sim.meters[0].line;
    sink.send({
      subject: subjects.retire,
      payload: encodeRetire({
        lines: [first, first + lines - 1],
        transformers,
        usagepoints: usagePoints,
        epoch,
      }),
      id: readingId('retire', slot, epoch),
    });
  }
  stats.undelivered = await sink.drain(settings.drainTimeoutMs ?? 15_000);
  stats.total = pacer.count;
  stats.elapsedSeconds = pacer.elapsed();
  report();
  metrics?.lag.set(0);
  log?.info('injection stopped', { ...stats });
  return stats;
}
