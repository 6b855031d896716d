// The `aws` stack's machines for a Sizing: managers and workers with their instance types, the root volume
// that holds a Cassandra member's data and the raw stream, and what it costs at the assumed prices
// (./aws-prices.ts).
import { AWS_DEFAULTS, AWS_LIMITS } from '../components/platforms/aws/config';
import { INSTANCE_TYPES, InstanceType, instanceType, PRICES } from './aws-prices';
import { CapacityError, DiskBudget, Figure, fmt, gib, Sizing, UTILISATION } from './sizing';

/** Root-volume GiB a node needs besides the data: the OS, Docker's images and logs. */
export const BASE_DISK_GIB = 20;
/** Workers beyond the default cluster's 3 get 3 managers, so that losing one keeps the swarm's control. */
const SINGLE_MANAGER_UP_TO = AWS_DEFAULTS.workers;

export interface AwsPlan {
  readonly managers: Figure;
  readonly managerType: InstanceType;
  readonly workers: Figure;
  readonly workerType: InstanceType;
  readonly rootVolumeGiB: Figure;
  readonly perHour: Figure;
  readonly perMonth: Figure;
}

/** What a Cassandra node may hold on the largest root volume the stack accepts. */
export function awsDiskBudget(): DiskBudget {
  return {
    cassandraBytesPerNode: (jetstreamBytes) =>
      (AWS_LIMITS.rootVolumeGiB - BASE_DISK_GIB - gib(jetstreamBytes)) * 1024 ** 3,
    describe: `≤ ${AWS_LIMITS.rootVolumeGiB} GiB root volumes, less ${BASE_DISK_GIB} GiB system and the raw stream`,
  };
}

export function planAws(
  sizing: Sizing,
  workerTypeName: string = AWS_DEFAULTS.workerInstanceType,
  managerTypeName: string = AWS_DEFAULTS.managerInstanceType,
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
    BASE_DISK_GIB + gib(sizing.cassandraDiskBytesPerNode.value) + gib(sizing.jetstreamBytes.value);
  const rootVolumeGiB = Math.max(AWS_DEFAULTS.rootVolumeGiB, Math.ceil(neededGiB));
  if (rootVolumeGiB > AWS_LIMITS.rootVolumeGiB) {
    throw new CapacityError(
      `a worker needs ${fmt(neededGiB)} GiB of disk (the raw stream holds ${fmt(gib(sizing.jetstreamBytes.value))} ` +
        `GiB); the stack allows root volumes of at most ${AWS_LIMITS.rootVolumeGiB} GiB (smartmeter:rootVolumeGiB)`,
    );
  }
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
        `${fmt(gib(sizing.jetstreamBytes.value), 1)} GiB raw stream (member k of NATS and Cassandra share ` +
        `worker k), at least the default ${AWS_DEFAULTS.rootVolumeGiB}`,
    },
    perHour: { value: perHour, basis: costBasis },
    perMonth: { value: perHour * PRICES.hoursPerMonth, basis: `$/h × ${PRICES.hoursPerMonth} h` },
  };
}
