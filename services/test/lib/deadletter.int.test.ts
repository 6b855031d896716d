// DeadLetters against the real nats-server: a letter of max_payload bytes arrives cut to fit with its
// original length in a header; one that cannot be published at all (connection closed) is counted, not
// thrown.
import { Registry } from 'prom-client';
import { createDeadLetterFailures, DeadLetters } from '../../src/lib/deadletter';
import { backingEnv, natsConnect, quietLog, requireService, uniqueName } from '../support/backing';

const env = backingEnv();

beforeAll(() => requireService('nats', env.natsUrl));

test('a letter of max_payload bytes is published cut to fit; on a closed connection it is counted', async () => {
  const nc = await natsConnect(env, 'deadletter-test');
  const root = uniqueName('dl');
  const registry = new Registry();
  const letters = new DeadLetters(nc, root, 'ingest', quietLog, createDeadLetterFailures(registry, 'ingest'));
  const sub = nc.subscribe(`${root}.deadletter.>`, { max: 2 });
  await nc.flush();
  const maxPayload = nc.info!.max_payload;
  const big = new Uint8Array(maxPayload).fill(7);
  const small = new Uint8Array([1, 2, 3]);
  const letter = {
    reason: 'size',
    subject: `${root}.raw.voltage.data.1.2.3`,
    error: 'too big',
    streamSeq: 9,
  };
  expect(letters.send({ ...letter, data: big })).toBe('truncated');
  expect(letters.send({ ...letter, data: small })).toBe('published');
  const got = [];
  for await (const m of sub) got.push(m);
  expect(got.map((m) => m.subject)).toEqual([`${root}.deadletter.size`, `${root}.deadletter.size`]);
  expect(got[0].headers?.get('Smartmeter-Truncated')).toBe(String(maxPayload));
  expect(got[0].data.byteLength).toBeGreaterThan(maxPayload - 1024);
  expect(got[0].data.every((b) => b === 7)).toBe(true);
  expect(got[0].headers?.get('Smartmeter-Stream-Seq')).toBe('9');
  expect(Array.from(got[1].data)).toEqual([1, 2, 3]);
  expect(got[1].headers?.has('Smartmeter-Truncated')).toBe(false);

  await nc.close();
  expect(letters.send({ ...letter, data: small })).toBe('failed');
  expect(
    (await registry.getSingleMetric('smartmeter_ingest_deadletter_failures_total')!.get()).values[0].value,
  ).toBe(1);
});
