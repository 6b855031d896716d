// The AWS stack's own keys (`smartmeter:*`), validated like the rest of the configuration
// (components/config.ts): a bad value throws a ConfigError that names the key and what is allowed.
// Where AWS itself is reached (region, profile, credentials, tags) is the standard `aws:*` keys' job
// (./provider.ts), not these.
import { INSTANCE_TYPES } from '../../../planner/aws-prices';
import {
  checkCassandraHeapFits,
  ConfigError,
  ConfigReader,
  ConfigSource,
  NAMESPACE,
  pulumiConfigSource,
  type PublishedPorts,
  type StackConfig,
} from '../../config';
import { jetStreamFileStoreBytes } from '../../formats/jetstream-limits';

export interface AwsConfig {
  /** The only source admitted from outside the cluster (SSH, Grafana): required, never the world. */
  readonly allowedCidr: string;
  readonly sshPublicKey: string;
  /** Private key the docker provider's `ssh` uses; unset: the SSH agent or ~/.ssh defaults. */
  readonly sshPrivateKeyPath?: string;
  readonly sshUser: string;
  readonly managers: 1 | 3;
  readonly workers: number;
  readonly managerInstanceType: string;
  readonly workerInstanceType: string;
  readonly rootVolumeGiB: number;
  readonly vpcCidr: string;
  /** Zones the subnets, and so the workers (slot s in zone s mod zones), are spread over. */
  readonly availabilityZones: number;
  /** Accept a layout in which one zone holds a NATS or Cassandra quorum (./zones.ts); warned, not refused. */
  readonly allowZoneQuorumLoss: boolean;
}

export const AWS_DEFAULTS = {
  sshUser: 'ec2-user',
  managers: 1,
  workers: 3,
  managerInstanceType: 't3.medium',
  workerInstanceType: 't3.large',
  rootVolumeGiB: 30,
  vpcCidr: '10.42.0.0/16',
  // One NATS and one Cassandra member per zone with the default 3 workers: a zone's loss leaves 2 of 3.
  availabilityZones: 3,
  allowZoneQuorumLoss: false,
} as const;

/** Root-volume GiB a node needs besides the data: the OS, Docker's images and logs. */
export const AWS_SYSTEM_DISK_GIB = 20;

/** The largest cluster the stack accepts (the capacity planner plans within it). */
export const AWS_LIMITS = { workers: 50, rootVolumeGiB: 1024, availabilityZones: 6 } as const;

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const SSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/;
const IPV4_CIDR =
  /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(3[0-2]|[12]?\d)$/;
const IPV6_CIDR = /^[0-9a-fA-F:]+\/\d{1,3}$/;

/**
 * An IPv4 CIDR that is not the whole internet. IPv6 ranges (::/0 included) are refused too: the VPC
 * is IPv4-only, so an IPv6 rule would admit no one.
 */
export function checkAllowedCidr(value: string | undefined): string {
  const key = `${NAMESPACE}:allowedCidr`;
  const allowed = 'an IPv4 CIDR of the addresses allowed to reach SSH and Grafana, such as 203.0.113.7/32';
  if (value === undefined || value.trim() === '') throw new ConfigError(`${key} is required: ${allowed}`);
  const cidr = value.trim();
  if (IPV6_CIDR.test(cidr))
    throw new ConfigError(`${key} must be ${allowed} (the VPC is IPv4-only), got ${JSON.stringify(cidr)}`);
  if (!IPV4_CIDR.test(cidr)) throw new ConfigError(`${key} must be ${allowed}, got ${JSON.stringify(cidr)}`);
  if (cidr.endsWith('/0'))
    throw new ConfigError(`${key} must not admit the whole internet (${cidr}): ${allowed}`);
  return cidr;
}

