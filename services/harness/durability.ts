// What a running NATS server and Cassandra node say of their durability, read from the engines themselves
// (not from a configuration file): whether JetStream syncs every write (`sync_always` in /varz) and how
// Cassandra syncs its commit log (`system_views.settings`).
import { Client } from 'cassandra-driver';

/** JetStream's sync settings as the server runs them: always, or every `intervalSeconds`. */
export async function natsSync(
  monitorUrl: string,
  /** Reads /varz another way (the swarm suite: from inside a member, its monitoring being private). */
  read: () => Promise<unknown> | unknown = async () => (await fetch(`${monitorUrl}/varz`)).json(),
): Promise<{ always: boolean; intervalSeconds: number }> {
  const varz = (await read()) as {
    jetstream?: { config?: { sync_always?: boolean; sync_interval?: number } };
  };
  const config = varz.jetstream?.config;
  if (!config) throw new Error(`${monitorUrl}/varz reports no JetStream configuration`);
  return { always: config.sync_always === true, intervalSeconds: (config.sync_interval ?? 0) / 1e9 };
}

/** Cassandra's commit-log sync mode (periodic, batch or group) and its period, as the node runs them. */
export async function cassandraCommitLogSync(client: Client): Promise<{ mode: string; period: string }> {
  const rs = await client.execute(
    "SELECT name, value FROM system_views.settings WHERE name IN ('commitlog_sync', 'commitlog_sync_period')",
  );
  const value = (name: string) => String(rs.rows.find((r) => r.name === name)?.value);
  return { mode: value('commitlog_sync'), period: value('commitlog_sync_period') };
}
