// The tests' side of the backing services: everyone uses the same NATS and Cassandra, so each test works in
// its own keyspace and subjects, named uniquely. Where the services are and how to reach them is in
// services/harness/backing.ts (shared with the bench), re-exported here so a test has one place to import.
import { Client } from 'cassandra-driver';
import { JsMsg, NatsConnection } from 'nats';
import { createCassandraClient } from '../../src/lib/cassandra';
import { createLogger } from '../../src/lib/log';
import { migrate } from '../../src/storage/migrate';
import { BackingEnv, cassandraSettingsFor } from '../../harness/backing';

export {
  BackingEnv,
  backingEnv,
  cassandraSettingsFor,
  freePort,
  natsConnect,
  requireService,
  roleProcessEnv,
  testDelivery,
} from '../../harness/backing';

export const quietLog = createLogger({ role: 'test' }, 'warn');

/** `<prefix><time><random>`: lower-case letters, digits and the prefix's own characters. */
export function uniqueName(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** A connected client on a keyspace just created with the real migrate. */
export async function freshKeyspace(env: BackingEnv, keyspace: string): Promise<Client> {
  const settings = cassandraSettingsFor(env, keyspace);
  const client = createCassandraClient(settings);
  await client.connect();
  await migrate(client, settings, { replicationFactor: 1 }, quietLog);
  return client;
}

/**
 * `client.shutdown()` for a client that lived through a Cassandra restart. cassandra-driver 4.10 replaces its
 * Host objects when the node comes back and shutdown() stops only the current ones: the earlier hosts keep a
 * health-check interval and reconnection timers that keep the process (jest) running forever. Pass what
 * `client.hosts.values()` returned before the restart; Host#shutdown is internal, hence the cast.
 */
export async function shutdownAfterRestart(
  client: Client | undefined,
  hostsBefore: unknown[],
): Promise<void> {
  await client?.shutdown().catch(() => undefined);
  for (const host of hostsBefore as { shutdown?: (waitForPending: boolean) => Promise<void> }[])
    await host.shutdown?.(false).catch(() => undefined);
}

/** Every message a stream holds, in order (an ordered consumer from its first message). */
export async function streamContents(nc: NatsConnection, stream: string): Promise<JsMsg[]> {
  const total = (await (await nc.jetstreamManager()).streams.info(stream)).state.messages;
  const out: JsMsg[] = [];
  if (total === 0) return out;
  const messages = await (await nc.jetstream().consumers.get(stream)).consume({ max_messages: 1000 });
  for await (const m of messages) {
    out.push(m);
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}
