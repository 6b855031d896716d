// The backing services run with the durability the stack deploys by default (components/config.ts
// `durability: synced`): read back from the running engines, not from the files the script wrote.
import { auth, Client } from 'cassandra-driver';
import { backingEnv, requireService } from '../../services/test/support/backing';
import { cassandraCommitLogSync, natsSync } from '../../services/harness/durability';

const env = backingEnv();

test('JetStream syncs every write before acknowledging it (sync_interval: always)', async () => {
  await requireService('nats', env.natsUrl);
  expect((await natsSync(env.natsMonitorUrl)).always).toBe(true);
});

test('Cassandra syncs its commit log before acknowledging a write (commitlog_sync: batch)', async () => {
  await requireService('cassandra', env.cassandraContactPoints[0]);
  const client = new Client({
    contactPoints: env.cassandraContactPoints,
    localDataCenter: env.cassandraLocalDc,
    authProvider: new auth.PlainTextAuthProvider(env.cassandraUsername, env.cassandraPassword),
  });
  try {
    expect(await cassandraCommitLogSync(client)).toEqual({ mode: 'batch', period: '0ms' });
  } finally {
    await client.shutdown();
  }
});
