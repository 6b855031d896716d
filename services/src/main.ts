// One image, one role per command: `node dist/main.js <role>`.
import { runRole, ServiceContext } from './lib/service';
import { parseRoleArgs, RoleName } from './role-args';

type RoleModule = { run(ctx: ServiceContext): Promise<void> };

const ROLES: Record<RoleName, () => Promise<RoleModule>> = {
  migrate: () => import('./roles/migrate'),
  inject: () => import('./roles/inject'),
  ingest: () => import('./roles/ingest'),
  train: () => import('./roles/train'),
  predict: () => import('./roles/predict'),
  stream: () => import('./roles/stream'),
};

async function main(): Promise<void> {
  const parsed = parseRoleArgs(process.argv.slice(2));
  if ('error' in parsed) {
    process.stderr.write(`${parsed.error}\n`);
    process.exit(2);
  }
  const mod = await ROLES[parsed.role]();
  await runRole(parsed.role, (ctx) => mod.run(ctx));
}

void main();
