// The role `node dist/main.js <role>` runs: exactly one argument, one of the roles (an own key, so that
// `constructor` or `__proto__` are no roles), or a one-line usage error.
export const ROLE_NAMES = ['migrate', 'inject', 'ingest', 'train', 'predict', 'stream'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export function parseRoleArgs(args: readonly string[]): { role: RoleName } | { error: string } {
  const usage = `usage: node dist/main.js <role>; role must be one of: ${ROLE_NAMES.join(', ')}`;
  if (args.length !== 1) return { error: `${usage} (got ${args.length} arguments)` };
  const role = ROLE_NAMES.find((r) => r === args[0]);
  return role ? { role } : { error: `${usage} (got ${JSON.stringify(args[0])})` };
}
