// The AWS platform: a Docker Swarm cluster on EC2 that runs the tiers' declarations as swarm services.
//   provider.ts  the AWS provider from the standard aws:* stack keys, with the stack's default tags
//   network.ts   VPC, public subnets in >= 2 zones, internet gateway, security group
//   cluster.ts   managers and workers; join tokens through SSM Parameter Store
//   zones.ts     the zone of each worker and member; no zone may hold a NATS or Cassandra quorum
//   registry.ts  ECR repository and the services image pushed to it
//   swarm-ready.ts waits over SSH until every node has joined
//   tls.ts       a CA and the certificates of the published services (the stack publishes TLS only)
//   swarm.ts     ServiceSpec -> docker.Service / Secret / ServiceConfig on an encrypted overlay
import * as aws from '@pulumi/aws';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';

import type { StackConfig } from '../../config';
import type {
  DeployedService,
  DeployOptions,
  Platform,
  PlatformTls,
  ScrapeConfig,
  ServiceSpec,
} from '../../spec';
import { REPO_ROOT, servicesImageBuild } from '../services-image';
import { SwarmCluster } from './cluster';
import { AwsConfig, checkAwsResources, checkPublishedPorts, loadAwsConfig } from './config';
import { SwarmNetwork } from './network';
import { awsProviderArgs, awsStackKeys } from './provider';
import { ServicesRegistry } from './registry';
import { SwarmServices } from './swarm';
import { SwarmReady } from './swarm-ready';
import { ClusterTls } from './tls';
import { checkZoneLayout, zoneOfMember } from './zones';

export { loadAwsConfig } from './config';
export type { AwsConfig } from './config';

export interface AwsPlatformArgs {
  readonly config: StackConfig;
  /** The AWS keys; read from the stack config when omitted. */
  readonly aws?: AwsConfig;
  /** Build context of the services image: the repository root (the npm workspace lockfile lives there). */
  readonly repoRoot?: string;
}

export class AwsPlatform extends pulumi.ComponentResource implements Platform {
  public readonly publicHost: pulumi.Output<string>;
  public readonly managerPublicIp: pulumi.Output<string>;
  public readonly repositoryUrl: pulumi.Output<string>;
  public readonly nodes: number;
  public readonly tls: PlatformTls;
  private readonly swarm: SwarmServices;

  constructor(name: string, args: AwsPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:platform:Aws', name, {}, opts);
    const cfg = args.aws ?? loadAwsConfig();
    checkPublishedPorts(args.config.ports);
    checkAwsResources(args.config, cfg);
    const zoneWarning = checkZoneLayout(args.config, cfg);
    if (zoneWarning) pulumi.log.warn(zoneWarning, this);
    const repoRoot = args.repoRoot ?? REPO_ROOT;
    const members = Math.max(args.config.natsNodes, args.config.cassandraNodes);
    if (cfg.workers < members) {
      pulumi.log.warn(
        `smartmeter:workers is ${cfg.workers}, fewer than the ${members} NATS/Cassandra members: some members share a ` +
          'worker, and losing that worker loses more than one replica',
        this,
      );
    }
    const providerArgs = awsProviderArgs(awsStackKeys());
    const provider = new aws.Provider(`${name}-aws`, providerArgs, { parent: this });
    const onAws = { parent: this, providers: { aws: provider } };
    // The region the provider ended up with (aws:region, AWS_REGION or the profile's): the nodes' too.
    const region = aws.getRegionOutput({}, { parent: this, provider }).region;

    const network = new SwarmNetwork(
      name,
      { vpcCidr: cfg.vpcCidr, availabilityZones: cfg.availabilityZones, allowedCidr: cfg.allowedCidr },
      onAws,
    );
    const cluster = new SwarmCluster(
      name,
      {
        region,
        subnetIds: network.subnetIds,
        securityGroupId: network.securityGroupId,
        managers: cfg.managers,
        workers: cfg.workers,
        managerInstanceType: cfg.managerInstanceType,
        workerInstanceType: cfg.workerInstanceType,
        rootVolumeGiB: cfg.rootVolumeGiB,
        sshPublicKey: cfg.sshPublicKey,
        parameterPrefix: `/smartmeter/${pulumi.getStack()}/swarm`,
        volumeTags: (providerArgs.defaultTags as { tags: Record<string, string> }).tags,
      },
      onAws,
    );
    const registry = new ServicesRegistry(
      name,
      {
        build: servicesImageBuild(args.config, repoRoot),
      },
      onAws,
    );

    // The docker provider reaches the first manager over SSH (the system `ssh`, the user's key).
    const sshOpts = [
      '-o',
      'StrictHostKeyChecking=accept-new',
      ...(cfg.sshPrivateKeyPath ? ['-i', cfg.sshPrivateKeyPath] : []),
    ];
    const target = pulumi.interpolate`${cfg.sshUser}@${cluster.managerPublicIp}`;
    this.nodes = cfg.managers + cfg.workers;
    const ready = new SwarmReady(
      `${name}-swarm-ready`,
      { target, sshOpts, nodes: this.nodes },
      { parent: this, dependsOn: cluster.instances },
    );
    const swarmProvider = new docker.Provider(
      `${name}-swarm`,
      { host: ready.dockerHost, sshOpts },
      { parent: this },
    );
    const overlay = new docker.Network(
      `${name}-overlay`,
      { name: 'smartmeter', driver: 'overlay', attachable: true, options: { encrypted: 'true' } },
      { parent: this, provider: swarmProvider },
    );

    const certificates = new ClusterTls(
      `${name}-tls`,
      { publicIps: cluster.publicIps, publicDnsNames: cluster.publicDnsNames },
      { parent: this },
    );
    this.tls = {
      caCertificate: certificates.caCertificate,
      serverCertificate: (service, options = {}) =>
        certificates.serverCertificate(
          service,
          [...new Set([service, this.replicaHost(service, 0), ...(options.names ?? [])])],
          { clientAuth: options.clientAuth },
        ),
      peerCertificate: (service, index) => {
        const host = this.replicaHost(service, index);
        return certificates.peerCertificate(host, [host, `tasks.${host}`, service]);
      },
      clientCertificate: (client) => certificates.clientCertificate(client),
    };

    this.managerPublicIp = cluster.managerPublicIp;
    this.publicHost = cluster.managerPublicIp;
    this.repositoryUrl = registry.repositoryUrl;
    this.swarm = new SwarmServices({
      provider: swarmProvider,
      networkId: overlay.id,
      workers: cfg.workers,
      memberZone: (member) => network.subnetZones[zoneOfMember(member, cfg)],
      servicesImage: registry.imageRef,
      registryAuth: registry.auth,
      onPublish: (service, port) =>
        network.allowFromUser(`${service}-${port}`, port, `${service} from the allowed CIDR`),
      publicHost: this.publicHost,
    });
    this.registerOutputs({
      managerPublicIp: this.managerPublicIp,
      repositoryUrl: this.repositoryUrl,
      caCertificate: this.tls.caCertificate,
    });
  }

  deploy(spec: ServiceSpec, opts: DeployOptions): DeployedService {
    return this.swarm.deploy(spec, opts);
  }

  replicaHost(service: string, index: number): string {
    return this.swarm.replicaHost(service, index);
  }

  scrapeConfigs(services: readonly DeployedService[]): ScrapeConfig[] {
    return this.swarm.scrapeConfigs(services);
  }
}
