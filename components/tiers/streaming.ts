// Streaming tier: `inject` × smartmeter:injectors (simulated meters publishing to NATS), `ingest` × a
// configured count (JetStream → Cassandra) and `stream` (windows, extracts, alerts and outages). Every injector
// runs on the stack's one simulated clock (components/simulation-clock.ts).
import * as pulumi from '@pulumi/pulumi';

import { basename } from 'node:path';

import type { StackConfig } from '../config';
import { stackClock } from '../simulation-clock';
import { DeployedService, HostFileSpec, Platform, replicaSlot } from '../spec';
import {
  cassandraClient,
  CassandraConnection,
  duplicateWindowEnv,
  natsClient,
  NatsConnection,
  rawStreamEnv,
  roleService,
} from './shared';

export interface StreamingTierArgs {
  readonly platform: Platform;
  readonly config: StackConfig;
  readonly nats: NatsConnection;
  readonly cassandra: CassandraConnection;
}

/**
 * Simulated seconds per real second (one real second = 15 simulated minutes, the original's pace). Not a
 * stack key; a change here re-anchors the stack's clock so that simulated time keeps going forward.
 */
export const INJECT_ACCELERATION = 900;

/** Where the injectors read the recorded households in their containers. */
export const REPLAY_DIR = '/replay';
/** Where the injectors write their delivery ledger in their containers (smartmeter:injectLedgerDir). */
export const LEDGER_DIR = '/ledger';

/**
 * The injectors' replay source (services/src/replay): the user's files mounted read-only, one per household.
 * Locally they must exist on this host (platforms/local.ts checks); on a Swarm at that path on every worker.
 */
export function replaySource(config: StackConfig): {
  env: Record<string, string>;
  hostFiles: HostFileSpec[];
} {
  const replay = config.replay as NonNullable<StackConfig['replay']>;
  const hostFiles = replay.files.map((hostPath, h) => ({
    hostPath,
    path: `${REPLAY_DIR}/household-${h + 1}-${basename(hostPath)}`,
  }));
  return {
    env: {
      INJECT_SOURCE: 'uci',
      INJECT_UCI_FILES: hostFiles.map((f) => f.path).join(','),
      INJECT_UCI_METERS_PER_HOUSEHOLD: String(replay.metersPerHousehold),
      INJECT_UCI_NOMINAL_V: String(replay.recordedNominalVoltage),
      INJECT_NOMINAL_V: String(replay.nominalVoltage),
    },
    hostFiles,
  };
}

export class StreamingTier extends pulumi.ComponentResource {
  public readonly services: DeployedService[];
  /** The injectors' clock: real instant and simulated time at it (ISO-8601), and the acceleration. */
  public readonly clock: pulumi.Output<{ anchor: string; simulatedAtAnchor: string; acceleration: number }>;

  constructor(name: string, args: StreamingTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:streaming:Streaming', name, {}, opts);
    const { platform, config } = args;
    const clock = stackClock(config, INJECT_ACCELERATION, { parent: this });
    const iso = (seconds: string) => new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z');
    this.clock = pulumi.all([clock.INJECT_CLOCK_ANCHOR, clock.INJECT_START]).apply(([anchor, start]) => ({
      anchor: iso(anchor),
      simulatedAtAnchor: iso(start),
      acceleration: INJECT_ACCELERATION,
    }));
    // Injectors only publish; they start once NATS is up and the schema exists (ingest keeps up from the
    // start). Until ingest or stream has created the raw stream, their readings wait in their buffer.
    const replay = config.replay && replaySource(config);
    const inject = {
      ...roleService('inject', config, [natsClient(args.nats, 'inject')], {
        replicas: config.injectors,
        env: {
          INJECT_SLOT: replicaSlot(),
          INJECT_SEED: String(config.injectSeed),
          // The simulator's own: a replay publishes what was recorded, at the pace of the clock.
          ...(!replay && {
            INJECT_RATE: String(config.injectRate),
            INJECT_OUTAGE_RATE: String(config.outages.meterRate),
            INJECT_TRANSFORMER_OUTAGE_RATE: String(config.outages.transformerRate),
            INJECT_OUTAGE_MINUTES: String(config.outages.minutes),
          }),
          INJECT_BUFFER_READINGS: String(config.injectBufferReadings),
          ...(config.injectLedgerDir && { INJECT_LEDGER_DIR: LEDGER_DIR }),
          ...duplicateWindowEnv(config),
          ...clock,
          ...replay?.env,
        },
      }),
      hostFiles: replay?.hostFiles,
      hostDirs: config.injectLedgerDir ? [{ hostPath: config.injectLedgerDir, path: LEDGER_DIR }] : undefined,
    };
    this.services = [
      platform.deploy(
        { ...inject, dependsOn: [...(inject.dependsOn ?? []), args.cassandra.ready] },
        { parent: this },
      ),
      platform.deploy(
        roleService(
          'ingest',
          config,
          [natsClient(args.nats, 'ingest'), cassandraClient(args.cassandra, 'ingest')],
          {
            replicas: config.ingestReplicas,
            env: rawStreamEnv(config, args.nats),
          },
        ),
        { parent: this },
      ),
      platform.deploy(
        roleService(
          'stream',
          config,
          [natsClient(args.nats, 'stream'), cassandraClient(args.cassandra, 'stream')],
          {
            env: {
              ALERT_THRESHOLD_V: String(config.alertThreshold),
              STREAM_OUTAGE_INTERVALS: String(config.outages.intervals),
              STREAM_TRANSFORMER_OUTAGE_SHARE: String(config.outages.transformerShare),
              ...rawStreamEnv(config, args.nats),
            },
          },
        ),
        { parent: this },
      ),
    ];
    this.registerOutputs({ services: this.services.map((s) => s.spec.name) });
  }
}
