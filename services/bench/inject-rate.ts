// Prints one injector's maximum publish rate against the NATS of NATS_URL / NATS_USER / NATS_PASSWORD:
//   npx tsc -p services/tsconfig.bench.json && node services/dist/bench/bench/inject-rate.js [seconds]
import { EnvReader } from '../src/lib/config';
import { natsSettings, connectNats } from '../src/lib/nats';
import { createLogger } from '../src/lib/log';
import { Registry } from 'prom-client';
import { measureInjectorRate } from '../src/simulator/benchmark';

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  if (!(seconds > 0 && seconds <= 600))
    throw new Error(`seconds must be in (0, 600], got ${process.argv[2]}`);
  const log = createLogger({ bench: 'inject-rate' }, 'warn');
  const nc = await connectNats(natsSettings(new EnvReader(), 'bench-inject-rate'), log, new Registry());
  try {
    const r = await measureInjectorRate(nc, { seconds });
    process.stdout.write(
      `inject max publish rate: ${Math.round(r.perSecond)} readings/s ` +
        `(${r.published} in ${r.seconds.toFixed(2)} s, ${r.meters} meters, one process)\n`,
    );
  } finally {
    await nc.drain();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
