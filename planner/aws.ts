// The `aws` stack's machines for a Sizing: managers and workers with their instance types, the root volume
// that holds a Cassandra member's data and the raw stream, the availability zones they are spread over,
// and what it costs at the assumed prices (./aws-prices.ts).
import { TIERS } from '../components/config';
import { jetStreamFileStoreBytes } from '../components/formats/jetstream-limits';
import {
  AWS_DEFAULTS,
  AWS_LIMITS,
  AWS_SYSTEM_DISK_GIB,
  type AwsConfig,
} from '../components/platforms/aws/config';
import {
  cassandraReplicasInOneZone,
  membersPerZone,
  survivesZoneLoss,
} from '../components/platforms/aws/zones';
import { INSTANCE_TYPES, InstanceType, instanceType, PRICES } from './aws-prices';
import { CapacityError, DiskBudget, Figure, fmt, gib, Sizing, UTILISATION } from './sizing';

/** Root-volume GiB a node needs besides the data: the OS, Docker's images and logs. */
export const BASE_DISK_GIB = AWS_SYSTEM_DISK_GIB;

/** The raw stream's budget (`rawStreamMaxBytes`) for what it must hold: whole GiB, at least 1. */
export function rawStreamBudgetBytes(jetstreamBytes: number): number {
  return Math.max(1, Math.ceil(jetstreamBytes / 1024 ** 3)) * 1024 ** 3;
}

/** GiB the NATS member of a worker takes: the server's file store for that budget (max_file_store). */
const jetStreamDiskGiB = (jetstreamBytes: number) =>
  gib(jetStreamFileStoreBytes(rawStreamBudgetBytes(jetstreamBytes)));
/** Workers beyond the default cluster's 3 get 3 managers, so that losing one keeps the swarm's control. */
const SINGLE_MANAGER_UP_TO = AWS_DEFAULTS.workers;

export interface AwsPlan {
  readonly managers: Figure;
  readonly managerType: InstanceType;
  readonly workers: Figure;
  readonly workerType: InstanceType;
  readonly rootVolumeGiB: Figure;
  readonly availabilityZones: Figure;
  readonly perHour: Figure;
  readonly perMonth: Figure;
}

/** What a Cassandra node may hold on the largest root volume the stack accepts. */
export function awsDiskBudget(): DiskBudget {
  return {
    cassandraBytesPerNode: (jetstreamBytes) =>
      (AWS_LIMITS.rootVolumeGiB - BASE_DISK_GIB - jetStreamDiskGiB(jetstreamBytes)) * 1024 ** 3,
    describe: `≤ ${AWS_LIMITS.rootVolumeGiB} GiB root volumes, less ${BASE_DISK_GIB} GiB system and the raw stream`,
  };
}

/** What the zones are planned from: the replication factor, and the stack's own zone keys. */
export interface ZoneSettings extends Partial<Pick<AwsConfig, 'availabilityZones' | 'allowZoneQuorumLoss'>> {
  readonly replication: number;
}

/**
 * The fewest zones, from the stack's, in which losing one leaves NATS and every Cassandra partition a
 * quorum (the stack refuses the others: components/platforms/aws/zones.ts). A stack that accepts losing a
 * quorum with a zone (`allowZoneQuorumLoss`) keeps its zones.
 */
export function planZones(sizing: Sizing, workers: number, settings: ZoneSettings): Figure {
  const from = settings.availabilityZones ?? AWS_DEFAULTS.availabilityZones;
  if (settings.allowZoneQuorumLoss) {
    return { value: from, basis: `the stack's, kept: allowZoneQuorumLoss accepts a zone holding a quorum` };
  }
  const nats = sizing.natsNodes.value;
  const nodes = sizing.cassandraNodes.value;
  const rf = settings.replication;
  const quorums = {
    tiers: new Set(TIERS),
    natsNodes: nats,
    cassandraNodes: nodes,
    cassandraReplicationFactor: rf,
  };
  for (let zones = from; zones <= AWS_LIMITS.availabilityZones; zones++) {
    const layout = { workers, availabilityZones: zones };
    if (survivesZoneLoss(quorums, layout)) {
      return {
        value: zones,
        basis:
          `the fewest from ${from} in which a zone's loss keeps the quorums: a zone holds at most ` +
          `${Math.max(...membersPerZone(nats, layout))} of the ${nats} NATS members and ` +
          `${cassandraReplicasInOneZone(nodes, rf, layout)} of a partition's ${rf} replicas`,
      };
    }
  }
  throw new CapacityError(
    `no layout of ${from} to ${AWS_LIMITS.availabilityZones} zones (smartmeter:availabilityZones) keeps the ` +
      `quorums of ${nats} NATS members and of ${rf} replicas on ${nodes} Cassandra nodes through a zone's loss`,
  );
}

