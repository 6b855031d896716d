// A role whose NATS connection closes under it (nats.js reconnects an open connection forever, but never a
// closed one) must not stay up and green: /healthz turns 503 with the reason, and the close is counted.
// Its own shutdown closing the connection is not such a failure.
import { AddressInfo } from 'node:net';
import { connectNats } from '../../src/lib/nats';
import { startService, StartedService } from '../../src/lib/service';
import { EnvReader } from '../../src/lib/config';
import { backingEnv, quietLog } from '../support/backing';

const env = backingEnv();
const settings = { servers: [env.natsUrl], user: env.natsUser, pass: env.natsPassword, name: 'closed-test' };
let service: StartedService;

beforeEach(async () => {
  service = await startService('inject', new EnvReader({ METRICS_PORT: '0', LOG_LEVEL: 'error' }));
  service.context.setReady(true);
});
afterEach(() => service.shutdown());

const healthz = async () => {
  const { port } = service.server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: await res.text() };
};
const closes = async () =>
  (
    await service.context.registry.getSingleMetric('smartmeter_nats_connection_events_total')!.get()
  ).values.find((v) => v.labels.event === 'closed')?.value;

test('a connection closed while the role runs turns /healthz not ready, with the reason, and is counted', async () => {
  const { context } = service;
  const nc = await connectNats(
    settings,
    quietLog,
    context.registry,
    () => context.stopping,
    context.setReady,
  );
  expect((await healthz()).status).toBe(200);
  await nc.close();
  await new Promise((resolve) => setImmediate(resolve)); // the closed() handler runs after close resolves
  const health = await healthz();
  expect(health.status).toBe(503);
  expect(health.body).toContain('NATS connection closed');
  expect(await closes()).toBe(1);
});

test("the role's own shutdown closing it is not a failure", async () => {
  let stopping = false;
  const { context } = service;
  const nc = await connectNats(settings, quietLog, context.registry, () => stopping, context.setReady);
  stopping = true;
  await nc.close();
  await new Promise((resolve) => setImmediate(resolve));
  expect((await healthz()).status).toBe(200);
  expect(await closes()).toBe(0);
});
