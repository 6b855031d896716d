// The platform-neutral declaration of a service, and the Platform that turns declarations into resources.
//
// Tiers (components/tiers/*) declare each service ONCE with a ServiceSpec and hand it to
// `platform.deploy`; they never know which platform they run on. A platform (components/platforms/*)
// decides how a declaration runs: one docker.Container per replica on a bridge network locally, a
// docker.Service with docker.Secrets/ServiceConfigs on an overlay network on Swarm.
import * as pulumi from '@pulumi/pulumi';

/** Where a service's image comes from. */
export type ImageSource =
  /** The one image built from services/ (ENTRYPOINT `node dist/main.js`; the role is the first arg). */
  | { readonly kind: 'services' }
  /** A third-party image, by its (validated, overridable) name from the stack config. */
  | { readonly kind: 'external'; readonly name: string };

/**
 * An environment value the platform fills in per replica: `<prefix><slot>`, where slot is the replica's
 * 1-based number (local: index + 1; Swarm: `{{.Task.Slot}}`). Used for INJECT_SLOT and server names.
 */
export interface ReplicaSlot {
  readonly replicaSlot: { readonly prefix: string };
}
export function replicaSlot(prefix = ''): ReplicaSlot {
  return { replicaSlot: { prefix } };
}

/**
 * An environment value the platform fills in per member of a service with volumes (its members stay
 * where their data is): the failure zone the member runs in, such as its availability zone on aws, or
 * `singleZone` where the platform has one zone (local). Used for Cassandra's rack.
 */
export interface ReplicaZone {
  readonly replicaZone: { readonly singleZone: string };
}
export type EnvValue = pulumi.Input<string> | ReplicaSlot | ReplicaZone;

export function isReplicaSlot(value: EnvValue): value is ReplicaSlot {
  return typeof value === 'object' && value !== null && 'replicaSlot' in value;
}

export function isReplicaZone(value: EnvValue): value is ReplicaZone {
  return typeof value === 'object' && value !== null && 'replicaZone' in value;
}

/** A non-secret file placed in the container (prometheus.yml, grafana provisioning, scripts). */
export interface FileSpec {
  /** Absolute path in the container. */
  readonly path: string;
  readonly content: pulumi.Input<string>;
}

/**
 * A secret that reaches the container as a FILE, never as a plain environment variable.
 * Tiers pass generated values (random.RandomPassword.result, or text built from it: a NATS config).
 */
export interface SecretSpec {
  /** Unique within the service; letters, digits, `_` and `-`. */
  readonly name: string;
  readonly value: pulumi.Input<string>;
  /** Absolute path in the container; default `/run/secrets/<name>`. */
  readonly path?: string;
  /** Environment variable that receives the file's path (the image's `X_FILE` convention), if any. */
  readonly fileEnv?: string;
  /**
   * Only member `member` (0-based) of a service with several replicas gets it (a member's own key);
   * unset: every replica does.
   */
  readonly member?: number;
}

/** A port the service listens on inside the network. */
export interface PortSpec {
  readonly name: string;
  readonly port: number;
  /**
   * Host port to publish it on (locally bound to `smartmeter:bindAddress`, 127.0.0.1 by default).
   * Undefined or 0: reachable only inside the network.
   */
  readonly publish?: number;
  /** The service serves TLS on this port. A platform with `tls` publishes no other port. */
  readonly tls?: boolean;
}

/** Persistent data. Each replica has its own copy; a platform keeps a replica on its volume. */
export interface VolumeSpec {
  readonly name: string;
  /** Mount path in the container. */
  readonly path: string;
}

/** A health check run inside the container (exec form, no shell unless the command starts one). */
export interface HealthCheckSpec {
  readonly command: readonly string[];
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly retries: number;
  /** Grace period after start during which failures do not count. */
  readonly startPeriodSeconds: number;
}

/** What Prometheus scrapes on every replica of this service. */
export interface ScrapeSpec {
  readonly port: number;
  /** Default `/metrics`. */
  readonly path?: string;
}

