// services/README.md's table of variables, generated from their declaration
// (services/src/contract/variables.ts): one row per variable, in declaration order.
import { ROLE_NAMES } from '../../services/src/role-args';
import { Setting } from '../../services/src/contract/values';
import { VARIABLES, Variable } from '../../services/src/contract/variables';

export const BEGIN =
  '<!-- variables: generated from src/contract/variables.ts; UPDATE_SETTINGS_TABLE=1 npx jest tests/contract/readme.test.ts -->';
export const END = '<!-- end of variables -->';

function roles(v: Variable): string {
  if (v.roles.length === ROLE_NAMES.length) return 'all';
  if (v.roles.length === ROLE_NAMES.length - 1 && !v.roles.includes('migrate')) return 'all but migrate';
  return ROLE_NAMES.filter((r) => v.roles.includes(r)).join(', ');
}

function defaultOf(v: Setting): string {
  if (v.defaultDoc) return v.defaultDoc;
  const d = 'default' in v ? v.default : undefined;
  return d === undefined ? 'none' : `\`${String(d)}\``;
}

function limitsOf(v: Setting): string {
  if (v.kind === 'integer' || v.kind === 'number') {
    const low = v.min === undefined ? '' : `${v.kind === 'number' && v.minExclusive ? '>' : '≥'} ${v.min}`;
    const high = v.max === undefined ? '' : `≤ ${v.max}`;
    return [low, high].filter(Boolean).join(', ');
  }
  if (v.kind === 'oneOf') return v.values.join(' \\| ');
  if (v.kind === 'boolean') return '`true` \\| `false`';
  return '';
}

export function variablesTable(): string {
  const rows = Object.entries(VARIABLES).map(([name, v]: [string, Variable]) =>
    [`\`${name}\``, roles(v), defaultOf(v), limitsOf(v), v.doc].join(' | '),
  );
  return [
    '| variable | roles | default | limits | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r} |`),
  ].join('\n');
}