export function loadAwsConfig(source: ConfigSource = pulumiConfigSource()): AwsConfig {
  const retired = source('region');
  if (retired !== undefined) {
    throw new ConfigError(
      `${NAMESPACE}:region is no longer read: the region is the AWS provider's own aws:region key, as in ` +
        `every Pulumi AWS program. Move it: pulumi config rm ${NAMESPACE}:region && ` +
        `pulumi config set aws:region ${retired.trim() || '<region>'}`,
    );
  }
  const read = new ConfigReader(source);
  const vpcCidr = read.matching('vpcCidr', IPV4_CIDR, 'an IPv4 CIDR of /16 to /24', AWS_DEFAULTS.vpcCidr);
  const vpcPrefix = Number(vpcCidr.split('/')[1]);
  if (vpcPrefix < 16 || vpcPrefix > 24) read.fail('vpcCidr', 'an IPv4 CIDR of /16 to /24', vpcCidr);
  const sshPrivateKeyPath = source('sshPrivateKeyPath')?.trim();
  return {
    allowedCidr: checkAllowedCidr(source('allowedCidr')),
    sshPublicKey: read.matching(
      'sshPublicKey',
      SSH_PUBLIC_KEY,
      'an OpenSSH public key line (ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp*)',
    ),
    sshPrivateKeyPath: sshPrivateKeyPath ? sshPrivateKeyPath : undefined,
    sshUser: read.matching('sshUser', /^[a-z_][a-z0-9_-]*$/, 'a Unix user name', AWS_DEFAULTS.sshUser),
    managers: read.oneOf('managers', ['1', '3'], String(AWS_DEFAULTS.managers) as '1') === '3' ? 3 : 1,
    workers: read.integer('workers', AWS_DEFAULTS.workers, { min: 1, max: AWS_LIMITS.workers }),
    managerInstanceType: read.matching(
      'managerInstanceType',
      INSTANCE_TYPE,
      'an EC2 instance type such as t3.medium',
      AWS_DEFAULTS.managerInstanceType,
    ),
    workerInstanceType: read.matching(
      'workerInstanceType',
      INSTANCE_TYPE,
      'an EC2 instance type such as t3.large',
      AWS_DEFAULTS.workerInstanceType,
    ),
    rootVolumeGiB: read.integer('rootVolumeGiB', AWS_DEFAULTS.rootVolumeGiB, {
      min: 8,
      max: AWS_LIMITS.rootVolumeGiB,
    }),
    vpcCidr,
    availabilityZones: read.integer('availabilityZones', AWS_DEFAULTS.availabilityZones, {
      min: 2,
      max: AWS_LIMITS.availabilityZones,
    }),
    allowZoneQuorumLoss: read.boolean('allowZoneQuorumLoss', AWS_DEFAULTS.allowZoneQuorumLoss),
  };
}

/** Ports every node serves itself (SSH; Swarm's management and gossip): Swarm cannot publish on them. */
export const NODE_PORTS: Readonly<Record<number, string>> = { 22: 'SSH', 2377: 'Swarm', 7946: 'Swarm' };

/**
 * The aws stack publishes over TLS only (Grafana, Prometheus). NATS, its monitoring and Cassandra are
 * not served over TLS here, so their ports stay inside the swarm. Published ports are on every node
 * (the routing mesh), so none may be a port the nodes serve themselves.
 */
export function checkPublishedPorts(ports: PublishedPorts): void {
  for (const name of ['grafana', 'prometheus'] as const) {
    const used = NODE_PORTS[ports[name]];
    if (used) {
      throw new ConfigError(
        `${NAMESPACE}:${name}Port must not be ${ports[name]}, which every node serves ${used} on ` +
          `(the nodes keep ${Object.keys(NODE_PORTS).join(', ')}); any other port from 1 to 65535, or 0`,
      );
    }
  }
  for (const name of ['nats', 'natsMonitoring', 'cassandra'] as const) {
    if (ports[name] !== 0) {
      throw new ConfigError(
        `${NAMESPACE}:${name}Port must be 0 on the aws stack, got ${ports[name]}: the stack publishes only ` +
          'what it serves over TLS (Grafana, Prometheus); reach the others from the manager (ssh, then docker exec)',
      );
    }
  }
}

/**
 * What the stack's settings take from each worker: member k of NATS and of Cassandra runs on worker
 * k mod workers. The JetStream store of its NATS members must fit the root volume beside the system, and
 * the heaps of its Cassandra members its memory (for the instance types whose memory the planner knows,
 * planner/aws-prices.ts; others are not checked).
 */
export function checkAwsResources(config: StackConfig, aws: AwsConfig): void {
  const perWorker = (members: number) => Math.ceil(members / aws.workers);
  const tiers = config.tiers;
  if (tiers.has('messaging')) {
    const store = jetStreamFileStoreBytes(config.retention.rawStreamMaxBytes) * perWorker(config.natsNodes);
    const room = (aws.rootVolumeGiB - AWS_SYSTEM_DISK_GIB) * 1024 ** 3;
    if (store > room) {
      throw new ConfigError(
        `${NAMESPACE}:rawStreamMaxBytes must leave room on a worker's root volume: its JetStream store ` +
          `(the raw stream's budget + 0.5 GiB for the other streams${perWorker(config.natsNodes) > 1 ? `, × ${perWorker(config.natsNodes)} NATS members` : ''}) ` +
          `must fit ${NAMESPACE}:rootVolumeGiB (${aws.rootVolumeGiB}) less ${AWS_SYSTEM_DISK_GIB} GiB for the system; ` +
          `got ${config.retention.rawStreamMaxBytes} bytes: lower it or raise rootVolumeGiB`,
      );
    }
  }
  const worker = INSTANCE_TYPES.find((t) => t.name === aws.workerInstanceType);
  if (tiers.has('storage') && worker) {
    checkCassandraHeapFits(config, perWorker(config.cassandraNodes), {
      name: `a ${worker.name} worker`,
      memoryBytes: worker.memoryGiB * 1024 ** 3,
    });
  }
}
