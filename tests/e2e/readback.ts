// What the docker provider reads back from the engine on refresh (terraform-provider-docker's container
// read: `docker inspect` rendered into the resource's inputs), and the perpetual diffs it shows: a declared
// input that the engine reports in another form plans an update or a replacement on every
// `pulumi preview --refresh`. Only the inputs the provider reads back are compared; the others (envs,
// labels, uploads, volumes, networksAdvanced) stay as declared in the state.
import type Docker from 'dockerode';
import { isDeepStrictEqual } from 'node:util';

import { goDuration } from '../../components/platforms/docker-health';

type Inputs = Record<string, unknown>;

/** A Go time.Duration (nanoseconds) as the provider renders it: Go's String(). */
export function goDurationOfNanos(ns: number | undefined): string {
  const n = ns ?? 0;
  if (n % 1e9 !== 0) throw new Error(`a duration of ${n}ns is not whole seconds: not modelled`);
  return goDuration(n / 1e9);
}

/** The inputs of a docker.Container as the provider reads them from `docker inspect`. */
export function containerReadBack(info: Docker.ContainerInspectInfo, declared: Inputs): Inputs {
  const c = info.Config;
  const h = info.HostConfig;
  const health = c.Healthcheck as
    | {
        Test?: string[];
        Interval?: number;
        Timeout?: number;
        StartPeriod?: number;
        StartInterval?: number;
        Retries?: number;
      }
    | undefined;
  const out: Inputs = {
    name: info.Name.replace(/^\/+/, ''),
    // A declared image ID is compared with the container's image ID, a name with the name it was created with.
    image: String(declared.image ?? '').startsWith('sha256:') ? info.Image : c.Image,
    hostname: c.Hostname,
    command: c.Cmd ?? undefined,
    entrypoints: c.Entrypoint ?? undefined,
    user: c.User,
    workingDir: c.WorkingDir,
    restart: h.RestartPolicy?.Name ?? '',
    networkMode: h.NetworkMode,
    memory: Math.floor((h.Memory ?? 0) / 1024 / 1024),
    healthcheck: health
      ? {
          tests: health.Test ?? [],
          interval: goDurationOfNanos(health.Interval),
          timeout: goDurationOfNanos(health.Timeout),
          startPeriod: goDurationOfNanos(health.StartPeriod),
          startInterval: goDurationOfNanos(health.StartInterval),
          retries: health.Retries ?? 0,
        }
      : undefined,
  };
  // Ports are read only from a running container (or one that must run).
  if (info.State.Running || declared.mustRun !== false) {
    const ports: Inputs[] = [];
    for (const [key, bindings] of Object.entries(info.NetworkSettings.Ports ?? {})) {
      const [internal, protocol] = key.split('/');
      for (const b of bindings ?? []) {
        ports.push({ internal: Number(internal), external: Number(b.HostPort), ip: b.HostIp, protocol });
      }
    }
    out.ports = ports;
  }
  // A container that should run but stopped reads back as mustRun false (the provider then restarts it).
  if (!info.State.Running && declared.mustRun !== false) out.mustRun = false;
  return out;
}

/** The declared inputs with the provider's schema defaults filled in, in the form they are read back. */
function withDefaults(declared: Inputs): Inputs {
  const health = declared.healthcheck as Inputs | undefined;
  const ports = (declared.ports as Inputs[] | undefined) ?? [];
  return {
    ...declared,
    restart: declared.restart ?? 'no',
    networkMode: declared.networkMode ?? 'bridge',
    memory: declared.memory ?? 0,
    mustRun: declared.mustRun ?? true,
    healthcheck: health && {
      tests: health.tests,
      interval: health.interval ?? '0s',
      timeout: health.timeout ?? '0s',
      startPeriod: health.startPeriod ?? '0s',
      startInterval: health.startInterval ?? '0s',
      retries: health.retries ?? 0,
    },
    ports: ports.map((p) => ({
      internal: p.internal,
      external: p.external,
      ip: p.ip ?? '0.0.0.0',
      protocol: p.protocol ?? 'tcp',
    })),
  };
}

/** Inputs the engine fills in when they are not declared (the schema marks them computed). */
const COMPUTED = new Set(['hostname', 'command', 'entrypoints', 'healthcheck']);
/** Inputs where an empty declaration means "the engine's default" (the schema suppresses the diff). */
const EMPTY_IS_DEFAULT = new Set(['user', 'workingDir']);

const sortedPorts = (v: unknown) =>
  [...((v as Inputs[] | undefined) ?? [])].map((p) => JSON.stringify(p)).sort();

/**
 * Every input whose read-back value differs from the declaration, as `field: engine → declared`
 * (what `pulumi preview --refresh` would plan). Empty when a refresh plans nothing.
 */
export function perpetualDiffs(declared: Inputs, readBack: Inputs): string[] {
  const want = withDefaults(declared);
  const diffs: string[] = [];
  for (const [field, got] of Object.entries(readBack)) {
    const expected = want[field];
    if (expected === undefined && COMPUTED.has(field)) continue;
    if ((expected === undefined || expected === '') && EMPTY_IS_DEFAULT.has(field)) continue;
    if (field === 'mustRun' && got === false && want.mustRun === true) {
      diffs.push('mustRun: false → true (the container is not running)');
      continue;
    }
    const equal =
      field === 'ports'
        ? isDeepStrictEqual(sortedPorts(got), sortedPorts(expected))
        : isDeepStrictEqual(got ?? undefined, expected ?? undefined);
    if (!equal) diffs.push(`${field}: ${JSON.stringify(got)} → ${JSON.stringify(expected)}`);
  }
  return diffs;
}
