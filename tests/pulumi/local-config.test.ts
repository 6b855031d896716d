// components/config.ts on its own: defaults for the local stack, and errors that name the key.
import { ConfigError, isImageReference, loadConfig } from '../../components/config';

const load = (values: Record<string, string>) => loadConfig((key) => ({ platform: 'local', ...values })[key]);

describe('stack config', () => {
  it('has laptop defaults: one of each, everything on 127.0.0.1', () => {
    const config = load({});
    expect(config).toMatchObject({
      platform: 'local',
      injectors: 1,
      ingestReplicas: 1,
      cassandraReplicationFactor: 1,
      bindAddress: '127.0.0.1',
      ports: { grafana: 3000, prometheus: 9090, nats: 4222, natsMonitoring: 8222, cassandra: 9042 },
    });
    expect([...config.tiers]).toEqual(['messaging', 'storage', 'streaming', 'training', 'metrics']);
    expect(config.retention).toEqual({
      rawDays: 7,
      aggregateDays: 7,
      rawStreamMaxAgeSeconds: 86400,
      rawStreamMaxBytes: 4 * 1024 ** 3,
      prometheusTime: '7d',
      prometheusSize: '1GB',
      rawStreamDuplicateWindowSeconds: 120,
    });
    expect(config).toMatchObject({ durability: 'synced', injectBufferReadings: 300_000 });
  });

  it('reads retention durations and sizes in the units the README gives', () => {
    const { retention } = load({
      rawStreamMaxAge: '90m',
      rawStreamMaxBytes: '1TiB',
      prometheusRetention: '1d12h',
      prometheusRetentionSize: '512MB',
    });
    expect(retention).toMatchObject({
      rawStreamMaxAgeSeconds: 5400,
      rawStreamMaxBytes: 1024 ** 4,
      prometheusTime: '1d12h',
      prometheusSize: '512MB',
    });
    expect(load({ rawStreamMaxAge: '7d' }).retention.rawStreamMaxAgeSeconds).toBe(7 * 86400);
  });

  it('reads the outage keys: no outage injected by default, detection after 3 intervals, half a transformer', () => {
    expect(load({}).outages).toEqual({
      meterRate: 0,
      transformerRate: 0,
      minutes: 120,
      intervals: 3,
      transformerShare: 0.5,
    });
    expect(
      load({
        injectOutageRate: '2',
        injectTransformerOutageRate: '0.25',
        injectOutageMinutes: '90',
        outageIntervals: '4',
        transformerOutageShare: '0.8',
      }).outages,
    ).toEqual({ meterRate: 2, transformerRate: 0.25, minutes: 90, intervals: 4, transformerShare: 0.8 });
  });

  it('reads tiers as a comma list or a JSON array (pulumi config set --path)', () => {
    expect([...load({ tiers: 'messaging, storage' }).tiers]).toEqual(['messaging', 'storage']);
    expect([...load({ tiers: '["metrics"]' }).tiers]).toEqual(['metrics']);
  });

  it('accepts image references with registry, port, tag and digest, and overrides each image', () => {
    for (const ok of [
      'nats',
      'nats:2.15-alpine',
      'registry.local:5000/mirror/grafana/grafana:12.1.1',
      `prom/prometheus@sha256:${'a'.repeat(64)}`,
    ]) {
      expect(isImageReference(ok)).toBe(true);
    }
    for (const bad of ['Nats:2', 'nats:', 'nats:2 alpine', '/nats', 'nats//x', '']) {
      expect(isImageReference(bad)).toBe(false);
    }
    expect(load({ natsImage: 'mirror.local/nats:2.15' }).images.nats).toBe('mirror.local/nats:2.15');
  });

  it('reads the clock keys as epoch seconds or ISO-8601 instants; both unset by default', () => {
    expect(load({}).clock).toEqual({ anchor: undefined, simulationStart: undefined });
    expect(load({ clockAnchor: '1714557600', simulationStart: '2019-03-17' }).clock).toEqual({
      anchor: 1_714_557_600,
      simulationStart: 1_552_780_800,
    });
    expect(load({ clockAnchor: '2024-05-01T12:00:00+02:00' }).clock.anchor).toBe(1_714_557_600);
    expect(load({ simulationStart: '2024-05-01T10:00:00.750Z' }).clock.simulationStart).toBe(1_714_557_600);
  });

  it.each([
    [{ platform: undefined as unknown as string }, 'smartmeter:platform is required (one of local, aws)'],
    [
      { clockAnchor: 'at the first deploy' },
      'smartmeter:clockAnchor must be epoch seconds or an ISO-8601 date or date-time with its zone',
    ],
    // Without a zone a date-time would be read in the local zone of whoever runs `pulumi up`.
    [{ simulationStart: '2019-03-17T00:00:00' }, 'smartmeter:simulationStart must be epoch seconds'],
    [{ simulationStart: '-5' }, 'smartmeter:simulationStart must be epoch seconds'],
    [{ clockAnchor: '2024-02-30T00:00:00Z' }, 'got "2024-02-30T00:00:00Z"'],
    [{ simulationStart: '253402300800' }, 'between 1970 and 9999, got "253402300800"'],
    [{ injectors: '1.5' }, 'smartmeter:injectors must be an integer >= 0 and <= 12, got "1.5"'],
    [{ injectors: '13' }, 'smartmeter:injectors must be an integer >= 0 and <= 12, got "13"'],
    [{ ingestReplicas: '0' }, 'smartmeter:ingestReplicas must be an integer >= 1 and <= 50, got "0"'],
    [{ injectRate: 'fast' }, 'smartmeter:injectRate must be a number >= 1 and <= 100000, got "fast"'],
    // At most one outage per window of injectOutageMinutes (120 by default: 12 a day).
    [{ injectOutageRate: '13' }, 'smartmeter:injectOutageRate must be a number >= 0 and <= 12, got "13"'],
    [
      { injectTransformerOutageRate: '2', injectOutageMinutes: '1440' },
      'smartmeter:injectTransformerOutageRate must be a number >= 0 and <= 1, got "2"',
    ],
    [{ injectOutageMinutes: '0' }, 'smartmeter:injectOutageMinutes must be an integer >= 1 and <= 1440'],
    [{ outageIntervals: '0.5' }, 'smartmeter:outageIntervals must be a number >= 1 and <= 1000, got "0.5"'],
    [
      { transformerOutageShare: '0' },
      'smartmeter:transformerOutageShare must be a number > 0 and <= 1, got "0"',
    ],
    [{ transformerOutageShare: '1.5' }, 'smartmeter:transformerOutageShare must be a number > 0 and <= 1'],
    [
      { cassandraReplicationFactor: '3' },
      'smartmeter:cassandraReplicationFactor must be an integer >= 1 and <= 1',
    ],
    [{ bindAddress: 'localhost' }, 'smartmeter:bindAddress must be an IPv4 address such as 127.0.0.1'],
    [{ grafanaPort: '70000' }, 'smartmeter:grafanaPort must be an integer >= 0 and <= 65535'],
    [{ cassandraHeap: '1 GB' }, 'smartmeter:cassandraHeap must be a JVM heap size (-Xmx)'],
    [{ cassandraHeap: '128M' }, 'such as 512m or 1G, at least 256M, got "128M"'],
    [{ logLevel: 'verbose' }, 'smartmeter:logLevel must be one of debug, info, warn, error'],
    [{ tiers: 'messaging,queues' }, 'smartmeter:tiers must be a list of messaging, storage, streaming'],
    [{ nodeBaseImage: 'node:20 slim' }, 'smartmeter:nodeBaseImage must be a Docker image reference'],
    [
      { rawRetentionDays: '1.5' },
      'smartmeter:rawRetentionDays must be an integer >= 1 and <= 7300, got "1.5"',
    ],
    [
      { aggregateRetentionDays: '0' },
      'smartmeter:aggregateRetentionDays must be an integer >= 1 and <= 7300',
    ],
    [{ rawStreamMaxAge: '1 day' }, 'smartmeter:rawStreamMaxAge must be a duration such as 90m, 24h or 7d'],
    [
      { rawStreamMaxAge: '30s' },
      'smartmeter:rawStreamMaxAge must be a duration such as 90m, 24h or 7d, at least 60 s',
    ],
    [
      { rawStreamMaxBytes: '4GB' },
      'smartmeter:rawStreamMaxBytes must be a size such as 512MiB, 4GiB or 1TiB, at most 1024TiB, got "4GB"',
    ],
    [
      { prometheusRetention: '7 days' },
      'smartmeter:prometheusRetention must be a Prometheus duration: whole numbers with units y, w, d',
    ],
    [
      // One unit family at a time (alecthomas/units ParseBase2Bytes).
      { prometheusRetentionSize: '1GiB512MB' },
      'smartmeter:prometheusRetentionSize must be a Prometheus size: numbers with units B, KB',
    ],
    // Prometheus reads it as 0 (no limit); here only 0 says that (found by tests/pulumi/config.fuzz.test.ts).
    [{ prometheusRetentionSize: '-0.5B' }, 'smartmeter:prometheusRetentionSize must be a Prometheus size'],
  ])('%j fails naming the key', (values, message) => {
    expect(() => load(values)).toThrow(ConfigError);
    expect(() => load(values)).toThrow(message);
  });
});
