// Configuration from the environment. Every value is validated; a bad one throws a ConfigError that names
// the variable and what is allowed, so a misconfigured container says exactly what to fix.
import { readFileSync } from 'node:fs';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Readonly<Record<string, string | undefined>>;

/** A typed view over an environment (process.env by default); all reads validate. */
export class EnvReader {
  constructor(private readonly env: Env = process.env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback?: string): string {
    const value = this.raw(name) ?? fallback;
    if (value === undefined) throw new ConfigError(`${name} is required`);
    return value;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  /** A secret from `${name}_FILE` (Docker/Swarm secrets mounted as files) or else `${name}`. */
  secret(name: string, fallback?: string): string {
    const file = this.raw(`${name}_FILE`);
    if (file) {
      try {
        return readFileSync(file, 'utf8').trim();
      } catch (err) {
        throw new ConfigError(`${name}_FILE: cannot read ${file}: ${(err as Error).message}`);
      }
    }
    return this.string(name, fallback);
  }

  number(
    name: string,
    fallback: number,
    opts: { min?: number; max?: number; integer?: boolean } = {},
  ): number {
    const text = this.raw(name);
    const value = text === undefined ? fallback : Number(text);
    const { min = -Infinity, max = Infinity, integer = false } = opts;
    const kind = integer ? 'an integer' : 'a number';
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      const range = [min > -Infinity ? `>= ${min}` : '', max < Infinity ? `<= ${max}` : ''].filter(Boolean);
      throw new ConfigError(
        `${name} must be ${kind}${range.length ? ' ' + range.join(' and ') : ''}, got "${text}"`,
      );
    }
    return value;
  }

  integer(name: string, fallback: number, opts: { min?: number; max?: number } = {}): number {
    return this.number(name, fallback, { ...opts, integer: true });
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.raw(name)?.toLowerCase();
    if (text === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(text)) return true;
    if (['0', 'false', 'no', 'off'].includes(text)) return false;
    throw new ConfigError(`${name} must be true or false, got "${text}"`);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name) ?? fallback;
    if (!allowed.includes(value as T)) {
      throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
    }
    return value as T;
  }

  list(name: string, fallback: string): string[] {
    return this.string(name, fallback)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** An instant as epoch seconds: either a number of seconds or an ISO-8601 date. */
  epochSeconds(name: string, fallback: number): number {
    return this.optionalEpochSeconds(name) ?? fallback;
  }

  /** epochSeconds, or undefined when the variable is not set. */
  optionalEpochSeconds(name: string): number | undefined {
    const text = this.raw(name);
    if (text === undefined) return undefined;
    const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text) / 1000;
    if (!Number.isFinite(value))
      throw new ConfigError(`${name} must be epoch seconds or an ISO-8601 date, got "${text}"`);
    return Math.floor(value);
  }
}
