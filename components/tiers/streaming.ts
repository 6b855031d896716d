// Streaming tier: `inject` × smartmeter:injectors (simulated meters publishing to NATS), `ingest` × a
// configured count (JetStream → Cassandra) and `stream` (windows, extracts and alerts).
import * as pulumi from '@pulumi/pulumi';

import type { StackConfig } from '../config';
import { DeployedService, Platform, replicaSlot } from '../spec';
import {
  cassandraClient,
  CassandraConnection,
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

export class StreamingTier extends pulumi.ComponentResource {
  public readonly services: DeployedService[];

  constructor(name: string, args: StreamingTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:streaming:Streaming', name, {}, opts);
    const { platform, config } = args;
    const nats = natsClient(args.nats);
    const cassandra = cassandraClient(args.cassandra);
    // Injectors only publish; they start once NATS is up and the schema exists (ingest keeps up from the start).
    const inject = roleService('inject', config, [nats], {
      replicas: config.injectors,
      env: {
        INJECT_SLOT: replicaSlot(),
        INJECT_RATE: String(config.injectRate),
        INJECT_SEED: String(config.injectSeed),
      },
    });
    this.services = [
      platform.deploy(
        { ...inject, dependsOn: [...(inject.dependsOn ?? []), args.cassandra.ready] },
        { parent: this },
      ),
      platform.deploy(
        roleService('ingest', config, [nats, cassandra], {
          replicas: config.ingestReplicas,
          env: rawStreamEnv(config),
        }),
        { parent: this },
      ),
      platform.deploy(
        roleService('stream', config, [nats, cassandra], {
          env: { ALERT_THRESHOLD_V: String(config.alertThreshold), ...rawStreamEnv(config) },
        }),
        { parent: this },
      ),
    ];
    this.registerOutputs({ services: this.services.map((s) => s.spec.name) });
  }
}