export function planAws(
  sizing: Sizing,
  workerTypeName: string = AWS_DEFAULTS.workerInstanceType,
  managerTypeName: string = AWS_DEFAULTS.managerInstanceType,
  // The stack's default replication factor when none is given, as components/config.ts reads it.
  zones: ZoneSettings = { replication: Math.min(sizing.cassandraNodes.value, 3) },
): AwsPlan {
  const workerType = instanceType(workerTypeName);
  const managerType = instanceType(managerTypeName);
  const members = Math.max(sizing.natsNodes.value, sizing.cassandraNodes.value);
  const forCpu = Math.ceil(sizing.vcpus.value / (workerType.vcpus * UTILISATION));
  const workers = Math.max(members, forCpu);
  if (workers > AWS_LIMITS.workers) {
    throw new CapacityError(
      `the fleet needs ${workers} ${workerType.name} workers for ${fmt(sizing.vcpus.value, 1)} vCPUs; the ` +
        `stack allows at most ${AWS_LIMITS.workers} (smartmeter:workers): choose a larger --worker-type ` +
        `(${INSTANCE_TYPES.map((t) => t.name).join(', ')})`,
    );
  }
  // Member k of NATS and of Cassandra share worker k: size every root volume for both.
  const neededGiB =
    BASE_DISK_GIB +
    gib(sizing.cassandraDiskBytesPerNode.value) +
    jetStreamDiskGiB(sizing.jetstreamBytes.value);
  const rootVolumeGiB = Math.max(AWS_DEFAULTS.rootVolumeGiB, Math.ceil(neededGiB));
  if (rootVolumeGiB > AWS_LIMITS.rootVolumeGiB) {
    throw new CapacityError(
      `a worker needs ${fmt(neededGiB)} GiB of disk (the raw stream holds ${fmt(gib(sizing.jetstreamBytes.value))} ` +
        `GiB); the stack allows root volumes of at most ${AWS_LIMITS.rootVolumeGiB} GiB (smartmeter:rootVolumeGiB)`,
    );
  }
  const availabilityZones = planZones(sizing, workers, zones);
  const managers = workers > SINGLE_MANAGER_UP_TO ? 3 : 1;
  const nodes = managers + workers;
  const instances = managers * managerType.perHour + workers * workerType.perHour;
  const disks = (nodes * rootVolumeGiB * PRICES.gp3PerGbMonth) / PRICES.hoursPerMonth;
  const ips = nodes * PRICES.publicIpv4PerHour;
  const perHour = instances + disks + ips;
  const costBasis =
    `${managers} × ${managerType.name} $${managerType.perHour}/h + ${workers} × ${workerType.name} ` +
    `$${workerType.perHour}/h = $${fmt(instances, 3)}; ${nodes} × ${rootVolumeGiB} GB gp3 at ` +
    `$${PRICES.gp3PerGbMonth}/GB-month = $${fmt(disks, 3)}; ${nodes} public IPv4 × $${PRICES.publicIpv4PerHour} ` +
    `= $${fmt(ips, 3)} (${PRICES.region} on-demand, assumed)`;
  return {
    managers: {
      value: managers,
      basis:
        managers === 1
          ? `${workers} workers ≤ ${SINGLE_MANAGER_UP_TO}: one manager, as the default cluster`
          : `${workers} workers > ${SINGLE_MANAGER_UP_TO}: three, so that the swarm survives losing one`,
    },
    managerType,
    workers: {
      value: workers,
      basis:
        `the most of: one per NATS/Cassandra member (${members}); ${forCpu} for ` +
        `${fmt(sizing.vcpus.value, 1)} vCPUs at ${workerType.vcpus} vCPUs × ${UTILISATION * 100} % per ${workerType.name}`,
    },
    workerType,
    rootVolumeGiB: {
      value: rootVolumeGiB,
      basis:
        `${BASE_DISK_GIB} GiB system + ${fmt(gib(sizing.cassandraDiskBytesPerNode.value), 1)} GiB raw_data + ` +
        `${fmt(jetStreamDiskGiB(sizing.jetstreamBytes.value), 1)} GiB JetStream store (member k of NATS and Cassandra share ` +
        `worker k), at least the default ${AWS_DEFAULTS.rootVolumeGiB}`,
    },
    availabilityZones,
    perHour: { value: perHour, basis: costBasis },
    perMonth: { value: perHour * PRICES.hoursPerMonth, basis: `$/h × ${PRICES.hoursPerMonth} h` },
  };
}