export interface ServiceSpec {
  /**
   * The service's DNS name inside the network (every platform makes it resolve to the service's
   * replicas). Locally the containers are `<name>-<index>`. Lower-case letters, digits and `-`.
   */
  readonly name: string;
  readonly image: ImageSource;
  /** Replaces the image's entrypoint. */
  readonly entrypoint?: readonly string[];
  /** Arguments (the image's CMD); for the services image the first one is the role. */
  readonly args?: readonly string[];
  /** Non-secret environment. Secrets go in `secrets`. */
  readonly env?: Readonly<Record<string, EnvValue>>;
  readonly files?: readonly FileSpec[];
  readonly secrets?: readonly SecretSpec[];
  readonly ports?: readonly PortSpec[];
  /** Default 1; 0 declares the service but runs nothing. */
  readonly replicas?: number;
  readonly volumes?: readonly VolumeSpec[];
  /**
   * Files of the host (locally) or of every node it may run on (Swarm) mounted read-only, such as a
   * recorded data set the user provides. Unlike volumes they hold no state: the service stays replicated.
   */
  readonly hostFiles?: readonly HostFileSpec[];
  /**
   * Directories of the host (locally) or of every node it may run on (Swarm) mounted read-write, which the
   * service appends records to that outlive its containers (the injectors' delivery ledger). They must
   * exist; the service stays replicated.
   */
  readonly hostDirs?: readonly HostFileSpec[];
  readonly healthCheck?: HealthCheckSpec;
  /**
   * Services that must be up (healthy, if they have a health check) or, for jobs, finished
   * successfully before this one starts.
   */
  readonly dependsOn?: readonly DeployedService[];
  /** `service` (default): kept running, restarted on failure. `job`: runs once to completion (migrate). */
  readonly lifecycle?: 'service' | 'job';
  /** Set when Prometheus should scrape the service. */
  readonly scrape?: ScrapeSpec;
  /** Run as this user (`uid[:gid]` or a name known to the image). */
  readonly user?: string;
  /**
   * Private networks the service joins besides the stack's network: only the services that declare the
   * same network reach each other there, each member as `privateHost(network, replicaHost)`. Used to keep
   * NATS's monitoring port (which nats-server cannot authenticate) away from everything but its exporter.
   * Only platforms with `tls` (Swarm) support them.
   */
  readonly networks?: readonly PrivateNetworkSpec[];
}

export interface PrivateNetworkSpec {
  /** Lower-case letters and digits. */
  readonly name: string;
  /** Its fixed IPv4 subnet (CIDR), so a member can find its own address on it at start. */
  readonly subnet: string;
}

/** The name by which a member (`host`, a replicaHost) is reached on a private network. */
export function privateHost(network: string, host: string): string {
  return `${network}-${host}`;
}

export interface HostFileSpec {
  /** Absolute path on the host or node. */
  readonly hostPath: string;
  /** Absolute path in the container. */
  readonly path: string;
}

/**
 * Bind mounts of `hostFiles` (read-only) and `hostDirs` (read-write), in the docker API's terms (containers
 * and swarm services alike).
 */
export function hostMounts(spec: ServiceSpec) {
  const bind = (f: HostFileSpec, readOnly: boolean) => ({
    type: 'bind',
    source: f.hostPath,
    target: f.path,
    readOnly,
  });
  return [
    ...(spec.hostFiles ?? []).map((f) => bind(f, true)),
    ...(spec.hostDirs ?? []).map((f) => bind(f, false)),
  ];
}

/** A declaration after a platform deployed it. */
export interface DeployedService {
  readonly spec: ServiceSpec;
  /** The resources that run it (containers, swarm services): what dependents wait for. */
  readonly resources: readonly pulumi.Resource[];
}

/** A Prometheus `scrape_configs` entry (serialised to YAML by the metrics tier). */
export type ScrapeConfig = Record<string, unknown>;

export interface DeployOptions {
  /** The tier component that owns the service's resources. */
  readonly parent: pulumi.Resource;
}

/** Turns declarations into resources. One per stack; chosen in components/platforms/index.ts. */
export interface Platform {
  /** Creates the resources that run `spec`, as children of `opts.parent`. */
  deploy(spec: ServiceSpec, opts: DeployOptions): DeployedService;
  /** The host name of replica `index` (0-based) of a service, from inside the network (peers, seeds). */
  replicaHost(service: string, index: number): string;
  /** Scrape configs reaching every replica of every given service that declares `scrape`. */
  scrapeConfigs(services: readonly DeployedService[]): ScrapeConfig[];
  /** The host at which published ports are reached from the user's machine. */
  readonly publicHost: pulumi.Output<string>;
  /**
   * Set when the platform publishes over TLS only (aws): services it publishes serve TLS with a
   * certificate from here. Unset (local: ports bound to 127.0.0.1): plain HTTP.
   */
  readonly tls?: PlatformTls;
}

/** A server's certificate (PEM, signed by the platform's CA) and its private key (PEM, secret). */
export interface ServerCertificate {
  readonly certificate: pulumi.Output<string>;
  readonly privateKey: pulumi.Output<string>;
}

