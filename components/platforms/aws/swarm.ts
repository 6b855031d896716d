// Turns the tiers' service declarations into Docker Swarm services, through a docker provider that
// reaches a manager. Every service joins one encrypted overlay network; secrets become docker.Secrets
// and files docker.ServiceConfigs, both mounted as files; nothing secret goes in an environment.
//
// Stateful declarations (they declare volumes) become one single-replica service per member,
// `<name>-<index>`, pinned to one worker by its `smartmeter.slot` engine label (set by the node's user
// data), so each member finds its volume again after a restart or an update. Members of a clustered
// service (NATS routes, Cassandra gossip) address each other by those names, resolved straight to the
// task (DNS round robin, no virtual IP); all members also answer to `<name>`. Stateless declarations
// become one replicated service; Prometheus finds their tasks at `tasks.<name>`.
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';

import { dockerHealthcheck, secondsToHealthy } from '../docker-health';

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
  privateHost,
  PrivateNetworkSpec,
  replicasOf,
  ScrapeConfig,
  secretPath,
  secretsOf,
  ServiceSpec,
} from '../../spec';
import { slotOfMember } from './zones';

export interface SwarmServicesArgs {
  /** A docker provider connected to a Swarm manager. */
  readonly provider: docker.Provider;
  /** The overlay network every service joins. */
  readonly networkId: pulumi.Input<string>;
  /** Number of workers: members of stateful services are spread over slots 0..workers-1. */
  readonly workers: number;
  /** The availability zone of the worker a stateful service's member is pinned to. */
  readonly memberZone: (member: number) => pulumi.Input<string>;
  /** The services image as pushed (`repo@sha256:…`), and the credentials to pull it. */
  readonly servicesImage: pulumi.Input<string>;
  readonly registryAuth?: pulumi.Input<docker.types.input.ServiceAuth>;
  /** Called once per port published to the user, so the platform can open it to the allowed CIDR. */
  readonly onPublish: (service: string, port: number) => void;
  readonly publicHost: pulumi.Output<string>;
}

/** A declaration with volumes: each member is its own service, pinned to the node holding its data. */
export function isPinned(spec: ServiceSpec): boolean {
  return (spec.volumes ?? []).length > 0;
}

/** Constraints that place a task on workers only, and a pinned member on its own worker slot. */
export function placement(member: number | undefined, workers: number): string[] {
  const constraints = ['node.role == worker'];
  if (member !== undefined)
    constraints.push(`engine.labels.smartmeter.slot == ${slotOfMember(member, workers)}`);
  return constraints;
}

const base64 = (text: pulumi.Input<string>) =>
  pulumi.output(text).apply((t) => Buffer.from(t, 'utf8').toString('base64'));

export class SwarmServices implements Platform {
  public readonly publicHost: pulumi.Output<string>;
  private readonly deployed = new Set<string>();
  /** Private networks (ServiceSpec.networks) by name, created with the first service that joins one. */
  private readonly privateNetworks = new Map<string, { spec: PrivateNetworkSpec; network: docker.Network }>();

  constructor(private readonly args: SwarmServicesArgs) {
    this.publicHost = args.publicHost;
  }

