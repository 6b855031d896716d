// Which availability zone each stateful member lands in, and the rule that no single zone may take a
// quorum. Worker slot s sits in zone s mod availabilityZones (./cluster.ts); member k of NATS and of
// Cassandra is pinned to worker slot k mod workers (./swarm.ts). A quorum group of n members keeps
// working while it has floor(n/2)+1 of them, so it can lose floor((n-1)/2); a zone holding more than
// that takes the quorum with it when it goes down.
import { ConfigError, NAMESPACE, type StackConfig } from '../../config';
import { AWS_LIMITS, type AwsConfig } from './config';

export type ZoneLayout = Pick<AwsConfig, 'workers' | 'availabilityZones'>;

/** The zone (subnet index) of a node's slot. */
export function zoneOfSlot(slot: number, zones: number): number {
  return slot % zones;
}

/** The worker slot a stateful service's member is pinned to. */
export function slotOfMember(member: number, workers: number): number {
  return member % workers;
}

export function zoneOfMember(member: number, layout: ZoneLayout): number {
  return zoneOfSlot(slotOfMember(member, layout.workers), layout.availabilityZones);
}

/** How many of a service's `members` run in each zone (index: zone). */
export function membersPerZone(members: number, layout: ZoneLayout): number[] {
  const counts = new Array<number>(layout.availabilityZones).fill(0);
  for (let k = 0; k < members; k++) counts[zoneOfMember(k, layout)]++;
  return counts;
}

/** Members a quorum group of n can lose and still hold floor(n/2)+1: none for 1 or 2. */
export function tolerableLoss(n: number): number {
  return Math.floor((n - 1) / 2);
}

/**
 * The most replicas of one partition a zone can hold, over every token order of the ring. With one rack
 * per zone, NetworkTopologyStrategy puts the first replicas in distinct racks until every rack of the
 * members has one; with fewer racks than the replication factor the rest come from any rack in ring
 * order, so a zone may get up to r - racks + 1 (at least ceil(r/racks), however the tokens fall).
 */
export function cassandraReplicasInOneZone(nodes: number, rf: number, layout: ZoneLayout): number {
  const counts = membersPerZone(nodes, layout).filter((c) => c > 0);
  if (counts.length >= rf) return 1;
  return Math.max(...counts.map((c) => Math.min(c, rf - counts.length + 1)));
}

/** A quorum group that one zone's loss would stop. */
export interface ZoneQuorumLoss {
  /** What the group's members are, and the keys that size it. */
  readonly members: string;
  readonly keys: string;
  readonly size: number;
  /** The most of its members one zone holds (Cassandra: for some partitions). */
  readonly inOneZone: number;
}

type QuorumConfig = Pick<
  StackConfig,
  'tiers' | 'natsNodes' | 'cassandraNodes' | 'cassandraReplicationFactor'
>;

/**
 * The quorum groups of the tiers that run, each where one zone holds more of it than it can lose. A group
 * of 1 or 2 can lose no member at all: no placement lets it survive a zone, and losing its zone is the
 * same as losing its node, so it is never reported.
 */
export function zoneQuorumLosses(config: QuorumConfig, layout: ZoneLayout): ZoneQuorumLoss[] {
  const groups: ZoneQuorumLoss[] = [];
  if (config.tiers.has('messaging')) {
    const n = config.natsNodes;
    groups.push({
      members: 'NATS members',
      keys: `${NAMESPACE}:natsNodes ${n}`,
      size: n,
      inOneZone: Math.max(...membersPerZone(n, layout)),
    });
  }
  if (config.tiers.has('storage')) {
    const rf = config.cassandraReplicationFactor;
    groups.push({
      members: 'replicas of a Cassandra partition',
      keys: `${NAMESPACE}:cassandraReplicationFactor ${rf} on ${NAMESPACE}:cassandraNodes ${config.cassandraNodes}`,
      size: rf,
      inOneZone: cassandraReplicasInOneZone(config.cassandraNodes, rf, layout),
    });
  }
  return groups.filter((g) => tolerableLoss(g.size) > 0 && g.inOneZone > tolerableLoss(g.size));
}

/** Whether losing any one zone leaves every quorum group of the stack a quorum. */
export function survivesZoneLoss(config: QuorumConfig, layout: ZoneLayout): boolean {
  return zoneQuorumLosses(config, layout).length === 0;
}

/**
 * Refuses (ConfigError) a layout in which one zone holds more of a quorum group than it can lose, unless
 * `allowZoneQuorumLoss` is set; then returns the warning to log. Undefined: every quorum survives a zone.
 */
export function checkZoneLayout(
  config: QuorumConfig,
  aws: ZoneLayout & Pick<AwsConfig, 'allowZoneQuorumLoss'>,
): string | undefined {
  const losses = zoneQuorumLosses(config, aws);
  if (losses.length === 0) return undefined;
  const key = (name: string) => `${NAMESPACE}:${name}`;
  const held = losses
    .map(
      (l) =>
        `${l.inOneZone} of the ${l.size} ${l.members} (${l.keys}; a quorum is ${Math.floor(l.size / 2) + 1})`,
    )
    .join(', and ');
  const problem =
    `${key('availabilityZones')} ${aws.availabilityZones} with ${key('workers')} ${aws.workers} lets one ` +
    `zone's loss stop a quorum: a zone holds ${held}`;
  if (aws.allowZoneQuorumLoss) return `${problem} (accepted: ${key('allowZoneQuorumLoss')} is true)`;
  const allowed = losses.map((l) => `${tolerableLoss(l.size)} of the ${l.size} ${l.members}`).join(' and ');
  throw new ConfigError(
    `${problem}. Allowed: a layout where no zone holds more than ${allowed}${suggestion(config, aws)}; ` +
      `or ${key('allowZoneQuorumLoss')} true to accept losing the quorum with a zone`,
  );
}

/** The nearest layouts that pass: more zones for these workers, or more workers in these zones. */
function suggestion(config: QuorumConfig, layout: ZoneLayout): string {
  const fixes: string[] = [];
  for (let zones = layout.availabilityZones + 1; zones <= AWS_LIMITS.availabilityZones; zones++) {
    if (survivesZoneLoss(config, { ...layout, availabilityZones: zones })) {
      fixes.push(`${NAMESPACE}:availabilityZones ${zones}`);
      break;
    }
  }
  // Past one worker per member, more workers place no member differently.
  for (
    let workers = layout.workers + 1;
    workers <= Math.max(config.natsNodes, config.cassandraNodes);
    workers++
  ) {
    if (survivesZoneLoss(config, { ...layout, workers })) {
      fixes.push(`${NAMESPACE}:workers ${workers}`);
      break;
    }
  }
  return fixes.length ? `, such as ${fixes.join(' or ')}` : '';
}
