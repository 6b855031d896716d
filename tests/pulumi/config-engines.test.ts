// Regressions of issue 23: stack settings the config accepted and the engines then refused. Each value
// below was accepted by components/config.ts and refused by Prometheus, the JVM or JetStream (or made two
// services claim one host port); each must now stop the program with a ConfigError naming the key.
import { ConfigError, loadConfig } from '../../components/config';
import { checkAwsResources, checkPublishedPorts, loadAwsConfig } from '../../components/platforms/aws/config';
import { checkHostMemory } from '../../components/platforms/local';

const local = (values: Record<string, string>) =>
  loadConfig((key) => ({ platform: 'local', ...values })[key]);

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1dW1teUtleUZvclRlc3RzT25seQ me@laptop';
const awsValues = (values: Record<string, string>) => (key: string) =>
  ({
    platform: 'aws',
    allowedCidr: '203.0.113.0/24',
    sshPublicKey: KEY,
    natsPort: '0',
    natsMonitoringPort: '0',
    cassandraPort: '0',
    ...values,
  })[key];
const aws = (values: Record<string, string>) => {
  const source = awsValues(values);
  const config = loadConfig(source);
  checkPublishedPorts(config.ports);
  checkAwsResources(config, loadAwsConfig(source));
  return config;
};

const refused = (load: () => unknown, key: string, allowed: RegExp) => {
  expect(load).toThrow(ConfigError);
  expect(load).toThrow(new RegExp(`smartmeter:${key}\\b`));
  expect(load).toThrow(allowed);
};

describe('Prometheus retention is read as Prometheus reads it', () => {
  it.each([
    // model.ParseDuration: units from largest to smallest, each once.
    ['1d1d'],
    ['1h1d'],
    // Beyond time.Duration (~292 years): "duration out of range".
    ['300y'],
    ['99999999999999999999d'],
  ])('prometheusRetention %j is refused', (value) =>
    refused(() => local({ prometheusRetention: value }), 'prometheusRetention', /Prometheus duration/),
  );

  it.each([['99999999999999999999EB'], ['9EB']])('prometheusRetentionSize %j is refused', (value) =>
    refused(() => local({ prometheusRetentionSize: value }), 'prometheusRetentionSize', /Prometheus size/),
  );
});

describe('the Cassandra heap is read as the JVM reads -Xms/-Xmx and fits its machine', () => {
  it.each([
    ['99999999999999999999G'], // Invalid initial heap size (strtoull overflow)
    ['18014398509481984K'], // Invalid initial heap size (× K overflows 64 bits)
    ['1M'], // Too small maximum heap
  ])('cassandraHeap %j is refused', (value) =>
    refused(() => local({ cassandraHeap: value }), 'cassandraHeap', /JVM heap size/),
  );

  it('a heap larger than the local machine is refused (the JVM commits -Xms at start)', () => {
    const config = local({ cassandraHeap: '64G' });
    refused(() => checkHostMemory(config, 16 * 1024 ** 3), 'cassandraHeap', /memory/);
  });
});

describe('raw-stream budgets fit what JetStream holds', () => {
  it('a max age shorter than the duplicate window is refused (JetStream: "duplicates window can not be larger then max age")', () =>
    refused(() => local({ rawStreamMaxAge: '1m' }), 'rawStreamDuplicateWindow', /rawStreamMaxAge/));

  it('a max age beyond a Go time.Duration in nanoseconds is refused', () =>
    refused(() => local({ rawStreamMaxAge: '999999999d' }), 'rawStreamMaxAge', /at most/));

  it('a disk budget beyond the aws root volume is refused', () =>
    refused(() => aws({ rawStreamMaxBytes: '1TiB' }), 'rawStreamMaxBytes', /rootVolumeGiB/));
});

describe('each published host port is published once', () => {
  it('two services on one port are refused', () =>
    refused(() => local({ grafanaPort: '9090' }), 'grafanaPort', /prometheusPort/));

  it('on aws, a port the nodes themselves use (SSH) is refused', () =>
    refused(() => aws({ grafanaPort: '22' }), 'grafanaPort', /22/));
});
