// The cluster's network: a VPC with one public subnet per availability zone, an internet gateway and
// a default route, and one security group. The user's CIDR reaches SSH and the ports the platform
// publishes (Grafana); Swarm's own traffic flows only between members of the group. Services talk over
// the overlay network (VXLAN on 4789/udp, IPsec ESP because it is encrypted), so no service port is
// opened between hosts.
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface SwarmNetworkArgs {
  readonly vpcCidr: string;
  readonly availabilityZones: number;
  /** The only source allowed in from outside the cluster (validated: never the world). */
  readonly allowedCidr: string;
}

/** Swarm's ports between nodes (docs.docker.com/engine/swarm/swarm-tutorial/#open-protocols-and-ports-between-the-hosts). */
export const SWARM_PORTS: ReadonlyArray<{ name: string; protocol: string; port?: number }> = [
  { name: 'swarm-manage', protocol: 'tcp', port: 2377 },
  { name: 'swarm-gossip-tcp', protocol: 'tcp', port: 7946 },
  { name: 'swarm-gossip-udp', protocol: 'udp', port: 7946 },
  { name: 'swarm-vxlan', protocol: 'udp', port: 4789 },
  { name: 'swarm-esp', protocol: '50' }, // IPsec ESP carries the encrypted overlay
];

/** The i-th subnet of `cidr` with `newBits` more prefix bits (IPv4). */
export function subnetCidr(cidr: string, index: number, newBits = 4): string {
  const [addr, prefixText] = cidr.split('/');
  const prefix = Number(prefixText) + newBits;
  if (prefix > 28 || index >= 2 ** newBits)
    throw new Error(`cannot carve subnet ${index} /${prefix} out of ${cidr}`);
  const base = addr.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const ip = base + index * 2 ** (32 - prefix);
  return `${[24, 16, 8, 0].map((s) => Math.floor(ip / 2 ** s) % 256).join('.')}/${prefix}`;
}

export class SwarmNetwork extends pulumi.ComponentResource {
  public readonly vpcId: pulumi.Output<string>;
  public readonly subnetIds: pulumi.Output<string>[];
  /** The availability zone of each subnet (same index): the zone of the nodes placed in it. */
  public readonly subnetZones: pulumi.Output<string>[];
  public readonly securityGroupId: pulumi.Output<string>;
  private readonly allowedCidr: string;
  private readonly name: string;

  constructor(name: string, args: SwarmNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:aws:Network', name, {}, opts);
    const parent = { parent: this };
    this.allowedCidr = args.allowedCidr;
    this.name = name;

    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: args.vpcCidr,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: { Name: `${name}-vpc` },
      },
      parent,
    );
    const igw = new aws.ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: vpc.id, tags: { Name: `${name}-igw` } },
      parent,
    );
    const routes = new aws.ec2.RouteTable(
      `${name}-public`,
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }],
        tags: { Name: `${name}-public` },
      },
      parent,
    );

    const zones = aws.getAvailabilityZonesOutput({ state: 'available' }, parent).names.apply((names) => {
      if (names.length < args.availabilityZones) {
        throw new Error(
          `smartmeter:availabilityZones is ${args.availabilityZones} but the region has ${names.length} available zones`,
        );
      }
      return names;
    });
    this.subnetIds = [];
    this.subnetZones = [];
    for (let i = 0; i < args.availabilityZones; i++) {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${i}`,
        {
          vpcId: vpc.id,
          cidrBlock: subnetCidr(args.vpcCidr, i),
          availabilityZone: zones[i],
          mapPublicIpOnLaunch: true,
          tags: { Name: `${name}-public-${i}` },
        },
        parent,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-public-${i}`,
        { subnetId: subnet.id, routeTableId: routes.id },
        parent,
      );
      this.subnetIds.push(subnet.id);
      this.subnetZones.push(subnet.availabilityZone);
    }

    const sg = new aws.ec2.SecurityGroup(
      `${name}-nodes`,
      { vpcId: vpc.id, description: 'smart-meter Swarm nodes', tags: { Name: `${name}-nodes` } },
      parent,
    );
    for (const p of SWARM_PORTS) {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${p.name}`,
        {
          securityGroupId: sg.id,
          referencedSecurityGroupId: sg.id,
          ipProtocol: p.protocol,
          fromPort: p.port,
          toPort: p.port,
          description: `${p.name} between cluster members`,
        },
        parent,
      );
    }
    this.securityGroupId = sg.id;
    this.allowFromUser('ssh', 22, 'SSH (the docker provider reaches the manager this way)');
    // Nodes fetch packages, images and SSM parameters from the internet.
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-egress`,
      { securityGroupId: sg.id, ipProtocol: '-1', cidrIpv4: '0.0.0.0/0', description: 'all outbound' },
      parent,
    );

    this.vpcId = vpc.id;
    this.registerOutputs({
      vpcId: this.vpcId,
      subnetIds: this.subnetIds,
      securityGroupId: this.securityGroupId,
    });
  }

  /** Opens one TCP port of every node to the allowed CIDR, and to nothing else. */
  allowFromUser(ruleName: string, port: number, description: string): aws.vpc.SecurityGroupIngressRule {
    return new aws.vpc.SecurityGroupIngressRule(
      `${this.name}-${ruleName}`,
      {
        securityGroupId: this.securityGroupId,
        cidrIpv4: this.allowedCidr,
        ipProtocol: 'tcp',
        fromPort: port,
        toPort: port,
        description,
      },
      { parent: this },
    );
  }
}
