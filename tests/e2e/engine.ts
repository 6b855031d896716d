// Creates on a real Docker engine exactly the docker resources a program run declared (tests/e2e/program.ts),
// through the Engine API (dockerode), in dependency order, and removes them again.
//
// This module only TRANSLATES @pulumi/docker inputs into Engine API calls, with the provider's semantics:
// a container with `wait` is ready once healthy, a container with `attach` once it exited (0, or the run
// fails), anything else once running; dependents start when their dependencies are ready. An input the
// harness does not know how to translate fails the run, naming it: nothing is silently dropped.
import * as path from 'node:path';
import Docker from 'dockerode';

import type { Declared } from './program';
import { describe as describePlan, plan, Step } from './plan';
import { containerReadBack, perpetualDiffs } from './readback';
import { buildContext, contextDigest, tar } from './tar';
import { T } from './types';

export { T };
const DOCKER_TYPES = new Set<string>(Object.values(T));
const DEPENDENCY_FAILED = 'not created: a dependency failed';

export interface Created {
  readonly kind: 'container' | 'service' | 'secret' | 'config' | 'network' | 'volume';
  readonly id: string;
  readonly name: string;
}

export interface DeploymentOptions {
  /** Resources to leave out (e.g. Grafana, whose image cannot be built here), by declared name. */
  readonly exclude?: (r: Declared) => boolean;
  /**
   * What a registry push does for a docker.Image that declares one: makes the built image available to
   * every swarm node (there is no registry here; the Swarm suite loads it into each node's engine).
   */
  readonly push?: (image: string) => Promise<void>;
  /**
   * Network driver options this machine cannot honour (e.g. `encrypted`: its kernel has no IPsec), left
   * out of the networks and recorded in `droppedOptions`, so the suite can report them.
   */
  readonly unsupportedNetworkOptions?: readonly string[];
  /** The engines of the swarm's nodes, where Swarm creates the volumes services mount (default: this one). */
  readonly nodes?: () => readonly Docker[];
  readonly log?: (line: string) => void;
  /** The docker.Images were built while declaring the stack (buildImages): creating one is a no-op. */
  readonly prebuilt?: boolean;
}

type Inputs = Record<string, unknown>;
const str = (v: unknown) => (v === undefined ? undefined : String(v));
const list = <E>(v: unknown) => (Array.isArray(v) ? (v as E[]) : []);

/** Go durations as the provider takes them ("10s", "1m30s", "500ms") in nanoseconds. */
export function nanoseconds(duration: unknown): number | undefined {
  if (duration === undefined || duration === null || duration === '') return undefined;
  const units: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  const text = String(duration);
  const re = /(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== text.length) throw new Error(`not a duration: ${text}`);
  return Math.round(total);
}

const labelsOf = (v: unknown) =>
  Object.fromEntries(list<{ label: string; value: string }>(v).map((l) => [l.label, l.value]));

/** Fails naming every input key that is set but not in `known`. */
function onlyKnown(r: Declared, inputs: Inputs, known: readonly string[]) {
  const unknown = Object.keys(inputs).filter((k) => inputs[k] !== undefined && !known.includes(k));
  if (unknown.length) {
    throw new Error(`${r.type} ${r.name}: the e2e harness does not translate input(s) ${unknown.join(', ')}`);
  }
}

const CONTAINER_INPUTS = [
  'name',
  'networkMode',
  'hostname',
  'image',
  'entrypoints',
  'command',
  'envs',
  'uploads',
  'ports',
  'networksAdvanced',
  'volumes',
  'mounts',
  'healthcheck',
  'user',
  'labels',
  'restart',
  'mustRun',
  'attach',
  'logs',
  'wait',
  'waitTimeout',
  'destroyGraceSeconds',
  'memory',
  'workingDir',
];

