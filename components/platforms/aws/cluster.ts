// The Swarm's machines: managers (1 or 3) and workers on a current Amazon Linux 2023 AMI, with IMDSv2
// required, encrypted root volumes, the user's SSH key and an instance role that can only read and
// write the cluster's two join-token parameters. The first manager creates the swarm; the others join
// with tokens read from SSM Parameter Store (scripts/user-data/swarm-node.sh).
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { renderSwarmNodeUserData, SwarmRole } from './user-data';
import { zoneOfSlot } from './zones';

export interface SwarmClusterArgs {
  /** The region the provider works in: the nodes' AWS CLI calls (SSM) go there. */
  readonly region: pulumi.Input<string>;
  readonly subnetIds: pulumi.Input<string>[];
  readonly securityGroupId: pulumi.Input<string>;
  readonly managers: 1 | 3;
  readonly workers: number;
  readonly managerInstanceType: string;
  readonly workerInstanceType: string;
  readonly rootVolumeGiB: number;
  readonly sshPublicKey: string;
  /** Prefix of the SSM parameter names, e.g. `/smartmeter/aws/swarm`. */
  readonly parameterPrefix: string;
  /** Tags of the root volumes: the provider's default tags do not reach volumes an instance creates. */
  readonly volumeTags?: Record<string, string>;
}

/** Amazon Linux 2023, x86_64, newest at deploy time. */
export const AMI_FILTERS = [
  { name: 'name', values: ['al2023-ami-2023.*-x86_64'] },
  { name: 'architecture', values: ['x86_64'] },
  { name: 'virtualization-type', values: ['hvm'] },
];

export class SwarmCluster extends pulumi.ComponentResource {
  /** The first manager's public IP: the docker provider's SSH endpoint and the Grafana host. */
  public readonly managerPublicIp: pulumi.Output<string>;
  public readonly managerPrivateIps: pulumi.Output<string>[];
  public readonly workerPrivateIps: pulumi.Output<string>[];
  /** Every node's public IP and DNS name: the routing mesh answers published ports on each of them. */
  public readonly publicIps: pulumi.Output<string>[];
  public readonly publicDnsNames: pulumi.Output<string>[];
  public readonly instances: aws.ec2.Instance[] = [];

  constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:aws:SwarmCluster', name, {}, opts);
    const parent = { parent: this };

    // The parameters exist before any node boots; Pulumi writes only a placeholder, write-only, so
    // the tokens the first manager stores never come back into Pulumi's state, even on refresh.
    const tokenParam = (kind: 'manager' | 'worker') =>
      new aws.ssm.Parameter(
        `${name}-${kind}-token`,
        {
          name: `${args.parameterPrefix}/${kind}-token`,
          type: 'SecureString',
          valueWo: 'pending',
          valueWoVersion: 1,
          description: `Docker Swarm ${kind} join token, written by the first manager`,
        },
        parent,
      );
    const managerToken = tokenParam('manager');
    const workerToken = tokenParam('worker');

    const role = new aws.iam.Role(
      `${name}-node`,
      {
        assumeRolePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      },
      parent,
    );
    // SecureStrings use the account's AWS-managed aws/ssm key, which needs no KMS grant here.
    const policy = new aws.iam.RolePolicy(
      `${name}-join-tokens`,
      {
        role: role.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['ssm:GetParameter', 'ssm:PutParameter'],
              Resource: [managerToken.arn, workerToken.arn],
            },
          ],
        }),
      },
      parent,
    );
    const profile = new aws.iam.InstanceProfile(`${name}-node`, { role: role.name }, parent);
    const keyPair = new aws.ec2.KeyPair(`${name}-key`, { publicKey: args.sshPublicKey }, parent);
    const ami = aws.ec2.getAmiOutput({ owners: ['amazon'], mostRecent: true, filters: AMI_FILTERS }, parent);

    const node = (
      nodeName: string,
      swarmRole: SwarmRole,
      slot: number,
      instanceType: string,
      managerAddr: pulumi.Input<string>,
    ) =>
      new aws.ec2.Instance(
        nodeName,
        {
          ami: ami.id,
          instanceType,
          subnetId: args.subnetIds[zoneOfSlot(slot, args.subnetIds.length)],
          vpcSecurityGroupIds: [args.securityGroupId],
          keyName: keyPair.keyName,
          iamInstanceProfile: profile.name,
          userData: pulumi.all([managerAddr, args.region]).apply(([addr, region]) =>
            renderSwarmNodeUserData({
              role: swarmRole,
              region,
              managerTokenParam: `${args.parameterPrefix}/manager-token`,
              workerTokenParam: `${args.parameterPrefix}/worker-token`,
              managerAddr: addr,
              slot,
            }),
          ),
          // Hop limit 1: containers cannot reach the metadata service, so not the role's credentials.
          metadataOptions: { httpTokens: 'required', httpEndpoint: 'enabled', httpPutResponseHopLimit: 1 },
          rootBlockDevice: {
            encrypted: true,
            volumeType: 'gp3',
            volumeSize: args.rootVolumeGiB,
            deleteOnTermination: true,
            tags: { ...args.volumeTags, Name: nodeName },
          },
          tags: { Name: nodeName, 'smartmeter:swarm-role': swarmRole },
        },
        // A newer AMI must not replace a node that holds Cassandra or JetStream data.
        { parent: this, dependsOn: [policy, managerToken, workerToken], ignoreChanges: ['ami'] },
      );

    const first = node(`${name}-manager-0`, 'init', 0, args.managerInstanceType, '');
    this.instances.push(first);
    for (let i = 1; i < args.managers; i++)
      this.instances.push(
        node(`${name}-manager-${i}`, 'manager', i, args.managerInstanceType, first.privateIp),
      );
    for (let i = 0; i < args.workers; i++)
      this.instances.push(node(`${name}-worker-${i}`, 'worker', i, args.workerInstanceType, first.privateIp));

    this.managerPublicIp = first.publicIp;
    this.managerPrivateIps = this.instances.slice(0, args.managers).map((n) => n.privateIp);
    this.workerPrivateIps = this.instances.slice(args.managers).map((n) => n.privateIp);
    this.publicIps = this.instances.map((n) => n.publicIp);
    this.publicDnsNames = this.instances.map((n) => n.publicDns);
    this.registerOutputs({
      managerPublicIp: this.managerPublicIp,
      managerPrivateIps: this.managerPrivateIps,
      workerPrivateIps: this.workerPrivateIps,
    });
  }
}
