// Training rows straight from the simulator's model, for the benchmark and tests: per simulated cycle,
// the max voltage over all meters and the temperature, as the stream role writes them to max_voltage and
// temperature (Cassandra `float`, hence float32). The same seed and options give the same rows.
import { Client } from 'cassandra-driver';
import { createSimulator, OverVoltageOptions, topologyFromRate } from '../src/simulator';
import { Observation } from '../src/training/features';

export interface SimulatedDataOptions {
  /** First simulated epoch (seconds, UTC). */
  startEpoch: number;
  days: number;
  seed?: number;
  /** Readings per second of one injector, which sets the meter topology as in the original (default 500). */
  rate?: number;
  /** Simulated seconds between cycles (default 900: the original's 15 minutes). */
  cycleSeconds?: number;
  overVoltage?: OverVoltageOptions;
}

export function simulatedObservations(opts: SimulatedDataOptions): Observation[] {
  const cycleSeconds = opts.cycleSeconds ?? 900;
  const sim = createSimulator({
    seed: opts.seed ?? 1,
    topology: topologyFromRate(opts.rate ?? 500),
    cycleSeconds,
    overVoltage: opts.overVoltage,
  });
  const rows: Observation[] = [];
  const end = opts.startEpoch + opts.days * 86_400;
  for (let epoch = opts.startEpoch; epoch < end; epoch += cycleSeconds) {
    const cycle = sim.cycleAt(epoch);
    let max = -Infinity;
    for (const v of cycle.voltages) max = Math.max(max, v.reading.voltage);
    rows.push({
      epoch: cycle.epoch,
      voltage: Math.fround(max),
      temperature: Math.fround(cycle.temperature.temperature),
    });
  }
  return rows;
}

/** Upserts rows into max_voltage and temperature, a bounded number of writes in flight. */
export async function writeObservations(
  client: Client,
  keyspace: string,
  rows: readonly Observation[],
  concurrency = 64,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const r = rows[next++];
      await client.execute(
        `INSERT INTO ${keyspace}.max_voltage (epoch, voltage) VALUES (?, ?)`,
        [r.epoch, r.voltage],
        {
          prepare: true,
        },
      );
      await client.execute(
        `INSERT INTO ${keyspace}.temperature (epoch, temperature) VALUES (?, ?)`,
        [r.epoch, r.temperature],
        { prepare: true },
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
}
