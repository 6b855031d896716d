import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, EnvReader } from '../../src/lib/config';

test('numbers are read with their declared default and limits; errors name the variable and the range', () => {
  const env = new EnvReader({ INGEST_BATCH: '-3', INJECT_RATE: 'abc', INGEST_CONCURRENCY: '42' });
  expect(env.get('INGEST_CONCURRENCY')).toBe(42);
  expect(env.get('INGEST_POLL_INTERVAL_MS')).toBe(5000);
  expect(() => env.get('INGEST_BATCH')).toThrow(
    new ConfigError('INGEST_BATCH must be an integer >= 1 and <= 4096, got "-3"'),
  );
  expect(() => env.get('INJECT_RATE')).toThrow(/INJECT_RATE must be a number >= 1 and <= 100000/);
  expect(() =>
    new EnvReader({ STREAM_TRANSFORMER_OUTAGE_SHARE: '0' }).get('STREAM_TRANSFORMER_OUTAGE_SHARE'),
  ).toThrow('STREAM_TRANSFORMER_OUTAGE_SHARE must be a number > 0 and <= 1, got "0"');
});

test('secrets come from *_FILE before the variable itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  writeFileSync(join(dir, 'pw'), 's3cret\n');
  const pw = (env: Record<string, string>) => new EnvReader(env).get('NATS_PASSWORD');
  expect(pw({ NATS_PASSWORD_FILE: join(dir, 'pw'), NATS_PASSWORD: 'plain' })).toBe('s3cret');
  expect(pw({ NATS_PASSWORD: 'plain' })).toBe('plain');
  expect(() => pw({ NATS_PASSWORD_FILE: join(dir, 'nope') })).toThrow(/NATS_PASSWORD_FILE: cannot read/);
  expect(() => new EnvReader({}).required('NATS_PASSWORD', 'with NATS_USER')).toThrow(
    'NATS_PASSWORD is required with NATS_USER',
  );
});

test('enums, lists and instants', () => {
  const env = new EnvReader({
    LOG_LEVEL: 'loud',
    NATS_URL: 'nats://a:1, nats://b:2',
    INJECT_START: '2026-01-05T00:00:00Z',
  });
  expect(() => env.get('LOG_LEVEL')).toThrow(/LOG_LEVEL must be one of debug, info, warn, error/);
  expect(env.get('NATS_URL')).toEqual(['nats://a:1', 'nats://b:2']);
  expect(env.get('INJECT_START')).toBe(Date.UTC(2026, 0, 5) / 1000);
  expect(env.get('INJECT_CLOCK_ANCHOR')).toBeUndefined();
  expect(() => new EnvReader({ INJECT_START: 'soon' }).get('INJECT_START')).toThrow(
    /INJECT_START must be epoch seconds or an ISO-8601 date, got "soon"/,
  );
});

test('booleans are true or false, as the stack reads them (components/config.ts)', () => {
  const flag = (text: string) => new EnvReader({ TRAIN_ONCE: text }).get('TRAIN_ONCE');
  expect(flag('true')).toBe(true);
  expect(flag('FALSE')).toBe(false);
  for (const text of ['1', 'yes', 'on', '0']) {
    expect(() => flag(text)).toThrow(`TRAIN_ONCE must be true or false, got "${text}"`);
  }
});

test('a role refuses an undeclared variable of a prefix it owns, naming it, and ignores other prefixes', () => {
  const check = (role: 'stream' | 'inject', env: Record<string, string>) => () =>
    new EnvReader(env).checkKnown(role);
  expect(check('stream', { STREAM_OUTAGE_INTERVAL: '5' })).toThrow(
    new ConfigError(
      'unknown variable: STREAM_OUTAGE_INTERVAL is not a variable of any role (did you mean STREAM_OUTAGE_INTERVALS?)',
    ),
  );
  expect(check('inject', { INJECT_SEEDS: '2', INJECT_FOO: '1' })).toThrow(
    /INJECT_SEEDS is not a variable of any role \(did you mean INJECT_SEED\?\); INJECT_FOO is not/,
  );
  // Declared (for another role), a secret's file, another role's prefix, a shell's NATS_PORT: accepted.
  expect(check('stream', { STREAM_OUTAGE_INTERVALS: '5', INJECT_FOO: '1', NATS_PORT: '4222' })).not.toThrow();
  expect(
    check('inject', { INJECT_RATE: '5', RAW_STREAM_MAX_AGE_S: '60', NATS_PASSWORD_FILE: '/x' }),
  ).not.toThrow();
});
