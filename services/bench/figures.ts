// The figures `npm run bench` measures, as it saves them to services/dist/bench/last.json for other
// tools (the capacity planner, `npm run plan`). One schema version per breaking change; readers refuse
// a version they do not know instead of guessing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** 2: `injectorRate` is acknowledged delivery's (it was core NATS publishing's); the durability comparison. */
export const BENCH_FIGURES_VERSION = 2;

/**
 * The Node.js major every role runs on once deployed (scripts/install-node.sh's, package.json's engines;
 * a test keeps the three in step). Figures from another major describe other costs: ingest's CPU per row
 * on Node 20 was about 1.7 times Node 24's (issue 11), so the planner refuses them.
 */
export const SERVICES_NODE_MAJOR = 24;

/** A figure measured several times in one run: its median and its spread. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export interface BenchFigures {
  version: typeof BENCH_FIGURES_VERSION;
  /** ISO time the run ended. */
  measuredAt: string;
  /** `git rev-parse --short HEAD` of the code measured, with `-dirty` if the tree had changes. */
  commit: string;
  machine: {
    hostname: string;
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
    node: string;
    /** /proc/loadavg's 1-minute figure at the start and the end of the run. */
    loadStart: number;
    loadEnd: number;
  };
  /** (a) nats.js publish → subscribe, msg/s. */
  natsPubSub: number;
  /** (b) Cassandra insert ceiling of the raw driver loop, rows/s, one node, warm. */
  cassandraCeiling: Spread;
  /** (c) the pipeline with one ingest replica, rows/s. */
  pipeline: Spread;
  /**
   * The first readings each fresh ingest process drained before (c) was measured (a new process warming up),
   * medians over the (c) runs; not counted in `pipeline` or `cpuPerRow`.
   */
  ingestWarmup?: { readings: number; rowsPerSecond?: number; ingestUs?: number };
  /** Per-pair (c)/(b). */
  pipelineOverCeiling: Spread;
  /**
   * The same (b) and (c) with relaxed stores (JetStream and Cassandra syncing periodically, the engines'
   * defaults), measured in the same run; the figures above are the synced stores' (the stack's default).
   */
  relaxed: { cassandraCeiling: Spread; pipeline: Spread; pipelineOverCeiling: Spread };
  /** Synced pipeline over relaxed pipeline (medians): the price of durability. */
  syncedOverRelaxed: number;
  /** CPU time per stored row, µs: the ingest process against the raw driver loop of (b). */
  cpuPerRow: {
    ingestUs: number;
    rawUs: number;
    ratio: number;
    /** (a′) the raw JetStream fetch+ack loop's CPU per message; with rawUs, ingest's floor. */
    rawFetchAckUs?: number;
    /** Where the process's counters can be read (/proc); undefined otherwise. */
    natsServerUs?: number;
    cassandraUs?: number;
  };
  /** (f) the stream role draining a backlog, readings/s. */
  streamDrain: number;
  /** Ingest replicas against the same Cassandra: rows/s in all, and per replica. */
  ingestReplicas: { replicas: number; rowsPerSecond: number; perReplica: number }[];
  /** (d) one injector, readings/s acknowledged by the broker (synced stream) as fast as it goes. */
  injectorRate: number;
  /** (d) the same injector publishing with core NATS (unacknowledged, what it did before), readings/s. */
  injectorCoreRate: number;
  /** (e) publish → row latency at half of (c), ms. */
  latency: { p50Ms: number; p99Ms: number };
  /** On-disk and in-stream sizes, for sizing storage. */
  storage: {
    /** raw_data bytes on disk per row after a flush (SSTables, compressed, one replica). */
    cassandraBytesPerRow: number;
    /** JetStream file-store bytes per raw voltage message (stream state bytes / messages). */
    jetstreamBytesPerMessage: number;
  };
}

/** Where the bench writes its figures and the planner reads them: next to the compiled bench (services/dist/bench). */
export function defaultFiguresPath(): string {
  return resolve(__dirname, 'last.json');
}

export function writeFigures(figures: BenchFigures, path = defaultFiguresPath()): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(figures, null, 2) + '\n');
  return path;
}

/** Reads saved figures; a clear error when none were saved or they are of another version. */
export function readFigures(path = defaultFiguresPath()): BenchFigures {
  if (!existsSync(path)) {
    throw new Error(`no bench figures at ${path}: run \`npm run bench\` first`);
  }
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { version?: unknown };
  if (parsed.version !== BENCH_FIGURES_VERSION) {
    throw new Error(
      `bench figures at ${path} are version ${String(parsed.version)}, this code reads version ` +
        `${BENCH_FIGURES_VERSION}: run \`npm run bench\` again`,
    );
  }
  const figures = parsed as BenchFigures;
  const measuredOn = /^v(\d+)\./.exec(figures.machine?.node ?? '')?.[1];
  if (Number(measuredOn) !== SERVICES_NODE_MAJOR) {
    throw new Error(
      `bench figures at ${path} were measured on Node ${figures.machine?.node ?? '(unknown)'}, the services ` +
        `run on Node ${SERVICES_NODE_MAJOR}: run \`npm run bench\` again (it runs on the project's Node)`,
    );
  }
  return figures;
}