export interface PlatformTls {
  /** The CA certificate (PEM, not secret) that clients trust: the user, and services calling each other. */
  readonly caCertificate: pulumi.Output<string>;
  /**
   * A certificate for `service`, valid for its names inside the network, loopback and the public host,
   * and for `names` besides (the members of a cluster). With `clientAuth` it is also a client certificate
   * (server_auth and client_auth uses), for members that authenticate to each other (NATS routes).
   */
  serverCertificate(
    service: string,
    options?: { readonly names?: readonly string[]; readonly clientAuth?: boolean },
  ): ServerCertificate;
  /**
   * A certificate for member `index` of a pinned service (one with volumes, e.g. Cassandra), valid for
   * that member's names inside the network and loopback, for both server and client use (mutual TLS
   * between peers). Not valid for the public host: members are reached inside the network only.
   */
  peerCertificate(service: string, index: number): ServerCertificate;
  /** A client certificate (client use only) named `client`, for mutual TLS to a service in the network. */
  clientCertificate(client: string): ServerCertificate;
}

/** The path at which a secret file appears in the container. */
export function secretPath(secret: SecretSpec): string {
  return secret.path ?? `/run/secrets/${secret.name}`;
}

/** The secrets replica `member` (0-based) gets: the shared ones and its own. */
export function secretsOf(spec: ServiceSpec, member: number): SecretSpec[] {
  return (spec.secrets ?? []).filter((s) => s.member === undefined || s.member === member);
}

/** Replica count of a declaration (default 1). */
export function replicasOf(spec: ServiceSpec): number {
  return spec.replicas ?? 1;
}

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,40}[a-z0-9]$/;
const SECRET_NAME = /^[A-Za-z0-9_-]+$/;

/** Checks a declaration's own consistency (platform-neutral); throws naming the service and field. */
export function assertValidSpec(spec: ServiceSpec): void {
  const fail = (what: string) => {
    throw new Error(`service "${spec.name}": ${what}`);
  };
  if (!SERVICE_NAME.test(spec.name))
    fail('name must be lower-case letters, digits and "-" (2 to 42 characters)');
  const replicas = replicasOf(spec);
  if (!Number.isInteger(replicas) || replicas < 0) fail(`replicas must be an integer >= 0, got ${replicas}`);
  const ports = (spec.ports ?? []).map((p) => p.port);
  if (new Set(ports).size !== ports.length) fail('ports must be distinct');
  for (const p of spec.ports ?? []) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) fail(`port ${p.name} must be 1..65535`);
    if (p.publish !== undefined && (!Number.isInteger(p.publish) || p.publish < 0 || p.publish > 65535)) {
      fail(`published port ${p.name} must be 0..65535`);
    }
  }
  for (const s of spec.secrets ?? []) {
    if (!SECRET_NAME.test(s.name)) fail(`secret name "${s.name}" must be letters, digits, "_" or "-"`);
  }
  for (const s of spec.secrets ?? []) {
    if (s.member === undefined) continue;
    // Only a service with volumes has members of its own (a Swarm service each): others share one secret.
    if (!(spec.volumes ?? []).length) fail(`secret "${s.name}": a member's own secret needs volumes`);
    if (!Number.isInteger(s.member) || s.member < 0 || s.member >= replicas)
      fail(`secret "${s.name}": member must be 0..${replicas - 1}`);
  }
  // Each replica sees the shared files and secrets and its own: those paths must be distinct.
  for (let member = 0; member < Math.max(replicas, 1); member++) {
    const paths = [...(spec.files ?? []).map((f) => f.path), ...secretsOf(spec, member).map(secretPath)];
    if (paths.some((p) => !p.startsWith('/'))) fail('file and secret paths must be absolute');
    if (new Set(paths).size !== paths.length) fail('file and secret paths must be distinct');
  }
  if (spec.lifecycle === 'job' && spec.scrape) fail('a job is not scraped');
  // A replica of a service without volumes may run anywhere: it has no zone of its own.
  const zoned = Object.entries(spec.env ?? {}).find(([, v]) => isReplicaZone(v));
  if (zoned && !(spec.volumes ?? []).length) fail(`env ${zoned[0]}: a replica zone needs volumes`);
  for (const n of spec.networks ?? []) {
    if (!/^[a-z0-9]{1,20}$/.test(n.name)) fail(`network "${n.name}" must be lower-case letters and digits`);
    if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(n.subnet)) fail(`network ${n.name}: subnet must be an IPv4 CIDR`);
  }
}
