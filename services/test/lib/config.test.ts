import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, EnvReader } from '../../src/lib/config';

test('numbers are validated and errors name the variable and the allowed range', () => {
  const env = new EnvReader({ RATE: '-3', FRACTION: 'abc', OK: '42' });
  expect(env.integer('OK', 1, { min: 0 })).toBe(42);
  expect(env.integer('MISSING', 7)).toBe(7);
  expect(() => env.integer('RATE', 1, { min: 0 })).toThrow(
    new ConfigError('RATE must be an integer >= 0, got "-3"'),
  );
  expect(() => env.number('FRACTION', 1)).toThrow(/FRACTION must be a number/);
});

test('secrets come from *_FILE before the variable itself', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  writeFileSync(join(dir, 'pw'), 's3cret\n');
  expect(new EnvReader({ PW_FILE: join(dir, 'pw'), PW: 'plain' }).secret('PW')).toBe('s3cret');
  expect(new EnvReader({ PW: 'plain' }).secret('PW')).toBe('plain');
  expect(() => new EnvReader({ PW_FILE: join(dir, 'nope') }).secret('PW')).toThrow(/PW_FILE: cannot read/);
  expect(() => new EnvReader({}).secret('PW')).toThrow(/PW is required/);
});

test('enums, booleans, lists and instants', () => {
  const env = new EnvReader({ LEVEL: 'loud', FLAG: 'yes', HOSTS: 'a:1, b:2', START: '2026-01-05T00:00:00Z' });
  expect(() => env.oneOf('LEVEL', ['info', 'warn'], 'info')).toThrow(/LEVEL must be one of info, warn/);
  expect(env.boolean('FLAG', false)).toBe(true);
  expect(env.list('HOSTS', '')).toEqual(['a:1', 'b:2']);
  expect(env.epochSeconds('START', 0)).toBe(Date.UTC(2026, 0, 5) / 1000);
  expect(() => new EnvReader({ START: 'soon' }).epochSeconds('START', 0)).toThrow(
    /START must be epoch seconds/,
  );
});
