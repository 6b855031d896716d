// The kinds of value a setting can have and the one rule that reads each from text, shared by the
// services (an environment variable: lib/config.ts EnvReader) and by the Pulumi program (a stack key:
// components/config.ts ConfigReader), so that both accept exactly the same text. No imports: the program
// loads this file from services/src as it is.

interface Common {
  /** What the setting means (services/README.md's table is generated from it). */
  readonly doc: string;
  /** The default as the README says it, where the value alone does not say it (derived, computed). */
  readonly defaultDoc?: string;
}

export interface IntegerSetting extends Common {
  readonly kind: 'integer';
  readonly default?: number;
  readonly min?: number;
  readonly max?: number;
}

export interface NumberSetting extends Common {
  readonly kind: 'number';
  readonly default?: number;
  readonly min?: number;
  readonly max?: number;
  /** `min` itself is refused (a share in (0, 1]). */
  readonly minExclusive?: boolean;
}

export interface BooleanSetting extends Common {
  readonly kind: 'boolean';
  readonly default: boolean;
}

export interface OneOfSetting<T extends string = string> extends Common {
  readonly kind: 'oneOf';
  readonly values: readonly T[];
  readonly default: T;
}

export interface StringSetting extends Common {
  readonly kind: 'string';
  readonly default?: string;
  /** What the value must match, and how an error says it. */
  readonly pattern?: { readonly test: RegExp; readonly says: string };
}

/** Comma-separated items (spaces around them ignored); unset: the default's items, or none. */
export interface ListSetting extends Common {
  readonly kind: 'list';
  readonly default?: string;
}

/** An instant as epoch seconds: whole seconds, or an ISO-8601 date or date-time. */
export interface InstantSetting extends Common {
  readonly kind: 'instant';
}

/** A credential: from the file named by `<NAME>_FILE` (Docker and Swarm secrets), else the variable. */
export interface SecretSetting extends Common {
  readonly kind: 'secret';
}

export type Setting =
  | IntegerSetting
  | NumberSetting
  | BooleanSetting
  | OneOfSetting
  | StringSetting
  | ListSetting
  | InstantSetting
  | SecretSetting;

/** The type a setting reads as: undefined where it has no default and is not set. */
export type ValueOf<S extends Setting> = S extends IntegerSetting | NumberSetting
  ? S extends { default: number }
    ? number
    : number | undefined
  : S extends BooleanSetting
    ? boolean
    : S extends OneOfSetting<infer T>
      ? T
      : S extends StringSetting
        ? S extends { default: string }
          ? string
          : string | undefined
        : S extends ListSetting
          ? string[]
          : S extends InstantSetting
            ? number | undefined
            : string | undefined;

/** One boolean rule for both readers: `true` or `false` (any case), as Pulumi's own getBoolean reads. */
export const BOOLEAN_TEXT = { true: true, false: false } as const;

/** What a numeric setting accepts, in words: "an integer >= 1 and <= 12". */
export function rangeText(s: IntegerSetting | NumberSetting): string {
  const exclusive = s.kind === 'number' && s.minExclusive;
  const range = [
    s.min !== undefined ? `${exclusive ? '>' : '>='} ${s.min}` : '',
    s.max !== undefined ? `<= ${s.max}` : '',
  ].filter(Boolean);
  return `${s.kind === 'integer' ? 'an integer' : 'a number'}${range.length ? ' ' + range.join(' and ') : ''}`;
}

/** Whether a number is within a numeric setting's limits (and whole, for an integer). */
export function withinLimits(s: IntegerSetting | NumberSetting, value: number): boolean {
  const aboveMin =
    s.min === undefined || (s.kind === 'number' && s.minExclusive ? value > s.min : value >= s.min);
  return (
    Number.isFinite(value) &&
    (s.kind === 'number' || Number.isInteger(value)) &&
    aboveMin &&
    (s.max === undefined || value <= s.max)
  );
}

/** The result of reading a text: the value, or what is allowed (for the reader's own error message). */
export type Parsed = { readonly value: unknown } | { readonly allowed: string };

/**
 * Reads `text` (trimmed; undefined or empty: the default) as setting `s`. Secrets are read by the caller
 * (they may come from a file); here they are plain text.
 */
export function parseText(s: Setting, text: string | undefined): Parsed {
  if (text === undefined) {
    if (s.kind === 'list') return { value: splitList(s.default ?? '') };
    return { value: 'default' in s ? s.default : undefined };
  }
  switch (s.kind) {
    case 'integer':
    case 'number': {
      const value = Number(text);
      return withinLimits(s, value) ? { value } : { allowed: rangeText(s) };
    }
    case 'boolean': {
      const value = BOOLEAN_TEXT[text.toLowerCase() as keyof typeof BOOLEAN_TEXT];
      return value === undefined ? { allowed: 'true or false' } : { value };
    }
    case 'oneOf':
      return s.values.includes(text) ? { value: text } : { allowed: `one of ${s.values.join(', ')}` };
    case 'string':
      return !s.pattern || s.pattern.test.test(text) ? { value: text } : { allowed: s.pattern.says };
    case 'list':
      return { value: splitList(text) };
    case 'instant': {
      const value = /^\d+$/.test(text) ? Number(text) : Math.floor(Date.parse(text) / 1000);
      return Number.isFinite(value) ? { value } : { allowed: 'epoch seconds or an ISO-8601 date' };
    }
    case 'secret':
      return { value: text };
  }
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
