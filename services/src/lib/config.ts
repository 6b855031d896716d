// Configuration from the environment. Every variable is declared once (contract/variables.ts: type,
// default, limits); reads validate against it, and a bad value throws a ConfigError that names the variable
// and what is allowed, so a misconfigured container says exactly what to fix.
import { readFileSync } from 'node:fs';

import { unknownVariables, VariableName, VARIABLES, Variables } from '../contract/variables';
import { parseText, ValueOf } from '../contract/values';
import type { RoleName } from '../role-args';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Readonly<Record<string, string | undefined>>;

/** A typed view over an environment (process.env by default); all reads validate. */
export class EnvReader {
  /** Every variable read so far (the contract test compares it with what the program sets). */
  readonly read = new Set<VariableName>();

  constructor(private readonly env: Env = process.env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  /** The declared variable's value: its text read as declared, or its default (undefined: none). */
  get<N extends VariableName>(name: N): ValueOf<Variables[N]> {
    this.read.add(name);
    const setting = VARIABLES[name];
    const text = setting.kind === 'secret' ? this.secretText(name) : this.raw(name);
    const parsed = parseText(setting, text);
    if ('allowed' in parsed) throw new ConfigError(`${name} must be ${parsed.allowed}, got "${text}"`);
    return parsed.value as ValueOf<Variables[N]>;
  }

  /** A variable that must be set (a secret with its user, the replay's files with `uci`). */
  required<N extends VariableName>(name: N, why: string): NonNullable<ValueOf<Variables[N]>> {
    const value = this.get(name);
    if (value === undefined || (Array.isArray(value) && value.length === 0)) {
      throw new ConfigError(`${name} is required ${why}`);
    }
    return value as NonNullable<ValueOf<Variables[N]>>;
  }

  /** Whether the variable is set at all (a secret: or its `_FILE`). */
  has(name: VariableName): boolean {
    this.read.add(name);
    return this.raw(name) !== undefined || (VARIABLES[name].kind === 'secret' && !!this.raw(`${name}_FILE`));
  }

  /** A secret from `${name}_FILE` (Docker/Swarm secrets mounted as files) or else `${name}`. */
  private secretText(name: string): string | undefined {
    const file = this.raw(`${name}_FILE`);
    if (!file) return this.raw(name);
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${name}_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
  }

  /**
   * Refuses a variable of a prefix `role` owns that no role declares (a misspelt name would leave the role
   * on its default without a word): every such name in one error.
   */
  checkKnown(role: RoleName): void {
    const problems = unknownVariables(
      role,
      Object.keys(this.env).filter((k) => this.raw(k) !== undefined),
    );
    if (problems.length) throw new ConfigError(`unknown variable: ${problems.join('; ')}`);
  }
}
