// The capacity arithmetic: from a fleet (meters, reporting interval, retention, replication) and the rates
// `npm run bench` measured on the user's machine, how many of each part the pipeline needs. Pure: no I/O,
// every number carries the figure and the headroom it came from (`basis`), so the CLI can print both.
//
// Model (README, "Plan a deployment"):
// - Each measured per-replica or per-node rate is planned at UTILISATION of itself (the headroom).
// - Peak readings/s = meters / interval × peak factor. The simulator and the replay spread each interval's
//   readings evenly over it (factor 1); a fleet that reports on the interval's boundary needs a larger one.
// - A Cassandra node takes `cassandraCeiling` row writes/s, and every reading is written on `replication`
//   nodes. The stream job runs one active replica (a standby takes over), so its drain rate is a hard limit.
// - Disk: a row costs `cassandraBytesPerRow` per copy for the retention; a raw message costs
//   `jetstreamBytesPerMessage` for the raw stream's age budget. Disks are planned UTILISATION full.
import type { BenchFigures } from '../services/bench/figures';
import { LIMITS } from '../components/config';

/** Planned share of every measured rate and of every disk: 70 % leaves 30 % for spikes and compaction. */
export const UTILISATION = 0.7;
/** NATS members: 3 for a JetStream quorum that survives one loss, 5 past one node's measured rate. */
const NATS_SIZES = [3, 5] as const;

export interface Fleet {
  readonly meters: number;
  readonly intervalSeconds: number;
  readonly retentionDays: number;
  readonly replication: number;
  /** Peak readings/s over the average (1: readings spread evenly over the interval). */
  readonly peakFactor: number;
  /** How long the raw JetStream stream keeps readings (the stack's `rawStreamMaxAge`; default 24 h). */
  readonly streamAgeSeconds?: number;
}

/** One planned number and where it came from. */
export interface Figure {
  readonly value: number;
  readonly basis: string;
}

export interface Sizing {
  readonly readingsPerSecond: Figure;
  readonly injectors: Figure;
  /** Readings/s per injector (the stack's `injectRate`). */
  readonly injectRate: Figure;
  readonly ingestReplicas: Figure;
  /** Share of the one active stream job's planned rate, 0…1. */
  readonly streamLoad: Figure;
  readonly natsNodes: Figure;
  readonly cassandraNodes: Figure;
  /** Bytes of raw_data per Cassandra node at the end of the retention, planned UTILISATION full. */
  readonly cassandraDiskBytesPerNode: Figure;
  /** Bytes the raw stream holds for its age budget, planned UTILISATION full (the stack's `rawStreamMaxBytes`). */
  readonly jetstreamBytes: Figure;
  /** vCPUs the pipeline's processes use at this load (for the AWS workers). */
  readonly vcpus: Figure;
}

/** A fleet beyond what the largest cluster the stack accepts can carry; the message names the limit. */
export class CapacityError extends Error {
  override name = 'CapacityError';
}

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
const pct = `${UTILISATION * 100} %`;
export const gib = (bytes: number): number => bytes / 1024 ** 3;

/** The disk one Cassandra node may hold: the largest root volume, less what the node needs besides. */
export interface DiskBudget {
  /** Bytes a node may give to raw_data (its disk, less the base allowance and the raw stream). */
  readonly cassandraBytesPerNode: (jetstreamBytes: number) => number;
  readonly describe: string;
}