/** The Engine API body of POST /containers/create for a docker.Container's inputs. */
export function containerBody(r: Declared): Docker.ContainerCreateOptions {
  const i = r.inputs;
  onlyKnown(r, i, CONTAINER_INPUTS);
  const ports = list<{ internal: number; external?: number; ip?: string; protocol?: string }>(i.ports);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp?: string; HostPort: string }[]> = {};
  for (const p of ports) {
    const key = `${p.internal}/${p.protocol ?? 'tcp'}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({
      HostIp: p.ip ?? '0.0.0.0',
      HostPort: p.external ? String(p.external) : '',
    });
  }
  const health = i.healthcheck as Inputs | undefined;
  return {
    name: str(i.name),
    Hostname: str(i.hostname),
    Image: String(i.image),
    Entrypoint: i.entrypoints ? list<string>(i.entrypoints) : undefined,
    Cmd: i.command ? list<string>(i.command) : undefined,
    Env: list<string>(i.envs),
    User: str(i.user),
    WorkingDir: str(i.workingDir),
    Labels: Object.fromEntries(
      list<{ label: string; value: string }>(i.labels).map((l) => [l.label, l.value]),
    ),
    ExposedPorts: exposed,
    Healthcheck: health
      ? {
          Test: list<string>(health.tests),
          Interval: nanoseconds(health.interval),
          Timeout: nanoseconds(health.timeout),
          Retries: health.retries === undefined ? undefined : Number(health.retries),
          StartPeriod: nanoseconds(health.startPeriod),
        }
      : undefined,
    HostConfig: {
      PortBindings: bindings,
      // As the provider does: created on `networkMode` (default bridge), then moved to networksAdvanced.
      NetworkMode: str(i.networkMode) ?? 'bridge',
      Mounts: [
        ...list<{ volumeName: string; containerPath: string; readOnly?: boolean }>(i.volumes).map((v) => ({
          Type: 'volume' as const,
          Source: v.volumeName,
          Target: v.containerPath,
          ReadOnly: v.readOnly ?? false,
        })),
        // The provider's `mounts` block: here host paths (hostFiles, hostDirs) bound into the container.
        ...list<{ type: string; source: string; target: string; readOnly?: boolean }>(i.mounts).map((m) => ({
          Type: m.type as 'bind',
          Source: m.source,
          Target: m.target,
          ReadOnly: m.readOnly ?? false,
        })),
      ],
      RestartPolicy: { Name: String(i.restart ?? 'no') },
      Memory: i.memory === undefined ? undefined : Number(i.memory) * 1024 * 1024,
    },
  };
}

/** The files of `uploads` as one archive for PUT /containers/{id}/archive at "/". */
export function uploadsArchive(r: Declared): Buffer | undefined {
  const uploads = list<{ file: string; content?: string; contentBase64?: string; permissions?: string }>(
    r.inputs.uploads,
  );
  if (!uploads.length) return undefined;
  return tar(
    uploads.map((u) => ({
      name: u.file.replace(/^\/+/, ''),
      content:
        u.contentBase64 !== undefined ? Buffer.from(u.contentBase64, 'base64') : Buffer.from(u.content ?? ''),
      mode: u.permissions ? parseInt(u.permissions, 8) : 0o644,
    })),
  );
}

/** Dependency order over the docker resources: each resource after everything it depends on. */
export function dockerResources(resources: readonly Declared[]): Declared[] {
  return resources.filter((r) => DOCKER_TYPES.has(r.type));
}

export class Deployment {
  readonly created: Created[] = [];
  /** Declared name → container id, for the tests (docker exec, stop/start). */
  readonly containers = new Map<string, Docker.Container>();
  private readonly ready = new Map<string, Promise<void>>();
  private byUrn: Map<string, Declared>;
  /** The mocks' ids (what inputs refer to) → the engine's ids. */
  private readonly realIds = new Map<string, string>();
  private readonly log: (line: string) => void;
  excluded: Declared[];
  readonly timings: { name: string; seconds: number }[] = [];
  /** Network name → the driver options left out (DeploymentOptions.unsupportedNetworkOptions). */
  readonly droppedOptions = new Map<string, Record<string, string>>();
  /** Set once the deployment is being torn down: no resource is created after that. */
  private aborted = false;
  /** Creations under way (API calls, not waits), which down() lets finish before removing. */
  private readonly creating = new Set<Promise<unknown>>();

  constructor(
    readonly docker: Docker,
    /** What the stack holds: the declarations last applied (the state `pulumi up` compares with). */
    public declared: readonly Declared[],
    private readonly opts: DeploymentOptions = {},
  ) {
    this.byUrn = new Map(declared.map((r) => [r.urn, r]));
    this.log = opts.log ?? (() => undefined);
    this.excluded = this.excludedResources();
  }

  /**
   * Creates everything (except the excluded), each resource once its dependencies are ready. Like
   * `pulumi up`, a failure stops what depends on it and nothing else; the failures are returned.
   */
  async up(): Promise<string[]> {
    const wanted = dockerResources(this.declared).filter((r) => !this.excluded.includes(r));
    await this.removeLeftovers(wanted);
    const results = await Promise.allSettled(wanted.map((r) => this.readyOf(r)));
    return results
      .map((res, k) =>
        res.status === 'rejected' ? `${wanted[k].name}: ${(res.reason as Error).message}` : '',
      )
      .filter((m) => m && !m.includes(DEPENDENCY_FAILED));
  }

  /** What `pulumi up` would do to take the held declarations to `next` (excluded resources left out). */
  planTo(next: readonly Declared[]): Step[] {
    const wanted = (rs: readonly Declared[], excluded: readonly Declared[]) =>
      dockerResources(rs).filter((r) => !excluded.includes(r));
    return plan(wanted(this.declared, this.excluded), wanted(next, this.excludedResources(next)));
  }

  /**
   * `pulumi up` with a new run of the program: what is deleted or replaced goes first (a container's
   * replacement is created only after the old one is removed: its name is fixed), then what is created
   * or replaced is created in dependency order; unchanged resources are left alone. Returns the steps.
   */
  async apply(next: readonly Declared[]): Promise<Step[]> {
    const steps = this.planTo(next);
    // Images were built while declaring; a Swarm service is updated in place (Swarm rolls its tasks).
    const updates = steps.filter((s) => s.action === 'update' && s.type !== T.image && s.type !== T.service);
    if (updates.length)
      throw new Error(`in-place updates are not modelled: ${describePlan(updates).join('; ')}`);
    const old = this.byUrn;
    for (const s of steps.filter((x) => x.action === 'delete' || x.action === 'replace').reverse()) {
      await this.remove(old.get(s.urn) as Declared);
    }
    this.declared = next;
    this.byUrn = new Map(next.map((r) => [r.urn, r]));
    this.excluded = this.excludedResources();
    const todo = new Set(
      steps.filter((x) => x.action === 'create' || x.action === 'replace').map((x) => x.urn),
    );
    this.ready.clear();
    for (const r of dockerResources(next)) if (!todo.has(r.urn)) this.ready.set(r.urn, Promise.resolve());
    const wanted = [...todo].map((u) => this.byUrn.get(u) as Declared);
    const results = await Promise.allSettled(wanted.map((r) => this.readyOf(r)));
    const failed = results
      .map((res, k) =>
        res.status === 'rejected' ? `${wanted[k].name}: ${(res.reason as Error).message}` : '',
      )
      .filter((m) => m && !m.includes(DEPENDENCY_FAILED));
    if (failed.length) throw new Error(`pulumi up failed:\n${failed.join('\n')}`);
    for (const s of steps.filter((x) => x.action === 'update' && x.type === T.service)) {
      await this.updateService(this.byUrn.get(s.urn) as Declared);
    }
    return steps;
  }

  /** A docker.Service updated in place with its new spec; with convergeConfig, until its tasks run. */
  private async updateService(r: Declared): Promise<void> {
    const spec = this.serviceSpec(r);
    const name = String(spec.Name);
    await updateService(this.docker, name, () => spec);
    this.log(`service ${name} updated`);
    const converge = r.inputs.convergeConfig as Inputs | undefined;
    if (!converge) return;
    const replicas = Number(((r.inputs.mode as Inputs)?.replicated as Inputs | undefined)?.replicas ?? 1);
    await this.waitServiceRunning(name, replicas, (nanoseconds(converge.timeout) ?? 300e9) / 1e9);
  }

  /** Deletes one resource as the provider does (a container: stopped within its grace period, then removed). */
  private async remove(r: Declared): Promise<void> {
    const name = String(r.inputs.name ?? r.name);
    const kind = { [T.container]: 'container', [T.volume]: 'volume', [T.network]: 'network' }[r.type];
    if (!kind) throw new Error(`${r.type} ${r.name}: deleting it is not modelled`);
    const entry = this.created.find((c) => c.kind === kind && c.name === name);
    if (!entry) return; // never created (excluded)
    if (kind === 'container') {
      const c = this.docker.getContainer(entry.id);
      const grace = r.inputs.destroyGraceSeconds;
      if (grace !== undefined) await c.stop({ t: Number(grace) }).catch(() => undefined);
      await c.remove({ force: true, v: true });
      this.containers.delete(name);
    } else if (kind === 'volume') {
      await this.docker.getVolume(entry.id).remove();
    } else {
      await this.docker.getNetwork(entry.id).remove();
    }
    this.created.splice(this.created.indexOf(entry), 1);
    this.log(`${kind} ${name} deleted`);
  }

  /**
   * What `pulumi preview --refresh` would plan: every created container read back as the provider reads
   * it, compared with its declaration; one `<name> <field>: engine → declared` line per perpetual diff.
   */
  async refreshDiffs(): Promise<string[]> {
    const diffs: string[] = [];
    for (const r of dockerResources(this.declared).filter(
      (x) => x.type === T.container && !this.excluded.includes(x),
    )) {
      const entry = this.created.find((c) => c.kind === 'container' && c.name === String(r.inputs.name));
      if (!entry) continue;
      const info = await this.docker.getContainer(entry.id).inspect();
      for (const d of perpetualDiffs(r.inputs, containerReadBack(info, r.inputs)))
        diffs.push(`${r.name} ${d}`);
    }
    return diffs;
  }

  /**
   * Objects with the declared names left by an interrupted run (its teardown never ran) are removed
   * first, so that names do not collide; each is reported.
   */
  private async removeLeftovers(wanted: readonly Declared[]): Promise<void> {
    const named = (type: string, key = 'name') =>
      wanted.filter((r) => r.type === type).map((r) => String(r.inputs[key] ?? r.name));
    for (const name of named(T.service)) {
      if (
        await this.docker
          .getService(name)
          .remove()
          .then(
            () => true,
            () => false,
          )
      ) {
        this.log(`removed leftover service ${name}`);
        await this.waitTasksGone(name);
      }
    }
    for (const name of named(T.container)) {
      const c = this.docker.getContainer(name);
      if (
        await c.remove({ force: true, v: true }).then(
          () => true,
          () => false,
        )
      )
        this.log(`removed leftover container ${name}`);
    }
    for (const name of named(T.network)) {
      if (
        await this.docker
          .getNetwork(name)
          .remove()
          .then(
            () => true,
            () => false,
          )
      )
        this.log(`removed leftover network ${name}`);
    }
    for (const name of named(T.volume)) {
      if (
        await this.docker
          .getVolume(name)
          .remove()
          .then(
            () => true,
            () => false,
          )
      )
        this.log(`removed leftover volume ${name}`);
    }
  }

  /**
   * The excluded resources and what only they need (their volumes and images): a resource is left out
   * when it is excluded, or when every docker resource depending on it is left out.
   */
  private excludedResources(declared: readonly Declared[] = this.declared): Declared[] {
    const docker = dockerResources(declared);
    const out = new Set(docker.filter((r) => this.opts.exclude?.(r)));
    let changed = true;
    while (changed) {
      changed = false;
      for (const r of docker) {
        // Only what serves others (volumes, images, secrets, configs) follows its users out.
        if (out.has(r) || ![T.volume, T.remoteImage, T.image, T.secret, T.config].includes(r.type as never))
          continue;
        const dependents = docker.filter(
          (d) => d !== r && (d.dependencies.includes(r.urn) || this.refersTo(d, r)),
        );
        if (dependents.length && dependents.every((d) => out.has(d))) {
          out.add(r);
          changed = true;
        }
      }
    }
    return [...out];
  }

  /** Whether `d`'s inputs name `r` (a volume by name, an image by name: links the mocks do not record). */
  private refersTo(d: Declared, r: Declared): boolean {
    const name = r.type === T.volume ? r.inputs.name : r.type === T.remoteImage ? r.inputs.name : undefined;
    return name !== undefined && JSON.stringify(d.inputs).includes(JSON.stringify(name));
  }

  private readyOf(r: Declared): Promise<void> {
    let p = this.ready.get(r.urn);
    if (!p) {
      p = (async () => {
        const deps = r.dependencies.map((u) => this.byUrn.get(u)).filter((d): d is Declared => !!d);
        // The SDK expands a dependency on a component into its resources; other providers' resources
        // (random passwords, AWS) are settled by the mocks already.
        const settled = await Promise.allSettled(
          deps.filter((d) => DOCKER_TYPES.has(d.type)).map((d) => this.readyOf(d)),
        );
        if (settled.some((x) => x.status === 'rejected')) throw new Error(`${r.name}: ${DEPENDENCY_FAILED}`);
        if (this.aborted) throw new Error(`${r.name}: not created, the deployment was aborted`);
        const t0 = Date.now();
        await this.create(r);
        this.timings.push({
          name: `${r.type.split(':').pop()} ${r.name}`,
          seconds: (Date.now() - t0) / 1000,
        });
      })();
      this.ready.set(r.urn, p);
    }
    return p;
  }

  private async create(r: Declared): Promise<void> {
    if (this.excluded.includes(r)) throw new Error(`${r.name} is needed by a resource that is not excluded`);
    switch (r.type) {
      case T.network:
        return this.createNetwork(r);
      case T.volume:
        return this.createVolume(r);
      case T.remoteImage:
        return this.checkImage(r);
      case T.image:
        return this.buildImage(r);
      case T.container:
        return this.createContainer(r);
      case T.secret:
        return this.createSecret(r);
      case T.config:
        return this.createConfig(r);
      case T.service:
        return this.createService(r);
      default:
        throw new Error(`${r.type} ${r.name}: not handled by this deployment`);
    }
  }

  private real(mockId: unknown, what: string): string {
    const id = this.realIds.get(String(mockId));
    if (!id) throw new Error(`${what} refers to ${String(mockId)}, which this deployment did not create`);
    return id;
  }

  private async createSecret(r: Declared) {
    onlyKnown(r, r.inputs, ['name', 'data', 'labels']);
    const name = String(r.inputs.name ?? this.stateName(r));
    const secret = (await this.docker.createSecret({
      Name: name,
      Data: String(r.inputs.data), // already base64, as the provider takes it
      Labels: labelsOf(r.inputs.labels),
    })) as unknown as { id: string };
    this.realIds.set(r.id, secret.id);
    this.created.push({ kind: 'secret', id: secret.id, name });
  }

  private async createConfig(r: Declared) {
    onlyKnown(r, r.inputs, ['name', 'data']);
    const name = String(r.inputs.name ?? this.stateName(r));
    const config = (await this.docker.createConfig({
      Name: name,
      Data: String(r.inputs.data),
    })) as unknown as {
      id: string;
    };
    this.realIds.set(r.id, config.id);
    this.created.push({ kind: 'config', id: config.id, name });
  }

  /** The name the mocks gave an unnamed secret or config (what the services' inputs refer to). */
  private stateName(r: Declared): string {
    const users = this.declared.filter((d) => d.type === T.service);
    for (const u of users) {
      const spec = (u.inputs.taskSpec as Inputs | undefined)?.containerSpec as Inputs | undefined;
      for (const ref of [...list<Inputs>(spec?.secrets), ...list<Inputs>(spec?.configs)]) {
        if (ref.secretId === r.id) return String(ref.secretName);
        if (ref.configId === r.id) return String(ref.configName);
      }
    }
    return r.name;
  }

  /** The Engine API ServiceSpec of a docker.Service's inputs. */
  serviceSpec(r: Declared): Record<string, unknown> {
    const i = r.inputs;
    onlyKnown(r, i, [
      'name',
      'mode',
      'taskSpec',
      'endpointSpec',
      'updateConfig',
      'convergeConfig',
      'auth',
      'labels',
    ]);
    const task = i.taskSpec as Inputs;
    onlyKnown(r, task, ['containerSpec', 'networksAdvanceds', 'placement', 'restartPolicy', 'resources']);
    const c = task.containerSpec as Inputs;
    onlyKnown(r, c, [
      'image',
      'hostname',
      'commands',
      'args',
      'env',
      'secrets',
      'configs',
      'mounts',
      'healthcheck',
      'user',
      'stopGracePeriod',
      'dir',
      'labels',
    ]);
    const file = (f: Inputs) => ({
      Name: String(f.fileName),
      UID: String(f.fileUid ?? '0'),
      GID: String(f.fileGid ?? '0'),
      Mode: Number(f.fileMode ?? 0o444),
    });
    const health = c.healthcheck as Inputs | undefined;
    const constraints = list<string>((task.placement as Inputs | undefined)?.constraints);
    const restart = task.restartPolicy as Inputs | undefined;
    const mode = i.mode as Inputs | undefined;
    const endpoint = i.endpointSpec as Inputs | undefined;
    const update = i.updateConfig as Inputs | undefined;
    return {
      Name: String(i.name),
      Labels: labelsOf(i.labels),
      TaskTemplate: {
        ContainerSpec: {
          Image: String(c.image),
          Hostname: str(c.hostname),
          Command: c.commands ? list<string>(c.commands) : undefined,
          Args: c.args ? list<string>(c.args) : undefined,
          Env: Object.entries((c.env as Record<string, string>) ?? {}).map(([k, v]) => `${k}=${v}`),
          User: str(c.user),
          Dir: str(c.dir),
          Labels: (c.labels as Record<string, string>) ?? {},
          StopGracePeriod: nanoseconds(c.stopGracePeriod),
          Secrets: list<Inputs>(c.secrets).map((x) => ({
            SecretID: this.real(x.secretId, `${r.name} secret`),
            SecretName: String(x.secretName),
            File: file(x),
          })),
          Configs: list<Inputs>(c.configs).map((x) => ({
            ConfigID: this.real(x.configId, `${r.name} config`),
            ConfigName: String(x.configName),
            File: file(x),
          })),
          Mounts: list<Inputs>(c.mounts).map((m) => ({
            Type: String(m.type ?? 'volume'),
            Source: str(m.source),
            Target: String(m.target),
            ReadOnly: Boolean(m.readOnly),
          })),
          Healthcheck: health
            ? {
                Test: list<string>(health.tests),
                Interval: nanoseconds(health.interval),
                Timeout: nanoseconds(health.timeout),
                Retries: health.retries === undefined ? undefined : Number(health.retries),
                StartPeriod: nanoseconds(health.startPeriod),
              }
            : undefined,
        },
        Networks: list<Inputs>(task.networksAdvanceds).map((n) => ({
          Target: this.real(n.id, `${r.name} network`),
          Aliases: list<string>(n.aliases),
        })),
        Placement: { Constraints: constraints },
        RestartPolicy: restart
          ? {
              Condition: str(restart.condition),
              Delay: nanoseconds(restart.delay),
              MaxAttempts: restart.maxAttempts === undefined ? undefined : Number(restart.maxAttempts),
              Window: nanoseconds(restart.window),
            }
          : undefined,
      },
      Mode: mode?.global
        ? { Global: {} }
        : { Replicated: { Replicas: Number((mode?.replicated as Inputs | undefined)?.replicas ?? 1) } },
      EndpointSpec: endpoint
        ? {
            Mode: str(endpoint.mode),
            Ports: list<Inputs>(endpoint.ports).map((p) => ({
              Name: str(p.name),
              TargetPort: Number(p.targetPort),
              PublishedPort: p.publishedPort === undefined ? undefined : Number(p.publishedPort),
              Protocol: str(p.protocol) ?? 'tcp',
              PublishMode: str(p.publishMode) ?? 'ingress',
            })),
          }
        : undefined,
      UpdateConfig: update
        ? {
            Parallelism: Number(update.parallelism ?? 1),
            Order: str(update.order),
            FailureAction: str(update.failureAction),
            Delay: nanoseconds(update.delay),
          }
        : undefined,
    };
  }

  private async createService(r: Declared) {
    // `auth` is what nodes pull with; images reach the nodes through `push` here (no registry): not needed.
    const spec = this.serviceSpec(r);
    const name = String(spec.Name);
    const service = (await this.docker.createService(spec)) as unknown as { id: string };
    this.created.push({ kind: 'service', id: service.id, name });
    const converge = r.inputs.convergeConfig as Inputs | undefined;
    if (!converge) return; // the provider returns at once; dependents rely on restart policies
    const replicas = Number(((r.inputs.mode as Inputs)?.replicated as Inputs | undefined)?.replicas ?? 1);
    await this.waitServiceRunning(name, replicas, (nanoseconds(converge.timeout) ?? 300e9) / 1e9);
    this.log(`service ${name}: ${replicas} task(s) running`);
  }

  /** Waits until `replicas` tasks of the service run (healthy, for images with a health check). */
  async waitServiceRunning(name: string, replicas: number, timeoutSeconds: number): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      if (this.aborted) throw new Error(`${name}: the deployment was aborted`);
      const tasks = (await this.docker.listTasks({
        filters: { service: [name], 'desired-state': ['running'] },
      })) as { Status: { State: string; Err?: string } }[];
      const running = tasks.filter((t) => t.Status.State === 'running').length;
      if (running >= replicas) return;
      if (Date.now() > deadline) {
        const states = tasks.map((t) => `${t.Status.State}${t.Status.Err ? ` (${t.Status.Err})` : ''}`);
        throw new Error(
          `service ${name}: ${running}/${replicas} tasks running after ${timeoutSeconds}s: ${states.join(', ')}`,
        );
      }
      await new Promise((res) => setTimeout(res, 2000));
    }
  }

  private async createNetwork(r: Declared) {
    onlyKnown(r, r.inputs, [
      'name',
      'driver',
      'attachable',
      'internal',
      'options',
      'labels',
      'ipv6',
      'ipamConfigs',
    ]);
    const i = r.inputs;
    const options = { ...((i.options as Record<string, string>) ?? {}) };
    const dropped = Object.fromEntries(
      Object.entries(options).filter(([k]) => this.opts.unsupportedNetworkOptions?.includes(k)),
    );
    for (const k of Object.keys(dropped)) delete options[k];
    if (Object.keys(dropped).length) this.droppedOptions.set(String(i.name ?? r.name), dropped);
    const net = await this.docker.createNetwork({
      Name: String(i.name ?? r.name),
      Driver: str(i.driver),
      Attachable: Boolean(i.attachable),
      Internal: Boolean(i.internal),
      EnableIPv6: Boolean(i.ipv6),
      Options: options,
      ...(i.ipamConfigs
        ? {
            IPAM: {
              Driver: 'default',
              Config: list<{ subnet?: string; gateway?: string }>(i.ipamConfigs).map((c) => ({
                Subnet: c.subnet,
                Gateway: c.gateway,
              })),
            },
          }
        : {}),
      Labels: Object.fromEntries(
        list<{ label: string; value: string }>(i.labels).map((l) => [l.label, l.value]),
      ),
      CheckDuplicate: true,
    });
    this.realIds.set(r.id, net.id);
    this.created.push({ kind: 'network', id: net.id, name: String(i.name ?? r.name) });
    this.log(`network ${i.name} created`);
  }

  private async createVolume(r: Declared) {
    onlyKnown(r, r.inputs, ['name', 'driver', 'driverOpts', 'labels']);
    const name = String(r.inputs.name ?? r.name);
    await this.docker.createVolume({
      Name: name,
      Driver: str(r.inputs.driver) ?? 'local',
      DriverOpts: (r.inputs.driverOpts as Record<string, string>) ?? {},
    });
    this.realIds.set(r.id, name);
    this.created.push({ kind: 'volume', id: name, name });
  }

  private async checkImage(r: Declared) {
    onlyKnown(r, r.inputs, ['name', 'keepLocally', 'forceRemove', 'pullTriggers', 'platform']);
    const name = String(r.inputs.name);
    try {
      await this.docker.getImage(name).inspect();
    } catch {
      throw new Error(
        `image ${name} is not on this engine and there is no registry: run scripts/build-images.sh`,
      );
    }
  }

  private async buildImage(r: Declared) {
    if (this.opts.prebuilt) return; // built while declaring (buildImages)
    await buildImage(this.docker, r, this.log);
    if (r.inputs.registry && !r.inputs.skipPush) {
      if (!this.opts.push) throw new Error(`${r.name}: pushes to a registry, and this deployment has none`);
      await this.opts.push(String(r.inputs.imageName));
    }
  }

  private async createContainer(r: Declared) {
    const body = containerBody(r);
    const name = String(body.name);
    // A leftover of an interrupted run (same declared name) is replaced, as `pulumi up` would.
    await this.docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
    const creation = (async () => {
      const c = await this.docker.createContainer(body);
      this.created.push({ kind: 'container', id: c.id, name });
      this.containers.set(name, c);
      const networks = list<{ name: string; aliases?: string[] }>(r.inputs.networksAdvanced);
      if (networks.length) {
        await this.docker.getNetwork('bridge').disconnect({ Container: c.id });
        for (const n of networks) {
          await this.docker
            .getNetwork(n.name)
            .connect({ Container: c.id, EndpointConfig: { Aliases: n.aliases ?? [] } });
        }
      }
      const archive = uploadsArchive(r);
      if (archive) await c.putArchive(archive, { path: '/' });
      await c.start();
      return c;
    })();
    this.creating.add(creation);
    const container = await creation.finally(() => this.creating.delete(creation));
    const i = r.inputs;
    if (i.attach) {
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      if (StatusCode !== 0) {
        throw new Error(`job ${name} exited with ${StatusCode}:\n${await this.logsOf(container)}`);
      }
      this.log(`job ${name} finished`);
      return;
    }
    if (i.wait) {
      await this.waitHealthy(container, name, Number(i.waitTimeout ?? 60));
      this.log(`container ${name} healthy`);
    } else if (i.mustRun) {
      const state = (await container.inspect()).State;
      if (!state.Running)
        throw new Error(`container ${name} is not running:\n${await this.logsOf(container)}`);
      this.log(`container ${name} running`);
    }
  }

  async waitHealthy(container: Docker.Container, name: string, timeoutSeconds: number): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      if (this.aborted) throw new Error(`${name}: the deployment was aborted`);
      const state = (await container.inspect()).State;
      if (state.Health?.Status === 'healthy') return;
      if (!state.Running && !state.Restarting) {
        throw new Error(
          `container ${name} stopped (exit ${state.ExitCode}):\n${await this.logsOf(container)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `container ${name} not healthy after ${timeoutSeconds}s:\n${await this.logsOf(container)}`,
        );
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
  }

  private async waitTasksGone(service: string): Promise<void> {
    for (let k = 0; k < 60; k++) {
      const left = await this.docker.listContainers({
        all: true,
        filters: { label: [`com.docker.swarm.service.name=${service}`] },
      });
      if (!left.length) return;
      await new Promise((res) => setTimeout(res, 1000));
    }
  }

  async logsOf(container: Docker.Container, tail = 40): Promise<string> {
    const buf = (await container.logs({ stdout: true, stderr: true, tail })) as unknown as Buffer;
    // Multiplexed stream: 8-byte frame headers before each chunk.
    const lines: string[] = [];
    for (let off = 0; off + 8 <= buf.length;) {
      const size = buf.readUInt32BE(off + 4);
      lines.push(buf.subarray(off + 8, off + 8 + size).toString());
      off += 8 + size;
    }
    return lines.join('');
  }

  /** Removes everything this deployment created, newest first; reports what it could not remove. */
  async down(): Promise<string[]> {
    this.aborted = true;
    await Promise.allSettled([...this.creating]);
    const failures: string[] = [];
    // Swarm creates the volumes its services mount on the node: they go once the tasks are gone.
    const serviceVolumes = this.declared
      .filter(
        (r) =>
          r.type === T.service && this.created.some((c) => c.kind === 'service' && c.name === r.inputs.name),
      )
      .flatMap((r) => list<Inputs>(((r.inputs.taskSpec as Inputs).containerSpec as Inputs).mounts))
      .filter((m) => (m.type ?? 'volume') === 'volume' && m.source)
      .map((m) => String(m.source));
    for (const c of [...this.created].reverse()) {
      try {
        if (c.kind === 'container') await this.docker.getContainer(c.id).remove({ force: true, v: true });
        if (c.kind === 'service') await this.docker.getService(c.id).remove();
        if (c.kind === 'secret') await this.docker.getSecret(c.id).remove();
        if (c.kind === 'config') await this.docker.getConfig(c.id).remove();
        if (c.kind === 'network') await this.docker.getNetwork(c.id).remove();
        if (c.kind === 'volume') await this.docker.getVolume(c.id).remove();
      } catch (err) {
        failures.push(`${c.kind} ${c.name}: ${(err as Error).message}`);
      }
      if (c.kind === 'service') await this.waitTasksGone(c.name);
    }
    // Each on the node(s) that made it: a pinned member's volume is on its node only.
    const nodes = this.opts.nodes?.() ?? [this.docker];
    for (const v of new Set(serviceVolumes)) {
      let found = false;
      for (const node of nodes) {
        // A task's container goes a little after the manager's task: "in use" (409) for a while.
        const deadline = Date.now() + 60_000;
        for (;;) {
          const err = await node
            .getVolume(v)
            .remove()
            .then(() => undefined)
            .catch((e: Error & { statusCode?: number }) => e);
          if (!err) found = true;
          else if (err.statusCode === 409 && Date.now() < deadline) {
            await new Promise((res) => setTimeout(res, 2000));
            continue;
          } else if (err.statusCode !== 404) failures.push(`volume ${v}: ${err.message}`);
          break;
        }
      }
      if (!found && !failures.some((f) => f.startsWith(`volume ${v}:`)))
        failures.push(`volume ${v}: on no node`);
    }
    return failures;
  }
}