  deploy(spec: ServiceSpec, opts: DeployOptions): DeployedService {
    assertValidSpec(spec);
    if (this.deployed.has(spec.name)) throw new Error(`service "${spec.name}" is declared twice`);
    this.deployed.add(spec.name);
    const resOpts = (extra: pulumi.CustomResourceOptions = {}) => ({
      parent: opts.parent,
      provider: this.args.provider,
      ...extra,
    });

    // One Secret / ServiceConfig per declaration, shared by its members. Unnamed: the provider picks a
    // fresh name, so a changed value is created before the old one is removed (Swarm cannot update them).
    const secrets = (spec.secrets ?? []).map((s) => {
      const secret = new docker.Secret(
        `${spec.name}-${s.name}`,
        { data: pulumi.secret(base64(s.value)) },
        resOpts(),
      );
      return {
        secretId: secret.id,
        secretName: secret.name,
        fileName: secretPath(s),
        fileMode: 0o444,
        fileUid: '0',
        fileGid: '0',
      };
    });
    const configs = (spec.files ?? []).map((f, i) => {
      const config = new docker.ServiceConfig(
        `${spec.name}-file-${i}`,
        { data: base64(f.content) },
        resOpts(),
      );
      return {
        configId: config.id,
        configName: config.name,
        fileName: f.path,
        fileMode: 0o444,
        fileUid: '0',
        fileGid: '0',
      };
    });

    const networks = (spec.networks ?? []).map((n) => this.privateNetwork(n, opts));
    const dependsOn = [...(spec.dependsOn ?? []).flatMap((d) => d.resources), ...networks];
    const replicas = replicasOf(spec);
    if (!isPinned(spec)) {
      const service = this.service(
        spec,
        undefined,
        { secrets, configs },
        resOpts({ dependsOn, deleteBeforeReplace: true }),
      );
      return { spec, resources: [service] };
    }
    // Members start one after another: a Cassandra node must not bootstrap while another one does.
    const members: docker.Service[] = [];
    for (let k = 0; k < replicas; k++) {
      const after = [...dependsOn, ...members.slice(-1)];
      // A member gets the shared secrets and its own (a member's key), never another member's.
      const own = secrets.filter((_, i) => [undefined, k].includes(spec.secrets?.[i]?.member));
      members.push(
        this.service(
          spec,
          k,
          { secrets: own, configs },
          resOpts({ dependsOn: after, deleteBeforeReplace: true }),
        ),
      );
    }
    return { spec, resources: members };
  }

  /**
   * An encrypted, internal overlay with a fixed subnet that only its services join; created once. Its
   * members are reached there as `privateHost(network, member)` (an alias on that network only, so the
   * name never resolves to the member's address on the stack's network).
   */
  private privateNetwork(spec: PrivateNetworkSpec, opts: DeployOptions): docker.Network {
    const known = this.privateNetworks.get(spec.name);
    if (known) {
      if (known.spec.subnet !== spec.subnet)
        throw new Error(
          `network ${spec.name} is declared with subnets ${known.spec.subnet} and ${spec.subnet}`,
        );
      return known.network;
    }
    const network = new docker.Network(
      `smartmeter-${spec.name}`,
      {
        name: `smartmeter-${spec.name}`,
        driver: 'overlay',
        internal: true,
        attachable: false,
        options: { encrypted: 'true' },
        ipamConfigs: [{ subnet: spec.subnet }],
      },
      { parent: opts.parent, provider: this.args.provider },
    );
    this.privateNetworks.set(spec.name, { spec, network });
    return network;
  }

  /** Members of stateful services are services of their own, reached at `<service>-<index>`. */
  replicaHost(service: string, index: number): string {
    return `${service}-${index}`;
  }

  scrapeConfigs(services: readonly DeployedService[]): ScrapeConfig[] {
    return services
      .filter((s) => s.spec.scrape && replicasOf(s.spec) > 0)
      .map(({ spec }) => ({
        job_name: spec.name,
        metrics_path: spec.scrape?.path ?? '/metrics',
        dns_sd_configs: [
          {
            names: isPinned(spec)
              ? Array.from({ length: replicasOf(spec) }, (_, k) => `tasks.${this.replicaHost(spec.name, k)}`)
              : [`tasks.${spec.name}`],
            type: 'A',
            port: spec.scrape?.port,
            refresh_interval: '30s',
          },
        ],
      }));
  }

