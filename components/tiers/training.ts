// Training tier: `train` (max voltage ⋈ temperature → model, stored in Cassandra) and `predict`
// (forecasts → predicted alerts, hot-reloading the newest model).
import * as pulumi from '@pulumi/pulumi';

import type { StackConfig } from '../config';
import type { DeployedService, Platform } from '../spec';
import { cassandraClient, CassandraConnection, natsClient, NatsConnection, roleService } from './shared';

export interface TrainingTierArgs {
  readonly platform: Platform;
  readonly config: StackConfig;
  readonly nats: NatsConnection;
  readonly cassandra: CassandraConnection;
}

export class TrainingTier extends pulumi.ComponentResource {
  public readonly services: DeployedService[];

  constructor(name: string, args: TrainingTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:training:Training', name, {}, opts);
    const { platform, config } = args;
    // train labels its examples with its own TRAIN_THRESHOLD_V (116 V, as the original): left at its default.
    this.services = (['train', 'predict'] as const).map((role) =>
      platform.deploy(
        roleService(role, config, [natsClient(args.nats, role), cassandraClient(args.cassandra, role)]),
        { parent: this },
      ),
    );
    this.registerOutputs({ services: this.services.map((s) => s.spec.name) });
  }
}
