// The local platform: every declared service runs on this machine's Docker engine, one docker.Container
// per replica named `<service>-<index>`, on one bridge network where `<service>` and `<service>-<index>`
// resolve. Published ports bind to `smartmeter:bindAddress` (127.0.0.1 by default).
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';

import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';

import { checkCassandraHeapFits, ConfigError, NAMESPACE, type StackConfig } from '../config';
import { dockerHealthcheck, secondsToHealthy } from './docker-health';
import { REPO_ROOT, servicesImageBuild } from './services-image';
import {
  assertValidSpec,
  DeployedService,
  DeployOptions,
  EnvValue,
  HealthCheckSpec,
  hostMounts,
  isReplicaSlot,
  isReplicaZone,
  Platform,
  replicasOf,
  ScrapeConfig,
  secretPath,
  secretsOf,
  ServiceSpec,
} from '../spec';

export interface LocalPlatformArgs {
  readonly config: StackConfig;
  /** Build context of the services image: the repository root (the npm workspace lockfile lives there). */
  readonly repoRoot?: string;
}

/**
 * The host files and directories the stack mounts (`smartmeter:replayFiles`, `injectLedgerDir`) must exist
 * here, before anything is declared (docker refuses a bind mount of a missing path).
 */
export function checkHostFiles(config: StackConfig): void {
  for (const file of config.replay?.files ?? []) {
    if (!existsSync(file))
      throw new ConfigError(`${NAMESPACE}:replayFiles: ${file} does not exist on this host`);
  }
  const ledger = config.injectLedgerDir;
  if (ledger && !existsSync(ledger))
    throw new ConfigError(
      `${NAMESPACE}:injectLedgerDir: ${ledger} does not exist on this host (create it, writable by uid 1000)`,
    );
}

/** Every Cassandra node of the local stack runs on this host's engine: their heaps share its memory. */
export function checkHostMemory(config: StackConfig, memoryBytes = totalmem()): void {
  if (!config.tiers.has('storage')) return;
  checkCassandraHeapFits(config, config.cassandraNodes, { name: 'this host', memoryBytes });
}

export class LocalPlatform extends pulumi.ComponentResource implements Platform {
  public readonly network: docker.Network;
  public readonly publicHost: pulumi.Output<string>;
  private readonly config: StackConfig;
  private readonly repoRoot: string;
  private servicesImage?: docker.Image;
  private readonly remoteImages = new Map<string, docker.RemoteImage>();
  private readonly deployed = new Map<string, DeployedService>();

  constructor(name: string, args: LocalPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:platform:Local', name, {}, opts);
    this.config = args.config;
    this.repoRoot = args.repoRoot ?? REPO_ROOT;
    this.network = new docker.Network(
      `${name}-network`,
      { name: 'smartmeter', driver: 'bridge', attachable: true },
      { parent: this },
    );
    // Listening on all interfaces is still reached through loopback from this machine.
    const host = args.config.bindAddress === '0.0.0.0' ? '127.0.0.1' : args.config.bindAddress;
    this.publicHost = pulumi.output(host);
    this.registerOutputs({ network: this.network.name, publicHost: this.publicHost });
  }

  deploy(spec: ServiceSpec, opts: DeployOptions): DeployedService {
    assertValidSpec(spec);
    // Locally every port is bound to 127.0.0.1 and nothing else shares the bridge: no private networks.
    if (spec.networks?.length)
      throw new Error(`service "${spec.name}": private networks need a TLS platform`);
    if (this.deployed.has(spec.name)) throw new Error(`service "${spec.name}" is declared twice`);
    const image = this.imageFor(spec);
    const job = spec.lifecycle === 'job';
    const gates = (spec.dependsOn ?? []).filter((d) => d.spec.lifecycle === 'job');

    const containers: docker.Container[] = [];
    for (let index = 0; index < replicasOf(spec); index++) {
      const containerName = `${spec.name}-${index}`;
      const volumes = (spec.volumes ?? []).map((v) => {
        const volumeName = `smartmeter-${spec.name}-${v.name}-${index}`;
        const volume = new docker.Volume(volumeName, { name: volumeName }, { parent: opts.parent });
        return { volume, containerPath: v.path };
      });
      containers.push(
        new docker.Container(
          containerName,
          {
            name: containerName,
            hostname: containerName,
            image,
            entrypoints: spec.entrypoint ? [...spec.entrypoint] : undefined,
            command: spec.args ? [...spec.args] : undefined,
            envs: envList(spec, index),
            uploads: [
              ...(spec.files ?? []).map((f) => ({ file: f.path, content: f.content })),
              // 0444 like Swarm secrets: images run as their own non-root users (grafana, cassandra, node).
              ...secretsOf(spec, index).map((s) => ({
                file: secretPath(s),
                content: pulumi.secret(s.value),
                permissions: '0444',
              })),
            ],
            // Only the first replica publishes: one host port cannot be bound twice.
            ports:
              index === 0
                ? (spec.ports ?? [])
                    .filter((p) => (p.publish ?? 0) > 0)
                    .map((p) => ({ internal: p.port, external: p.publish, ip: this.config.bindAddress }))
                : [],
            networksAdvanced: [{ name: this.network.name, aliases: [spec.name, containerName] }],
            volumes: volumes.map((v) => ({ volumeName: v.volume.name, containerPath: v.containerPath })),
            mounts: spec.hostFiles?.length || spec.hostDirs?.length ? hostMounts(spec) : undefined,
            healthcheck: spec.healthCheck ? dockerHealthcheck(spec.healthCheck) : undefined,
            user: spec.user,
            labels: [
              { label: 'smartmeter.service', value: spec.name },
              { label: 'smartmeter.replica', value: String(index) },
              // A job that failed stops the deployment here, before anything that needs it starts.
              ...gates.map((g) => ({ label: `smartmeter.after.${g.spec.name}`, value: succeeded(g) })),
            ],
            // Jobs run to completion during `pulumi up` (attach) and are not restarted.
            restart: job ? 'no' : 'unless-stopped',
            mustRun: !job,
            attach: job,
            logs: job,
            // Start order: dependents are created once this replica reports healthy.
            wait: !job && spec.healthCheck !== undefined,
            waitTimeout: spec.healthCheck ? waitSeconds(spec.healthCheck) : undefined,
            destroyGraceSeconds: 30,
          },
          {
            parent: opts.parent,
            dependsOn: [
              ...(spec.dependsOn ?? []).flatMap((d) => d.resources),
              ...volumes.map((v) => v.volume),
            ],
          },
        ),
      );
    }
    const deployed: DeployedService = { spec, resources: containers };
    this.deployed.set(spec.name, deployed);
    return deployed;
  }

