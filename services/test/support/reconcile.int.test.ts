// streamIdCounts against the real NATS: every message up to the stream's last sequence, counted by id.
import { headers, NatsConnection } from 'nats';
import { backingEnv, natsConnect, requireService, uniqueName } from './backing';
import { streamIdCounts } from './reconcile';

let nc: NatsConnection;
const stream = uniqueName('RECONCILE');
const subject = `${stream.toLowerCase()}.x`;

beforeAll(async () => {
  const env = backingEnv();
  await requireService('nats', env.natsUrl);
  nc = await natsConnect(env, 'reconcile-test');
  // A short duplicate window, so the same Nats-Msg-Id can be stored twice, as it would be past the window.
  await (
    await nc.jetstreamManager()
  ).streams.add({ name: stream, subjects: [subject], duplicate_window: 100e6 });
});

afterAll(async () => {
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
  await nc.close();
});

const publish = (id: string) => {
  const h = headers();
  h.set('Nats-Msg-Id', id);
  return nc.jetstream().publish(subject, new Uint8Array(1), { headers: h });
};

test('counts every message by its Nats-Msg-Id, a reading stored twice as 2, and ends on the last sequence', async () => {
  for (let i = 0; i < 2500; i++) await publish(`r${i}`);
  await new Promise((res) => setTimeout(res, 300)); // past the duplicate window
  await publish('r7');
  const counts = await streamIdCounts(nc, stream, 30_000);
  expect(counts.size).toBe(2500);
  expect(counts.get('r7')).toBe(2);
  expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(2501);
}, 120_000);
