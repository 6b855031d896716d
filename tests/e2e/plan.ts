// What `pulumi up` would do to the docker resources the harness holds, given a new run of the program,
// and what `pulumi preview --refresh` would plan from what the engine reports: the provider's diff,
// modelled for the resources and inputs this stack uses (terraform-provider-docker's schema, through
// pulumi-docker: a docker.Container is replaced on a change of any input but a few, and always deleted
// before its replacement is created, since its name is fixed).
import { isDeepStrictEqual } from 'node:util';

import type { Declared } from './program';
import { T } from './types';

export type Action = 'create' | 'update' | 'replace' | 'delete';

export interface Step {
  readonly action: Action;
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** The inputs that differ (empty for create and delete). */
  readonly fields: readonly string[];
}

/** docker.Container inputs the provider updates in place (the schema's attributes without ForceNew). */
const CONTAINER_UPDATABLE = new Set([
  'attach',
  'logs',
  'wait',
  'waitTimeout',
  'mustRun',
  'restart',
  'maxRetryCount',
  'destroyGraceSeconds',
  'memory',
  'memoryReservation',
  'memorySwap',
  'cpuShares',
  'cpuSet',
  'healthcheck',
  'init',
  'removeVolumes',
  'rm',
  'start',
]);

/** Resources the plan covers: the docker provider's (random passwords and AWS are the mocks' business). */
const PLANNED = new Set<string>(Object.values(T));

/** Top-level inputs whose values differ (an input absent on one side and undefined on the other is equal). */
export function changedInputs(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => !isDeepStrictEqual(before[k] ?? undefined, after[k] ?? undefined)).sort();
}

/** Whether a change of `fields` replaces a resource of `type` (rather than updating it in place). */
export function replaces(type: string, fields: readonly string[]): boolean {
  switch (type) {
    case T.container:
      return fields.some((f) => !CONTAINER_UPDATABLE.has(f));
    case T.image:
      return false; // the native Image resource rebuilds on update
    case T.service:
      return fields.includes('name');
    default:
      return fields.length > 0; // networks, volumes, remote images, secrets, configs: every input forces new
  }
}

/** The steps that take the held resources to the declared ones, in the engine's report order. */
export function plan(held: readonly Declared[], next: readonly Declared[]): Step[] {
  const before = new Map(held.filter((r) => PLANNED.has(r.type)).map((r) => [r.urn, r]));
  const steps: Step[] = [];
  for (const r of next.filter((x) => PLANNED.has(x.type))) {
    const old = before.get(r.urn);
    before.delete(r.urn);
    if (!old) {
      steps.push({ action: 'create', type: r.type, name: r.name, urn: r.urn, fields: [] });
      continue;
    }
    const fields = changedInputs(old.inputs, r.inputs);
    if (!fields.length) continue;
    const action = replaces(r.type, fields) ? 'replace' : 'update';
    steps.push({ action, type: r.type, name: r.name, urn: r.urn, fields });
  }
  for (const r of before.values())
    steps.push({ action: 'delete', type: r.type, name: r.name, urn: r.urn, fields: [] });
  return steps;
}

/** One line per step, as `pulumi preview` prints them: `+- inject-0 (image)`. */
export function describe(steps: readonly Step[]): string[] {
  const sign = { create: '+', update: '~', replace: '+-', delete: '-' } as const;
  return steps.map((s) => `${sign[s.action]} ${s.name}${s.fields.length ? ` (${s.fields.join(', ')})` : ''}`);
}
