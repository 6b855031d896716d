// How a role starts on a rendered environment, without connecting to anything: the role's own lifecycle
// and settings parsers (each role module's `settings`), and what the program sets against what they read.
import { isVariableName, VariableName, variablesOf } from '../../services/src/contract/variables';
import { EnvReader } from '../../services/src/lib/config';
import { lifecycleSettings } from '../../services/src/lib/service';
import { RoleName } from '../../services/src/role-args';
import * as ingest from '../../services/src/roles/ingest';
import * as inject from '../../services/src/roles/inject';
import * as migrate from '../../services/src/roles/migrate';
import * as predict from '../../services/src/roles/predict';
import * as stream from '../../services/src/roles/stream';
import * as train from '../../services/src/roles/train';
import { Rendered } from './render';

/** Each role's settings as it reads them at start, before it connects to anything. */
const PARSERS: Record<RoleName, (env: EnvReader) => unknown> = {
  migrate: migrate.settings,
  inject: inject.settings,
  ingest: ingest.settings,
  stream: stream.settings,
  train: train.settings,
  predict: predict.settings,
};

/** What the role does with `rendered`'s environment at start: its problems, none when it would run. */
export function startProblems(rendered: Rendered): string[] {
  const role = rendered.role as RoleName;
  const env = new EnvReader(rendered.env);
  try {
    env.checkKnown(role);
    lifecycleSettings(env);
    PARSERS[role](env);
  } catch (err) {
    return [`${rendered.stack} ${rendered.name} (${role}): ${(err as Error).message}`];
  }
  const declared = variablesOf(role);
  // `X_FILE` is the file form of secret X; a declared X_FILE (a path: CASSANDRA_TLS_CA_FILE) is itself.
  const set = Object.keys(rendered.declared).map((k) => (isVariableName(k) ? k : k.replace(/_FILE$/, '')));
  return [
    ...set
      .filter((name) => !env.read.has(name as VariableName))
      .map(
        (name) => `${rendered.stack} ${rendered.name} (${role}): sets ${name}, which ${role} does not read`,
      ),
    ...[...env.read]
      .filter((name) => !declared.includes(name))
      .map((name) => `${role} reads ${name}, which is not declared for it`),
  ];
}
