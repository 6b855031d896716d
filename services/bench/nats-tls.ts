// NATS TLS benchmark: what TLS on the client port (as the aws stack runs it) costs the injectors' path.
// Two nats-server processes of its own on loopback (scripts/nats-server.sh's binary), one plain and one
// with the `tls { }` block the program renders (components/tiers/nats-auth.ts natsTlsBlock) and a CA and
// certificate made here (harness/certificates.ts); a JetStream stream on each (file storage, the server's default
// sync, so the disk does not hide the cost). Each mode publishes 56-byte readings with acknowledgements,
// a bounded window in flight as the injectors do, for a fixed time, twice, interleaved (plain, TLS,
// plain, TLS); prints messages per second per mode and the ratio TLS / plain.
//
// Standalone: npm run bench:nats-tls --workspace services   (needs no backing service)
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connect, NatsConnection, RetentionPolicy, StorageType } from 'nats';

import { testAuthority } from '../harness/certificates';
import { repoRoot } from './machine';

const SECONDS = Number(process.env.BENCH_NATS_TLS_SECONDS ?? 8);
const WINDOW = 256;
const ROUNDS = 2;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startServer(
  binary: string,
  dir: string,
  name: string,
  tlsBlock: string,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    `listen: 127.0.0.1:${port}\nserver_name: ${name}\njetstream { store_dir: "${join(dir, name)}" }\n${tlsBlock}\n`,
  );
  const child = spawn(binary, ['-c', conf], { stdio: 'ignore' });
  return { child, port };
}

/** Acknowledged publishes for `seconds`, WINDOW in flight; messages per second. */
async function publishRate(nc: NatsConnection, subject: string, seconds: number): Promise<number> {
  const js = nc.jetstream();
  const payload = new Uint8Array(56).fill(7);
  const inFlight = new Set<Promise<unknown>>();
  let acked = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    const p = js.publish(subject, payload).then(() => {
      acked++;
      inFlight.delete(p);
    });
    inFlight.add(p);
    if (inFlight.size >= WINDOW) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return acked / ((performance.now() - t0) / 1000);
}

async function connectWhenUp(port: number, tls?: { caFile: string }): Promise<NatsConnection> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await connect({ servers: `127.0.0.1:${port}`, tls, maxReconnectAttempts: 0 });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function runNatsTlsBench(): Promise<{ plain: number; tls: number; ratio: number }> {
  const binary = execFileSync('bash', [join(repoRoot(), 'scripts/nats-server.sh')], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop() as string;
  const dir = mkdtempSync(join(tmpdir(), 'bench-nats-tls-'));
  const children: ChildProcess[] = [];
  const connections: NatsConnection[] = [];
  try {
    const authority = testAuthority(dir, 'bench CA');
    const server = authority.issue('tls', 'nats', { uses: ['server'] });
    const plainServer = await startServer(binary, dir, 'plain', '');
    const tlsServer = await startServer(
      binary,
      dir,
      'tls',
      `tls {\n  cert_file: "${server.certFile}"\n  key_file: "${server.keyFile}"\n  ca_file: "${authority.caFile}"\n  timeout: 5\n}`,
    );
    children.push(plainServer.child, tlsServer.child);
    const modes = {
      plain: await connectWhenUp(plainServer.port),
      tls: await connectWhenUp(tlsServer.port, { caFile: authority.caFile }),
    };
    connections.push(modes.plain, modes.tls);
    for (const nc of connections) {
      await (
        await nc.jetstreamManager()
      ).streams.add({
        name: 'BENCH',
        subjects: ['bench.>'],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
      });
    }
    const rates: Record<'plain' | 'tls', number[]> = { plain: [], tls: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ['plain', 'tls'] as const) {
        const rate = await publishRate(modes[mode], 'bench.voltage', SECONDS);
        rates[mode].push(rate);
        console.log(`  round ${round + 1} ${mode.padEnd(5)} ${Math.round(rate)} acknowledged msg/s`);
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const result = {
      plain: mean(rates.plain),
      tls: mean(rates.tls),
      ratio: mean(rates.tls) / mean(rates.plain),
    };
    console.log(
      `NATS JetStream publish+ack, 56 B, ${WINDOW} in flight, ${SECONDS} s × ${ROUNDS} per mode: ` +
        `plain ${Math.round(result.plain)} msg/s, TLS ${Math.round(result.tls)} msg/s, TLS/plain ${result.ratio.toFixed(3)}`,
    );
    return result;
  } finally {
    for (const nc of connections) await nc.close().catch(() => undefined);
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runNatsTlsBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
