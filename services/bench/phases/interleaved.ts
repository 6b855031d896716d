// (b), (a′) and (c) interleaved, b a′ c b a′ c … b, with the stores as they run now, so that a change of
// the machine's load moves all three: each (c) is compared with the mean of the (b) before and after it,
// and every figure is a median with its spread. Run once per durability mode (the price of durability).
import { Backlog, Bench } from '../context';
import { backingPid } from '../machine';
import { BACKLOG, CEILING_ROWS, INGEST_WARMUP, ROUNDS, RUN_ID, WARMUP } from '../settings';
import { fmt, fmtUs, spread } from '../stats';
import { ceilingParams, ceilingRun, CeilingRun, warmUp } from './ceiling';
import { FetchAckRun, rawFetchAck } from './fetch-ack';
import { Drain } from './drain';
import { ingestRun } from './ingest';

/** The warm-up, then `ROUNDS` (c) rounds; `tag` keeps each mode's keyspaces and streams apart. */
export async function interleaved(bench: Bench, tag: string, withFetchAck: boolean) {
  const t = (name: string) => console.log(`\n${name}`);
  t(
    `warm-up (not counted): passes of the raw insert loop, ${fmt(WARMUP.rows)} rows per concurrency level, ` +
      `until two passes' best rates agree within ${WARMUP.agree * 100}%`,
  );
  const best = await warmUp(bench);

  t(
    `(b)${withFetchAck ? ', (a′)' : ''} and (c) interleaved: b${withFetchAck ? ' a′' : ''} c … b, ${ROUNDS} ` +
      `(c) rounds; (b) ${fmt(CEILING_ROWS)} rows per run; ${withFetchAck ? '(a′) and ' : ''}(c) drain ` +
      `${fmt(BACKLOG)} readings, (c) with one ingest replica (its defaults unless INGEST_* set), each ` +
      `process's first ${fmt(INGEST_WARMUP)} readings not counted`,
  );
  const bRuns: CeilingRun[] = [];
  const aRuns: FetchAckRun[] = [];
  const cRuns: (Drain & { backlog: Backlog })[] = [];
  const params = ceilingParams(bench.sim, CEILING_ROWS, 0); // the backlog's readings, as rows
  for (let round = 0; round <= ROUNDS; round++) {
    const target = await bench.createKeyspace(`bench_${RUN_ID}_${tag}b${round + 1}`);
    const b = await ceilingRun(bench.cassandra, target, params, best.level, bench.cassandraPid);
    bRuns.push(b);
    console.log(
      `  (b) run ${round + 1}: ${fmt(b.rate)} rows/s; CPU/row driver loop ${fmtUs(b.rawUs)}, Cassandra ${fmtUs(b.cassandraUs)}`,
    );
    if (round === ROUNDS) break;
    if (withFetchAck) {
      const raw = await bench.backlog(`${tag}n${round + 1}`, BACKLOG);
      const a2 = await rawFetchAck(
        bench.nc,
        bench.jsm,
        raw.stream,
        raw.count,
        backingPid(bench.env, 'nats'),
        120,
      );
      aRuns.push(a2);
      console.log(
        `  (a′) run ${round + 1}: ${fmt(a2.rate)} msg/s; CPU/message fetch+ack loop ${fmtUs(a2.rawUs)}, ` +
          `nats-server ${fmtUs(a2.natsServerUs)}`,
      );
    }
    cRuns.push(await ingestRun(bench, `${tag}c${round + 1}`, 1));
  }
  return {
    best,
    bRuns,
    aRuns,
    cRuns,
    ceiling: spread(bRuns.map((r) => r.rate)),
    pipeline: spread(cRuns.map((r) => r.rate)),
    ratio: spread(cRuns.map((c, i) => c.rate / ((bRuns[i].rate + bRuns[i + 1].rate) / 2))),
  };
}
export type ModeRuns = Awaited<ReturnType<typeof interleaved>>;
