// Foundation check: the real NATS server from scripts/backing-services.sh runs JetStream with file
// storage and requires the generated credentials.
import { AckPolicy, connect, NatsConnection, RetentionPolicy, StorageType, StringCodec } from 'nats';
import { backingEnv, natsConnect, requireService } from '../../services/test/support/backing';

const env = backingEnv();
const sc = StringCodec();
const run = `t${Date.now().toString(36)}`;
const stream = `FOUNDATION_${run}`;
const subject = `foundation.${run}.readings`;
let nc: NatsConnection;

beforeAll(async () => {
  await requireService('nats', env.natsUrl);
  nc = await natsConnect(env, 'nats-jetstream-test');
});

afterAll(async () => {
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
  await nc.close();
});

test('rejects a connection without credentials', async () => {
  await expect(connect({ servers: env.natsUrl, reconnect: false })).rejects.toThrow(/Authorization/i);
});

test('publishes to and consumes from a file-backed JetStream stream through a durable consumer', async () => {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.add({
    name: stream,
    subjects: [`${subject}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
  });
  expect(info.config.storage).toBe(StorageType.File);
  await jsm.consumers.add(stream, { durable_name: 'reader', ack_policy: AckPolicy.Explicit });

  const js = nc.jetstream();
  const sent = Array.from({ length: 200 }, (_, i) => `reading-${i}`);
  for (const [i, body] of sent.entries()) {
    const ack = await js.publish(`${subject}.m${i % 4}`, sc.encode(body));
    expect(ack.stream).toBe(stream);
  }

  const consumer = await js.consumers.get(stream, 'reader');
  const received: string[] = [];
  while (received.length < sent.length) {
    const batch = await consumer.fetch({ max_messages: 50, expires: 2000 });
    for await (const m of batch) {
      received.push(sc.decode(m.data));
      m.ack();
    }
  }
  expect(received).toEqual(sent);

  // Acknowledged: nothing remains pending for the durable consumer.
  await nc.flush();
  const ci = await jsm.consumers.info(stream, 'reader');
  expect(ci.num_pending).toBe(0);
  expect(ci.delivered.stream_seq).toBe(sent.length);
});
