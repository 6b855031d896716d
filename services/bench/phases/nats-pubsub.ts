// (a) The raw nats.js publish→subscribe rate: separate connections in one process, 56-byte payloads.
import { sleep } from '../../src/lib/retry';
import { BackingEnv, natsConnect } from '../../harness/backing';
import { now, RUN_ID } from '../settings';

export async function natsPubSub(env: BackingEnv, count: number, timeoutS: number): Promise<number> {
  const subject = `bench_${RUN_ID}.pubsub`;
  const pub = await natsConnect(env, 'bench-pub');
  const sub = await natsConnect(env, 'bench-sub');
  const payload = new Uint8Array(56).fill(7);
  let received = 0;
  let last = 0;
  const done = new Promise<void>((res) => {
    sub.subscribe(subject, {
      callback: () => {
        if (++received === count) res();
        last = now();
      },
    });
  });
  await sub.flush();
  const t0 = now();
  for (let i = 0; i < count && now() - t0 < timeoutS; i++) {
    pub.publish(subject, payload);
    if (i % 10_000 === 9_999) await pub.flush(); // bounds the client's buffer
  }
  await pub.flush();
  await Promise.race([done, sleep(5000)]);
  await pub.close();
  await sub.close();
  if (received < count)
    console.log(`  (a) note: ${count - received} of ${count} not received (slow consumer)`);
  return received / (last - t0);
}
