// Structured logs: one JSON object per line on stdout, with the role, so interleaved logs stay readable
// and machine-parseable. Fields whose names look like credentials are redacted.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /pass(word)?|secret|token|credential/i;

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

function redact(fields: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = { message: v.message, name: v.name };
    else out[k] = v;
  }
  return out;
}

export function createLogger(
  base: Fields,
  level: Level = 'info',
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Logger {
  const min = LEVELS[level];
  const emit = (lvl: Level, msg: string, fields?: Fields) => {
    if (LEVELS[lvl] < min) return;
    write(
      JSON.stringify({ time: new Date().toISOString(), level: lvl, ...base, msg, ...redact(fields ?? {}) }),
    );
  };
  return {
    debug: (msg, f) => emit('debug', msg, f),
    info: (msg, f) => emit('info', msg, f),
    warn: (msg, f) => emit('warn', msg, f),
    error: (msg, f) => emit('error', msg, f),
    child: (fields) => createLogger({ ...base, ...fields }, level, write),
  };
}
