// `npm run bench:cassandra-tls --workspace services`: what client-to-node TLS costs Cassandra inserts
// (phases/cassandra-tls.ts), alone: it starts its own Cassandra node (a container) and needs neither the
// backing services nor the rest of the bench. Rows per run BENCH_TLS_ROWS (default 40,000), pairs
// BENCH_ROUNDS (default 3), concurrency BENCH_TLS_CONCURRENCY (default 256).
import { createSimulator, topologyFromRate } from '../src/simulator';
import { cassandraTlsCost } from './phases/cassandra-tls';
import { ROUNDS } from './settings';

const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

async function main() {
  const rows = int('BENCH_TLS_ROWS', 40_000);
  const level = int('BENCH_TLS_CONCURRENCY', 256);
  console.log(
    `node ${process.version}; Cassandra raw inserts (executeConcurrent, concurrency ${level}), ${rows.toLocaleString('en-US')} ` +
      `rows a run, plaintext then TLS with a client certificate against one node (client encryption optional), ${ROUNDS} pairs`,
  );
  const sim = createSimulator({ seed: 7, topology: topologyFromRate(10_000) });
  await cassandraTlsCost(sim, rows, level, ROUNDS);
}

main().then(
  () => process.exit(),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