  /** The swarm service of a whole declaration (member undefined) or of one pinned member. */
  private service(
    spec: ServiceSpec,
    member: number | undefined,
    files: {
      secrets: docker.types.input.ServiceTaskSpecContainerSpecSecret[];
      configs: docker.types.input.ServiceTaskSpecContainerSpecConfig[];
    },
    opts: pulumi.CustomResourceOptions,
  ): docker.Service {
    const name = member === undefined ? spec.name : this.replicaHost(spec.name, member);
    const job = spec.lifecycle === 'job';
    const pinned = member !== undefined;
    // Peers of a cluster must see each other's own addresses: no virtual IP in front of them.
    const peers = pinned && replicasOf(spec) > 1;
    const published = (spec.ports ?? []).filter((p) => (p.publish ?? 0) > 0 && (member ?? 0) === 0);
    // The cluster is on the internet (if only to allowedCidr): what it publishes is encrypted.
    const plain = published.find((p) => !p.tls);
    if (plain) throw new Error(`service "${spec.name}": port ${plain.name} is published without TLS`);
    for (const p of published) this.args.onPublish(spec.name, p.publish as number);
    const isServicesImage = spec.image.kind === 'services';

    return new docker.Service(
      name,
      {
        name,
        mode: { replicated: { replicas: pinned ? 1 : replicasOf(spec) } },
        taskSpec: {
          containerSpec: {
            image: isServicesImage ? this.args.servicesImage : (spec.image as { name: string }).name,
            hostname: pinned ? name : `${spec.name}-{{.Task.Slot}}`,
            commands: spec.entrypoint ? [...spec.entrypoint] : undefined,
            args: spec.args ? [...spec.args] : undefined,
            env: environment(spec, member, this.args.memberZone),
            secrets: files.secrets,
            configs: files.configs,
            mounts: [
              ...(spec.volumes ?? []).map((v) => ({
                type: 'volume',
                target: v.path,
                source: `smartmeter-${spec.name}-${v.name}-${member}`,
              })),
              ...hostMounts(spec),
            ],
            healthcheck: spec.healthCheck ? dockerHealthcheck(spec.healthCheck, 'service') : undefined,
            user: spec.user,
            stopGracePeriod: '30s',
          },
          networksAdvanceds: [
            { id: this.args.networkId, aliases: pinned ? [spec.name] : [] },
            ...(spec.networks ?? []).map((n) => ({
              id: (this.privateNetworks.get(n.name) as { network: docker.Network }).network.id,
              aliases: pinned ? [privateHost(n.name, name)] : [],
            })),
          ],
          placement: { constraints: placement(member, this.args.workers) },
          // Set in full: the provider otherwise reports perpetual diffs on defaulted fields (pulumi-docker#1285).
          restartPolicy: job
            ? { condition: 'on-failure', delay: '10s', maxAttempts: 30, window: '0s' }
            : { condition: 'any', delay: '5s', maxAttempts: 0, window: '0s' },
        },
        endpointSpec: {
          mode: peers ? 'dnsrr' : 'vip',
          // A virtual IP publishes through the routing mesh (every node); DNS round robin only on its node.
          ports: published.map((p) => ({
            name: p.name,
            targetPort: p.port,
            publishedPort: p.publish,
            protocol: 'tcp',
            publishMode: peers ? 'host' : 'ingress',
          })),
        },
        updateConfig: { parallelism: 1, order: 'stop-first', failureAction: 'pause', delay: '10s' },
        // Dependents are created once the service's tasks run (jobs finish instead of running).
        convergeConfig:
          !job && spec.healthCheck && replicasOf(spec) > 0
            ? { delay: '10s', timeout: `${convergeSeconds(spec.healthCheck)}s` }
            : undefined,
        auth: isServicesImage ? this.args.registryAuth : undefined,
        labels: [
          { label: 'smartmeter.service', value: spec.name },
          ...(pinned ? [{ label: 'smartmeter.member', value: String(member) }] : []),
        ],
      },
      opts,
    );
  }
}

/**
 * The declared environment, with replica slots and zones resolved and secret files pointed at; no secret
 * value. Only pinned members have a zone (assertValidSpec: a replica zone needs volumes).
 */
function environment(
  spec: ServiceSpec,
  member: number | undefined,
  memberZone: (member: number) => pulumi.Input<string>,
): Record<string, pulumi.Input<string>> {
  const resolve = (value: EnvValue): pulumi.Input<string> => {
    if (isReplicaSlot(value))
      return `${value.replicaSlot.prefix}${member === undefined ? '{{.Task.Slot}}' : member + 1}`;
    if (isReplicaZone(value)) {
      if (member === undefined) throw new Error(`service "${spec.name}": a replica zone needs volumes`);
      return memberZone(member);
    }
    return value;
  };
  const env: Record<string, pulumi.Input<string>> = {};
  for (const [k, v] of Object.entries(spec.env ?? {})) env[k] = resolve(v);
  for (const s of member === undefined ? (spec.secrets ?? []) : secretsOf(spec, member))
    if (s.fileEnv) env[s.fileEnv] = secretPath(s);
  return env;
}

/** Time for the task to turn healthy, plus a pull of its image onto a fresh node. */
function convergeSeconds(h: HealthCheckSpec): number {
  return secondsToHealthy(h) + 300;
}
