// The engines themselves on the boundary values of the stack config (issue 23): what components/config.ts
// accepts, the real Prometheus (scripts/prometheus.sh), nats-server (scripts/nats-server.sh) and, where
// installed, the JVM take; and the values just past the boundary, which the config refuses, they refuse too.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connect, NatsConnection } from 'nats';

import { loadConfig } from '../../components/config';
import {
  jetStreamFileStoreBytes,
  JETSTREAM_MAX_DURATION_SECONDS,
} from '../../components/formats/jetstream-limits';
import { PROMETHEUS_MAX_DURATION } from '../../components/formats/prometheus-duration';
import { ensureRawStream } from '../../services/src/lib/jetstream';
import { NatsServer } from '../../services/test/support/nats-server';

const ROOT = join(__dirname, '../..');
const accepts = (values: Record<string, string>) => {
  try {
    loadConfig((k) => ({ platform: 'local', ...values })[k]);
    return true;
  } catch {
    return false;
  }
};

describe('Prometheus 3.5.0 reads the retention flags as the config does', () => {
  let prometheus: string;
  beforeAll(() => {
    const built = execFileSync('bash', [join(ROOT, 'scripts/prometheus.sh')], { encoding: 'utf8' });
    prometheus = join(built.trim().split('\n').pop() as string, 'prometheus');
  }, 900_000);

  /** Whether Prometheus parses the flag (it then stops on the missing config file instead). */
  const prometheusTakes = (flag: string, value: string) => {
    const run = spawnSync(prometheus, [`--${flag}=${value}`, '--config.file=/nonexistent/prometheus.yml'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return !/Error parsing command line arguments/.test(run.stdout + run.stderr);
  };

  it.each([
    '0',
    '7d',
    '1d12h',
    '007d',
    '1ms',
    PROMETHEUS_MAX_DURATION,
    '106751d23h47m16s855ms',
    '1d1d',
    '1D',
    '300y',
  ])('retention.time %j: both take it or both refuse it', (value) => {
    expect(prometheusTakes('storage.tsdb.retention.time', value)).toBe(
      accepts({ prometheusRetention: value }),
    );
  });

  it.each([
    '0',
    '1GB',
    '1GiB',
    '1.5GB',
    '.5GB',
    '1GB512MB',
    '7EB',
    '9EB',
    '1kB',
    '5',
    '1GiB512MB',
    '8EB',
    '-1GB',
  ])('retention.size %j: what the config takes, Prometheus takes', (value) => {
    const config = accepts({ prometheusRetentionSize: value });
    const engine = prometheusTakes('storage.tsdb.retention.size', value);
    // 8EB wraps to a negative int64 and -1GB means no limit in Prometheus: the config refuses both.
    if (config) expect(engine).toBe(true);
    if (!engine) expect(config).toBe(false);
  });
});

describe('nats-server 2.15 holds the raw stream at the largest budgets the config accepts', () => {
  let dir: string;
  let server: NatsServer;
  let nc: NatsConnection;
  const MAX_BYTES = 1024 * 1024 ** 4; // rawStreamMaxBytes 1024TiB, the largest accepted

  beforeAll(async () => {
    expect(
      accepts({ rawStreamMaxBytes: '1024TiB', rawStreamMaxAge: `${JETSTREAM_MAX_DURATION_SECONDS}s` }),
    ).toBe(true);
    expect(accepts({ rawStreamMaxBytes: '1025TiB' })).toBe(false);
    dir = mkdtempSync(join(tmpdir(), 'engine-formats-'));
    // The store the stack's NATS config declares for that budget (components/tiers/messaging.ts).
    server = await NatsServer.start({
      storeDir: join(dir, 'js'),
      maxFileStore: jetStreamFileStoreBytes(MAX_BYTES),
    });
    nc = await connect({ servers: server.url });
  }, 60_000);

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the raw stream with the longest max age and budget, and the outage stream beside it', async () => {
    const jsm = await nc.jetstreamManager();
    const raw = await ensureRawStream(jsm, {
      name: 'RAW',
      subjects: ['raw.>'],
      maxAgeSeconds: JETSTREAM_MAX_DURATION_SECONDS,
      maxBytes: MAX_BYTES,
      duplicateWindowSeconds: 86_400,
    });
    expect(raw.config.max_bytes).toBe(MAX_BYTES);
    // services/src/streaming/job.ts OUTAGE_STREAM_LIMITS: what the other half of the store allowance holds.
    await ensureRawStream(jsm, {
      name: 'OUTAGE',
      subjects: ['outage.>'],
      maxAgeSeconds: 7 * 86_400,
      maxBytes: 256 * 1024 ** 2,
      duplicateWindowSeconds: 600,
    });
  });

  it('refuses what the config refuses: a budget past the store, a duplicate window past the max age', async () => {
    const jsm = await nc.jetstreamManager();
    await expect(
      ensureRawStream(jsm, { name: 'BEYOND', subjects: ['beyond.>'], maxBytes: 512 * 1024 ** 2 }),
    ).rejects.toThrow(/insufficient storage/);
    expect(accepts({ rawStreamMaxAge: '1m', rawStreamDuplicateWindow: '2m' })).toBe(false);
    await expect(
      ensureRawStream(jsm, {
        name: 'SHORT',
        subjects: ['short.>'],
        maxAgeSeconds: 60,
        maxBytes: 1024 ** 2,
        duplicateWindowSeconds: 120,
      }),
    ).rejects.toThrow(/duplicates window can not be larger then max age/);
  });
});

describe('the JVM reads MAX_HEAP_SIZE as the config does', () => {
  const java = spawnSync('java', ['-version']).status === 0;
  const jvmTakes = (heap: string) =>
    !/Invalid (initial|maximum) heap size|Too small/.test(
      spawnSync('java', [`-Xms${heap}`, `-Xmx${heap}`, '-version'], { encoding: 'utf8' }).stderr,
    );
  (java ? it.each : it.skip.each)([
    '256M',
    '256m',
    '0x10000000',
    '262144k',
    '1g',
    '1GB',
    '1.5G',
    '18014398509481984K',
  ])('heap %j: what the config takes, the JVM takes', (heap) => {
    if (accepts({ cassandraHeap: heap })) expect(jvmTakes(heap)).toBe(true);
    if (!jvmTakes(heap)) expect(accepts({ cassandraHeap: heap })).toBe(false);
  });
});