/** Replaces a Swarm service's spec with `next(current spec)`, against the version it was read at. */
export async function updateService(
  docker: Docker,
  name: string,
  next: (spec: Record<string, unknown>) => object,
): Promise<void> {
  const service = docker.getService(name);
  const info = (await service.inspect()) as { Version: { Index: number }; Spec: Record<string, unknown> };
  // The spec in the body, the version it replaces in the query (docker-modem's _body/_query).
  await service.update({ _query: { version: info.Version.Index }, _body: next(info.Spec) });
}

/** An image the harness built: its engine ID and the digest of its context (the provider's contextDigest). */
export interface Built {
  readonly id: string;
  readonly contextDigest: string;
}

/**
 * Builds a docker.Image from its declared context and Dockerfile with what the provider sends the build
 * endpoint (pulumi-docker provider/image.go): BuildKit (version 2) or the classic builder (version 1)
 * WITHOUT `rm` (its build options leave Remove unset, so the client sends rm=0 and every step's
 * container stays behind). `context` replaces the declared context (a modified copy of the sources).
 */
export async function buildImage(
  docker: Docker,
  r: Declared,
  log: (line: string) => void,
  context?: string,
): Promise<Built> {
  // buildOnPreview only matters to `pulumi preview`.
  onlyKnown(r, r.inputs, ['imageName', 'build', 'skipPush', 'registry', 'buildOnPreview']);
  const build = r.inputs.build as Inputs;
  onlyKnown(r, build, [
    'context',
    'dockerfile',
    'args',
    'builderVersion',
    'target',
    'platform',
    'contextDigest',
  ]);
  const declaredContext = String(build.context);
  const dir = context ?? declaredContext;
  const dockerfile = path.relative(
    declaredContext,
    path.resolve(declaredContext, String(build.dockerfile ?? 'Dockerfile')),
  );
  const archive = buildContext(dir, dockerfile);
  const t0 = Date.now();
  const buildKit = (build.builderVersion ?? 'BuilderBuildKit') === 'BuilderBuildKit';
  const stream = await docker.buildImage(archive as unknown as NodeJS.ReadableStream, {
    t: String(r.inputs.imageName),
    dockerfile,
    buildargs: (build.args as Record<string, string>) ?? {},
    target: str(build.target),
    platform: str(build.platform),
    version: buildKit ? '2' : '1',
    rm: false,
  });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (err: Error | null, res: { error?: string; stream?: string }[]) => {
        const failed = err?.message ?? res.find((e) => e.error)?.error;
        if (failed)
          reject(
            new Error(`building ${r.inputs.imageName} failed: ${failed}\n${output.slice(-30).join('')}`),
          );
        else resolve();
      },
      (event: { stream?: string }) => event.stream && output.push(event.stream),
    ),
  );
  // With skipPush the provider's repoDigest is the built image's ID.
  const { Id } = await docker.getImage(String(r.inputs.imageName)).inspect();
  log(`image ${r.inputs.imageName} built in ${((Date.now() - t0) / 1000).toFixed(0)}s: ${Id.slice(0, 19)}`);
  return { id: Id, contextDigest: contextDigest(dir, dockerfile) };
}

/** Builds every docker.Image a run declares; image name → what was built. */
export async function buildImages(
  docker: Docker,
  resources: readonly Declared[],
  log: (line: string) => void,
  context?: string,
): Promise<Map<string, Built>> {
  const built = new Map<string, Built>();
  for (const r of resources.filter((x) => x.type === T.image)) {
    built.set(String(r.inputs.imageName), await buildImage(docker, r, log, context));
  }
  return built;
}
