// The training set: max_voltage ⋈ temperature on the simulated epoch, read from Cassandra. Both tables
// are keyed by epoch alone (one row per simulated 15 minutes), so the join is a full read of each,
// paged by the driver, joined in memory: a month is 2,880 rows, a year 35,040.
import { Client } from 'cassandra-driver';
import { Observation } from './features';

const FETCH_SIZE = 5000;

async function readColumn(client: Client, query: string, column: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const result = await client.execute(query, [], { prepare: true, fetchSize: FETCH_SIZE });
  for await (const row of result) {
    const value = row[column] as number | null;
    if (value !== null && Number.isFinite(value)) out.set(Number(row.epoch), value);
  }
  return out;
}

/** Epochs present in both tables, oldest first. */
export async function loadObservations(client: Client, keyspace: string): Promise<Observation[]> {
  const [voltages, temperatures] = await Promise.all([
    readColumn(client, `SELECT epoch, voltage FROM ${keyspace}.max_voltage`, 'voltage'),
    readColumn(client, `SELECT epoch, temperature FROM ${keyspace}.temperature`, 'temperature'),
  ]);
  const rows: Observation[] = [];
  for (const [epoch, voltage] of voltages) {
    const temperature = temperatures.get(epoch);
    if (temperature !== undefined) rows.push({ epoch, voltage, temperature });
  }
  return rows.sort((a, b) => a.epoch - b.epoch);
}
