// Row counts of the backing Cassandra, for the tests and the bench alike.
import { Client } from 'cassandra-driver';

/** The rows of `keyspace`.raw_data, counted by paging through the keys: COUNT(*) over a few 100,000 rows can time out. */
export async function countRows(client: Client, keyspace: string): Promise<number> {
  let n = 0;
  let pageState: string | undefined;
  do {
    const rs = await client.execute(`SELECT line FROM ${keyspace}.raw_data`, [], {
      fetchSize: 10_000,
      pageState,
      readTimeout: 60_000,
    });
    n += rs.rowLength;
    pageState = rs.pageState ?? undefined;
  } while (pageState);
  return n;
}
