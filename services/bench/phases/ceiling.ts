// (b) The Cassandra insert ceiling: raw_data rows with cassandra-driver's executeConcurrent, bind values
// prepared beforehand: the very rows of (c)'s backlog, into a fresh keyspace as (c) gets, so both make
// Cassandra do the same work. Before any ceiling counts, a warm-up: passes of the same loop over several
// concurrency levels until two passes in a row agree, so Cassandra's JIT is steady; the last pass's best
// level is the one (b) uses.
import { Client, concurrent } from 'cassandra-driver';
import { rawDataInsert, rawDataParams } from '../../src/ingest/rows';
import { Simulator } from '../../src/simulator';
import { decodeVoltage, parseVoltageSubject } from '../../src/wire/codec';
import { Bench } from '../context';
import { processCpuUs } from '../cpu';
import { makeReadings } from '../readings';
import { now, WARMUP } from '../settings';
import { fmt } from '../stats';

export interface CeilingRun {
  rate: number;
  /** This process's CPU per row: the raw driver loop, bind values built beforehand. */
  rawUs: number;
  cassandraUs?: number;
}

export function ceilingParams(sim: Simulator, count: number, firstMinute: number) {
  return makeReadings(sim, count, firstMinute).map((r) =>
    rawDataParams(parseVoltageSubject(r.subject), decodeVoltage(r.data)),
  );
}

export async function ceilingRun(
  client: Client,
  keyspace: string,
  params: number[][],
  level: number,
  cassandraPid: number | undefined,
): Promise<CeilingRun> {
  // This process's counters read from /proc like the ingest processes', so both sides count alike.
  const self0 = processCpuUs(process.pid);
  const cass0 = processCpuUs(cassandraPid);
  const t0 = now();
  await concurrent.executeConcurrent(client, rawDataInsert(keyspace), params, { concurrencyLevel: level });
  const seconds = now() - t0;
  const cass1 = processCpuUs(cassandraPid);
  return {
    rate: params.length / seconds,
    rawUs: ((processCpuUs(process.pid) ?? NaN) - (self0 ?? NaN)) / params.length,
    cassandraUs: cass0 !== undefined && cass1 !== undefined ? (cass1 - cass0) / params.length : undefined,
  };
}

/** The warm-up (not counted): the concurrency level whose rate was best in the last pass. */
export async function warmUp(bench: Bench): Promise<{ level: number; rate: number }> {
  let best = { level: 0, rate: 0 };
  for (let pass = 1; ; pass++) {
    const previous = best;
    best = { level: 0, rate: 0 };
    const rates: string[] = [];
    for (const level of WARMUP.levels) {
      const params = ceilingParams(bench.sim, WARMUP.rows, bench.minute);
      bench.minute += Math.ceil(WARMUP.rows / bench.sim.meters.length);
      const run = await ceilingRun(bench.cassandra, bench.keyspace, params, level, undefined);
      rates.push(`${level}: ${fmt(run.rate)}`);
      if (run.rate > best.rate) best = { level, rate: run.rate };
    }
    console.log(`  pass ${pass}, rows/s at concurrency ${rates.join(', ')}`);
    if (Math.abs(best.rate - previous.rate) <= WARMUP.agree * previous.rate) break;
    if (pass === WARMUP.maxPasses) {
      console.log(`  not steady after ${pass} passes: the machine is busy, the figures below move more`);
      break;
    }
  }
  console.log(`  (b) uses concurrency ${best.level}`);
  return best;
}
