// The engine-format parsers (components/formats) against what the engines answered on this machine for
// the same text: Prometheus 3.5.0 (scripts/prometheus.sh) for its retention flags, OpenJDK 17 for
// -Xms/-Xmx. tests/integration/engine-formats.int.test.ts asks the real binaries again at the boundaries.
import { duplicatePort } from '../../components/formats/host-ports';
import {
  JETSTREAM_MAX_DURATION_SECONDS,
  jetStreamFileStoreBytes,
} from '../../components/formats/jetstream-limits';
import { JVM_MIN_MAX_HEAP, parseJvmMemorySize } from '../../components/formats/jvm-memory-size';
import {
  parsePrometheusDuration,
  PROMETHEUS_MAX_DURATION,
} from '../../components/formats/prometheus-duration';
import { parsePrometheusSize } from '../../components/formats/prometheus-size';

const NS = 10n ** 9n;

test('Prometheus durations: units largest first, each once, within a time.Duration', () => {
  expect(parsePrometheusDuration('0')).toBe(0n);
  expect(parsePrometheusDuration('1d12h')).toBe(36n * 3600n * NS);
  expect(parsePrometheusDuration('007d')).toBe(7n * 86400n * NS);
  expect(parsePrometheusDuration('1ms')).toBe(10n ** 6n);
  expect(parsePrometheusDuration('292y')).toBe(292n * 365n * 86400n * NS);
  expect(parsePrometheusDuration(PROMETHEUS_MAX_DURATION)).toBe(((2n ** 63n - 1n) / 10n ** 6n) * 10n ** 6n); // whole ms
  for (const refused of [
    '',
    '1d1d',
    '1h1d',
    '1D',
    '1',
    'd',
    '1.5d',
    '-1d',
    '300y',
    '106751d23h47m16s855ms',
  ]) {
    expect([refused, parsePrometheusDuration(refused)]).toEqual([refused, undefined]);
  }
});

test('Prometheus sizes: one unit family, decimals and a sign allowed, within an int64', () => {
  const GiB = 1024 ** 3;
  expect(parsePrometheusSize('0')).toBe(0);
  expect(parsePrometheusSize('1GB')).toBe(GiB);
  expect(parsePrometheusSize('1GiB')).toBe(GiB);
  expect(parsePrometheusSize('1.5GB')).toBe(1.5 * GiB);
  expect(parsePrometheusSize('.5GB')).toBe(GiB / 2);
  expect(parsePrometheusSize('1GB512MB')).toBe(1.5 * GiB);
  expect(parsePrometheusSize('+1KB')).toBe(1024);
  expect(parsePrometheusSize('-1GB')).toBe(-GiB);
  expect(parsePrometheusSize('7EB')).toBe(7 * 1024 ** 6);
  // Prometheus takes 8EB (2^63) and wraps it to a negative int64; refused here.
  for (const refused of ['', '5', '1kB', '1Gb', '1GiB512MB', '9EB', '8EB', '99999999999999999999EB', '.GB']) {
    expect([refused, parsePrometheusSize(refused)]).toEqual([refused, undefined]);
  }
});

test('JVM memory sizes: decimal or hex, one unit letter, 64 bits', () => {
  expect(parseJvmMemorySize('1G')).toBe(1024n ** 3n);
  expect(parseJvmMemorySize('512m')).toBe(512n * 1024n ** 2n);
  expect(parseJvmMemorySize('2048K')).toBe(JVM_MIN_MAX_HEAP);
  expect(parseJvmMemorySize('0x200000')).toBe(JVM_MIN_MAX_HEAP);
  expect(parseJvmMemorySize('1t')).toBe(1024n ** 4n);
  expect(parseJvmMemorySize('1073741824')).toBe(1024n ** 3n);
  for (const refused of [
    '',
    '1GB',
    '1.5G',
    '1g5',
    '1b',
    ' 1G',
    '-1G',
    '99999999999999999999G',
    '18014398509481984K',
  ]) {
    expect([refused, parseJvmMemorySize(refused)]).toEqual([refused, undefined]);
  }
});

test('JetStream: durations within a time.Duration; the store holds the raw budget and the rest', () => {
  expect(JETSTREAM_MAX_DURATION_SECONDS * 1e9).toBeLessThanOrEqual(2 ** 63);
  expect((JETSTREAM_MAX_DURATION_SECONDS + 1) * 1e9).toBeGreaterThan(2 ** 63 - 1);
  expect(jetStreamFileStoreBytes(4 * 1024 ** 3)).toBe(4.5 * 1024 ** 3);
});

test('a host port published twice names both keys; 0 is never a clash', () => {
  expect(duplicatePort({ grafana: 3000, prometheus: 9090, nats: 0, cassandra: 0 })).toBeUndefined();
  expect(duplicatePort({ grafana: 9090, prometheus: 9090 })).toEqual({ key: 'prometheus', other: 'grafana' });
});