  replicaHost(service: string, index: number): string {
    return `${service}-${index}`;
  }

  /**
   * Prometheus finds the replicas of a service by its network alias (Docker's DNS answers every
   * container that has it), so scaling changes no input of the Prometheus container: it is not replaced.
   */
  scrapeConfigs(services: readonly DeployedService[]): ScrapeConfig[] {
    return services
      .filter((s) => s.spec.scrape && replicasOf(s.spec) > 0)
      .map(({ spec }) => ({
        job_name: spec.name,
        metrics_path: spec.scrape?.path ?? '/metrics',
        dns_sd_configs: [{ names: [spec.name], type: 'A', port: spec.scrape?.port, refresh_interval: '10s' }],
      }));
  }

  /** The image reference of a declaration; each image is built or pulled once per stack. */
  private imageFor(spec: ServiceSpec): pulumi.Output<string> {
    if (spec.image.kind === 'services') {
      this.servicesImage ??= new docker.Image(
        'services-image',
        {
          imageName: this.config.servicesImage,
          build: servicesImageBuild(this.config, this.repoRoot),
          skipPush: true,
        },
        { parent: this },
      );
      // For a local image repoDigest is its image ID: containers are replaced when the build changes.
      return this.servicesImage.repoDigest;
    }
    const name = spec.image.name;
    let remote = this.remoteImages.get(name);
    if (!remote) {
      remote = new docker.RemoteImage(
        `image-${name.replace(/[^A-Za-z0-9.-]+/g, '-')}`,
        { name, keepLocally: true },
        { parent: this },
      );
      this.remoteImages.set(name, remote);
    }
    return remote.imageId;
  }
}

function envList(spec: ServiceSpec, index: number): pulumi.Output<string[]> {
  // One machine is one zone.
  const resolve = (value: EnvValue): pulumi.Input<string> =>
    isReplicaSlot(value)
      ? `${value.replicaSlot.prefix}${index + 1}`
      : isReplicaZone(value)
        ? value.replicaZone.singleZone
        : value;
  const entries: [string, pulumi.Input<string>][] = [
    ...Object.entries(spec.env ?? {}).map(([k, v]): [string, pulumi.Input<string>] => [k, resolve(v)]),
    ...secretsOf(spec, index)
      .filter((s) => s.fileEnv !== undefined)
      .map((s): [string, pulumi.Input<string>] => [s.fileEnv as string, secretPath(s)]),
  ];
  return pulumi.all(entries.map(([k, v]) => pulumi.interpolate`${k}=${v}`));
}

/** How long `pulumi up` waits for a replica to turn healthy before failing. */
function waitSeconds(h: HealthCheckSpec): number {
  return secondsToHealthy(h) + 30;
}

/** Resolves to "0" when every replica of the job exited 0; fails the deployment otherwise. */
function succeeded(job: DeployedService): pulumi.Output<string> {
  const codes = job.resources
    .filter((r): r is docker.Container => r instanceof docker.Container)
    .map((c) => c.exitCode);
  return pulumi.all(codes).apply((all) => assertJobSucceeded(job.spec.name, all));
}

/** Throws, naming the container to look at, unless every replica of the job exited 0. */
export function assertJobSucceeded(job: string, exitCodes: readonly (number | undefined)[]): '0' {
  exitCodes.forEach((code, i) => {
    if (code !== 0) throw new Error(`job ${job}-${i} exited with code ${code}; see: docker logs ${job}-${i}`);
  });
  return '0';
}
