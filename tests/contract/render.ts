// Renders the Pulumi program (index.ts) under mocks, for either stack, and lists every container (local)
// or Swarm service (aws) it declares, with the role it runs (the first argument of the services image) and
// its environment as the container would see it. Secret files and read-only host files are written to a
// temporary directory and the environment's paths point there, so that a role's own parser can read them
// as it would in the container (its `_FILE` secrets, the replay's recorded files).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { ROLE_NAMES, RoleName } from '../../services/src/role-args';
import { runAwsProgram, secretValue } from '../pulumi/aws-mocks';
import { runLocalProgram } from '../pulumi/local-mocks';

export interface Rendered {
  readonly stack: 'local' | 'aws';
  /** The container's (local) or Swarm service's name, with the task slot on Swarm: `inject.2`. */
  readonly name: string;
  /** The role of the services image it runs; undefined for a third-party image. */
  readonly role?: RoleName;
  /** Its environment with container paths replaced by where the test put their content. */
  readonly env: Record<string, string>;
  /** The environment exactly as declared (container paths). */
  readonly declared: Record<string, string>;
}

const CONTAINER = 'docker:index/container:Container';
const SWARM_SERVICE = 'docker:index/service:Service';
const SWARM_SECRET = 'docker:index/secret:Secret';

const roleOf = (args: unknown): RoleName | undefined =>
  ROLE_NAMES.find((r) => Array.isArray(args) && args[0] === r);

/** Values with Pulumi's secret wrapping removed (the aws mocks record inputs as sent). */
function plain(value: unknown): unknown {
  const v = secretValue(value);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Puts each file's content where the test can read it; returns the env with container paths mapped. */
function mapPaths(
  declared: Record<string, string>,
  files: { path: string; content?: string; hostPath?: string }[],
): Record<string, string> {
  const root = mkdtempSync(join(tmpdir(), 'smartmeter-contract-'));
  const where = new Map<string, string>();
  for (const f of files) {
    if (f.hostPath) {
      where.set(f.path, f.hostPath);
      continue;
    }
    const local = join(root, f.path);
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, f.content ?? '');
    where.set(f.path, local);
  }
  const map = (text: string) =>
    text
      .split(',')
      .map((p) => where.get(p) ?? p)
      .join(',');
  return Object.fromEntries(Object.entries(declared).map(([k, v]) => [k, map(v)]));
}

/** Every container of the local stack with `config` (keys without `smartmeter:`). */
export async function renderLocal(config: Record<string, string>): Promise<Rendered[]> {
  const run = await runLocalProgram(config);
  return run.resources
    .filter((r) => r.type === CONTAINER)
    .map((c) => {
      const declared = Object.fromEntries(
        ((c.inputs.envs as string[] | undefined) ?? []).map((e) => {
          const i = e.indexOf('=');
          return [e.slice(0, i), e.slice(i + 1)];
        }),
      );
      const uploads = (c.inputs.uploads as { file: string; content: string }[] | undefined) ?? [];
      const mounts = (c.inputs.mounts as { source: string; target: string }[] | undefined) ?? [];
      const env = mapPaths(declared, [
        ...uploads.map((u) => ({ path: u.file, content: u.content })),
        ...mounts.map((m) => ({ path: m.target, hostPath: m.source })),
      ]);
      return { stack: 'local' as const, name: c.name, role: roleOf(c.inputs.command), env, declared };
    });
}

/**
 * Every Swarm service of the aws stack with `config`, one entry per task slot where the environment
 * names it (`{{.Task.Slot}}`, filled in as Swarm does).
 */
export async function renderAws(config: Record<string, string>): Promise<Rendered[]> {
  const run = await runAwsProgram(config);
  const secretData = new Map(
    run.resources
      .filter((r) => r.type === SWARM_SECRET)
      .map((s) => [`${s.name}-id`, Buffer.from(String(plain(s.inputs.data)), 'base64').toString()]),
  );
  return run.resources
    .filter((r) => r.type === SWARM_SERVICE)
    .flatMap((s) => {
      const inputs = plain(s.inputs) as Record<string, unknown>;
      const task = inputs.taskSpec as { containerSpec: Record<string, unknown> };
      const spec = task.containerSpec;
      const replicas = (inputs.mode as { replicated?: { replicas: number } }).replicated?.replicas ?? 1;
      const template = (spec.env as Record<string, string> | undefined) ?? {};
      const secrets = (spec.secrets as { secretId: string; fileName: string }[] | undefined) ?? [];
      const mounts = (spec.mounts as { type: string; source: string; target: string }[] | undefined) ?? [];
      const slotted = Object.values(template).some((v) => v.includes('{{.Task.Slot}}'));
      return Array.from({ length: slotted ? replicas : 1 }, (_, i) => {
        const declared = Object.fromEntries(
          Object.entries(template).map(([k, v]) => [k, v.replaceAll('{{.Task.Slot}}', String(i + 1))]),
        );
        const env = mapPaths(declared, [
          ...secrets.map((x) => ({ path: x.fileName, content: secretData.get(x.secretId) })),
          ...mounts.filter((m) => m.type === 'bind').map((m) => ({ path: m.target, hostPath: m.source })),
        ]);
        const name = slotted ? `${s.name}.${i + 1}` : s.name;
        return { stack: 'aws' as const, name, role: roleOf(spec.args), env, declared };
      });
    });
}
