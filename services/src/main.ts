// One image, one role per command: `node dist/main.js <role>`.
import { runRole, ServiceContext } from './lib/service';

type RoleModule = { run(ctx: ServiceContext): Promise<void> };

const ROLES: Record<string, () => Promise<RoleModule>> = {
  migrate: () => import('./roles/migrate'),
  inject: () => import('./roles/inject'),
  ingest: () => import('./roles/ingest'),
  train: () => import('./roles/train'),
  predict: () => import('./roles/predict'),
  stream: () => import('./roles/stream'),
};

async function main(): Promise<void> {
  const role = process.argv[2] ?? '';
  const load = ROLES[role];
  if (!load) {
    process.stderr.write(
      `usage: node dist/main.js <role>; role must be one of: ${Object.keys(ROLES).join(', ')}\n`,
    );
    process.exit(2);
  }
  const mod = await load();
  await runRole(role, (ctx) => mod.run(ctx));
}

void main();