export function planSizing(fleet: Fleet, figures: BenchFigures, disk?: DiskBudget): Sizing {
  const { meters, intervalSeconds, retentionDays, replication, peakFactor } = fleet;
  const streamAge = fleet.streamAgeSeconds ?? 86_400;
  if (!(meters >= 1 && Number.isFinite(meters))) throw new RangeError(`meters must be >= 1, got ${meters}`);
  if (!(intervalSeconds >= 1)) throw new RangeError(`the interval must be >= 1 s, got ${intervalSeconds}`);
  if (!(replication >= 1 && Number.isInteger(replication))) {
    throw new RangeError(`the replication factor must be an integer >= 1, got ${replication}`);
  }
  const average = meters / intervalSeconds;
  const rps = average * peakFactor;
  const readingsPerSecond = {
    value: rps,
    basis: `${fmt(meters)} meters / ${fmt(intervalSeconds)} s × peak factor ${peakFactor}`,
  };

  // Inject: enough replicas at UTILISATION of one injector's rate, each at most the stack's injectRate.
  const injectorPlanned = figures.injectorRate * UTILISATION;
  const perInjector = Math.min(injectorPlanned, LIMITS.injectRate);
  const injectors = Math.max(1, Math.ceil(rps / perInjector));
  if (injectors > LIMITS.injectors) {
    throw new CapacityError(
      `${fmt(rps)} readings/s need ${injectors} injectors at ${fmt(perInjector)} readings/s each ` +
        `(${fmt(figures.injectorRate)} measured × ${pct}); the stack allows at most ${LIMITS.injectors} ` +
        `(smartmeter:injectors)`,
    );
  }
  const ingestPlanned = figures.pipeline.median * UTILISATION;
  const ingestReplicas = Math.max(1, Math.ceil(rps / ingestPlanned));
  if (ingestReplicas > LIMITS.ingestReplicas) {
    throw new CapacityError(
      `${fmt(rps)} readings/s need ${ingestReplicas} ingest replicas at ${fmt(ingestPlanned)} rows/s each ` +
        `(${fmt(figures.pipeline.median)} measured × ${pct}); the stack allows at most ` +
        `${LIMITS.ingestReplicas} (smartmeter:ingestReplicas)`,
    );
  }
  const streamPlanned = figures.streamDrain * UTILISATION;
  if (rps > streamPlanned) {
    throw new CapacityError(
      `${fmt(rps)} readings/s are more than the stream job takes: it runs one active replica, planned at ` +
        `${fmt(streamPlanned)} readings/s (${fmt(figures.streamDrain)} measured × ${pct}), so the largest ` +
        `cluster carries about ${fmt(Math.floor((streamPlanned * intervalSeconds) / peakFactor))} meters ` +
        `at this interval`,
    );
  }

  // NATS: every reading crosses the server once in (publish) and twice out (ingest and the stream job).
  const natsPlanned = figures.natsPubSub * UTILISATION;
  const natsNodes = rps * 3 <= natsPlanned ? NATS_SIZES[0] : NATS_SIZES[1];
  if (rps * 3 > natsPlanned * LIMITS.natsNodes) {
    throw new CapacityError(
      `${fmt(rps * 3)} NATS messages/s are more than ${LIMITS.natsNodes} NATS nodes (smartmeter:natsNodes) ` +
        `at ${fmt(natsPlanned)} msg/s each (${fmt(figures.natsPubSub)} measured × ${pct})`,
    );
  }

  // Disk: raw_data copies for the retention; the raw stream for its age budget.
  const rows = average * 86_400 * retentionDays;
  const bpr = figures.storage.cassandraBytesPerRow;
  const cassandraTotal = (rows * bpr * replication) / UTILISATION;
  const jetstreamBytes = (rps * figures.storage.jetstreamBytesPerMessage * streamAge) / UTILISATION;

  // Cassandra: enough nodes for the replica writes, for the disk, and at least one per copy.
  const cassandraPlanned = figures.cassandraCeiling.median * UTILISATION;
  const forWrites = Math.ceil((rps * replication) / cassandraPlanned);
  const diskPerNode = disk?.cassandraBytesPerNode(jetstreamBytes) ?? Infinity;
  const forDisk = diskPerNode > 0 ? Math.ceil(cassandraTotal / diskPerNode) : Infinity;
  const cassandraNodes = Math.max(replication, forWrites, forDisk);
  if (cassandraNodes > LIMITS.cassandraNodes) {
    const why =
      forDisk > forWrites && disk
        ? `${fmt(gib(cassandraTotal))} GiB of raw_data (${disk.describe})`
        : `${fmt(rps * replication)} replica writes/s at ${fmt(cassandraPlanned)} rows/s per node ` +
          `(${fmt(figures.cassandraCeiling.median)} measured × ${pct})`;
    throw new CapacityError(
      `the fleet needs ${cassandraNodes} Cassandra nodes for ${why}; the stack allows at most ` +
        `${LIMITS.cassandraNodes} (smartmeter:cassandraNodes)`,
    );
  }
  const cassandraWhy = [
    `${replication} copies`,
    `${forWrites} for ${fmt(rps)} readings/s × ${replication} copies / ${fmt(cassandraPlanned)} rows/s per node ` +
      `(${fmt(figures.cassandraCeiling.median)} measured × ${pct})`,
    ...(disk ? [`${forDisk} for the disk (${disk.describe})`] : []),
  ];

  // vCPUs at this load: each Node process saturated one core at its measured rate; a Cassandra node
  // saturated the bench machine at its ceiling. Plus one vCPU for the rest (Prometheus, Grafana, train, …).
  const perNodeWrites = (rps * replication) / cassandraNodes;
  const vcpus =
    rps / figures.injectorRate +
    rps / figures.pipeline.median +
    rps / figures.streamDrain +
    (rps * 3) / figures.natsPubSub +
    cassandraNodes * (perNodeWrites / figures.cassandraCeiling.median) * figures.machine.cpus +
    1;

  return {
    readingsPerSecond,
    injectors: {
      value: injectors,
      basis: `${fmt(rps)} / ${fmt(perInjector)} readings/s per injector (${fmt(figures.injectorRate)} measured × ${pct}${perInjector < injectorPlanned ? `, capped at injectRate ${fmt(LIMITS.injectRate)}` : ''})`,
    },
    injectRate: {
      value: Math.ceil(rps / injectors),
      basis: `${fmt(rps)} readings/s / ${injectors} injector${injectors === 1 ? '' : 's'}`,
    },
    ingestReplicas: {
      value: ingestReplicas,
      basis: `${fmt(rps)} / ${fmt(ingestPlanned)} rows/s per replica (${fmt(figures.pipeline.median)} measured × ${pct})`,
    },
    streamLoad: {
      value: rps / streamPlanned,
      basis: `${fmt(rps)} / ${fmt(streamPlanned)} readings/s of the one active stream job (${fmt(figures.streamDrain)} measured × ${pct})`,
    },
    natsNodes: {
      value: natsNodes,
      basis:
        natsNodes === NATS_SIZES[0]
          ? `a JetStream quorum that survives one loss; ${fmt(rps * 3)} msg/s ≤ ${fmt(natsPlanned)} per node (${fmt(figures.natsPubSub)} measured × ${pct})`
          : `${fmt(rps * 3)} msg/s > ${fmt(natsPlanned)} per node (${fmt(figures.natsPubSub)} measured × ${pct})`,
    },
    cassandraNodes: { value: cassandraNodes, basis: `the most of: ${cassandraWhy.join('; ')}` },
    cassandraDiskBytesPerNode: {
      value: cassandraTotal / cassandraNodes,
      basis:
        `${fmt(average)} rows/s × 86,400 s × ${retentionDays} d × ${+bpr.toFixed(1)} B/row (measured) × ${replication} ` +
        `copies / ${cassandraNodes} nodes / ${pct} full`,
    },
    jetstreamBytes: {
      value: jetstreamBytes,
      basis:
        `${fmt(rps)} msg/s × ${+figures.storage.jetstreamBytesPerMessage.toFixed(1)} B/msg (measured) × ` +
        `${fmt(streamAge / 3600, 1)} h (rawStreamMaxAge) / ${pct} full`,
    },
    vcpus: {
      value: vcpus,
      basis:
        `inject, ingest, stream, NATS at 1 vCPU per measured rate, Cassandra ${figures.machine.cpus} vCPUs ` +
        `(the bench machine) per ceiling, + 1 for the rest`,
    },
  };
}
