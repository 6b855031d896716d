// The AWS network and Swarm machines, built against Pulumi mocks (no AWS account is involved):
// node counts follow the config, nothing admits the world, every instance requires IMDSv2 and
// encrypts its root volume, and no join token or secret reaches user data or state.
import { SwarmCluster } from '../../components/platforms/aws/cluster';
import { SwarmNetwork } from '../../components/platforms/aws/network';
import { installAwsMocks, isSecretInput, ofType, Recorded, secretValue, settle, valueOf } from './aws-mocks';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1dW1teUtleUZvclRlc3RzT25seQ test@laptop';
let recorded: Recorded[];

beforeAll(async () => {
  recorded = await installAwsMocks();
});

async function build(managers: 1 | 3, workers: number) {
  recorded.length = 0;
  const net = new SwarmNetwork('t', {
    vpcCidr: '10.42.0.0/16',
    availabilityZones: 2,
    allowedCidr: '203.0.113.7/32',
  });
  const cluster = new SwarmCluster('t', {
    region: 'us-east-1',
    subnetIds: net.subnetIds,
    securityGroupId: net.securityGroupId,
    managers,
    workers,
    managerInstanceType: 't3.medium',
    workerInstanceType: 't3.large',
    rootVolumeGiB: 30,
    sshPublicKey: KEY,
    parameterPrefix: '/smartmeter/aws/swarm',
  });
  await valueOf(cluster.managerPublicIp);
  await settle();
  return { net, cluster };
}

const instances = () => ofType(recorded, 'aws:ec2/instance:Instance');
const tag = (r: Recorded) => (r.inputs.tags as Record<string, string>)['smartmeter:swarm-role'];

describe.each([
  [1, 3],
  [3, 2],
  [1, 5],
] as const)('%i manager(s) and %i workers', (managers, workers) => {
  beforeAll(() => build(managers, workers));

  test('one instance per node, one of them creates the swarm', () => {
    expect(instances().map(tag).sort()).toEqual(
      ['init', ...Array(managers - 1).fill('manager'), ...Array(workers).fill('worker')].sort(),
    );
  });

  test('every instance requires IMDSv2, encrypts its root volume and uses the looked-up AMI', () => {
    for (const i of instances()) {
      expect(i.inputs.metadataOptions).toMatchObject({ httpTokens: 'required', httpPutResponseHopLimit: 1 });
      expect(i.inputs.rootBlockDevice).toMatchObject({ encrypted: true });
      expect(i.inputs.ami).toBe('ami-0abcdef1234567890');
    }
  });

  test('nodes other than the first join the first manager by its private IP, spread over the subnets', () => {
    const first = instances().find((i) => tag(i) === 'init')!;
    expect(first.inputs.userData).toContain(`MANAGER_ADDR=''`);
    const others = instances().filter((i) => i !== first);
    for (const o of others) expect(o.inputs.userData).toMatch(/MANAGER_ADDR='10\.42\.\d+\.\d+'/);
    expect(new Set(instances().map((i) => i.inputs.subnetId)).size).toBe(2);
  });
});

describe('network and security', () => {
  beforeAll(() => build(3, 3));

  test('a VPC with public subnets in two zones, an internet gateway and a default route', () => {
    const subnets = ofType(recorded, 'aws:ec2/subnet:Subnet');
    expect(subnets.map((s) => s.inputs.availabilityZone)).toEqual(['us-east-1a', 'us-east-1b']);
    expect(subnets.map((s) => s.inputs.cidrBlock)).toEqual(['10.42.0.0/20', '10.42.16.0/20']);
    expect(subnets.every((s) => s.inputs.mapPublicIpOnLaunch === true)).toBe(true);
    expect(ofType(recorded, 'aws:ec2/internetGateway:InternetGateway')).toHaveLength(1);
    expect(ofType(recorded, 'aws:ec2/routeTable:RouteTable')[0].inputs.routes).toEqual([
      expect.objectContaining({ cidrBlock: '0.0.0.0/0', gatewayId: 't-igw-id' }),
    ]);
    expect(ofType(recorded, 'aws:ec2/routeTableAssociation:RouteTableAssociation')).toHaveLength(2);
  });

  test('no security group admits 0.0.0.0/0 or ::/0; outside traffic comes only from the allowed CIDR', () => {
    const ingress = [
      ...ofType(recorded, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').map((r) => r.inputs),
      ...ofType(recorded, 'aws:ec2/securityGroupRule:SecurityGroupRule')
        .filter((r) => r.inputs.type === 'ingress')
        .map((r) => r.inputs),
      ...ofType(recorded, 'aws:ec2/securityGroup:SecurityGroup').flatMap(
        (g) => (g.inputs.ingress as Record<string, unknown>[] | undefined) ?? [],
      ),
    ];
    expect(ingress.length).toBeGreaterThan(0);
    for (const rule of ingress) {
      const sources = [
        rule.cidrIpv4,
        rule.cidrIpv6,
        ...((rule.cidrBlocks as string[]) ?? []),
        ...((rule.ipv6CidrBlocks as string[]) ?? []),
      ];
      expect(sources).not.toContain('0.0.0.0/0');
      expect(sources).not.toContain('::/0');
      // Each rule names exactly one source: the cluster's own group or the allowed CIDR.
      expect(rule.referencedSecurityGroupId ?? rule.cidrIpv4).toBeDefined();
      if (rule.cidrIpv4 !== undefined) expect(rule.cidrIpv4).toBe('203.0.113.7/32');
    }
  });

  test('Swarm ports (and ESP for the encrypted overlay) are open only between cluster members', () => {
    const internal = ofType(recorded, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule')
      .map((r) => r.inputs)
      .filter((r) => r.referencedSecurityGroupId !== undefined);
    expect(internal.map((r) => `${r.ipProtocol}/${r.fromPort ?? '-'}`).sort()).toEqual([
      '50/-',
      'tcp/2377',
      'tcp/7946',
      'udp/4789',
      'udp/7946',
    ]);
    for (const r of internal) expect(r.referencedSecurityGroupId).toBe(r.securityGroupId);
    const fromUser = ofType(recorded, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').filter(
      (r) => r.inputs.cidrIpv4 !== undefined,
    );
    expect(fromUser.map((r) => r.inputs.toPort)).toEqual([22]);
  });

  test('join tokens: SSM SecureStrings holding a write-only placeholder; the role reaches only them', () => {
    const params = ofType(recorded, 'aws:ssm/parameter:Parameter');
    expect(params.map((p) => p.inputs.name).sort()).toEqual([
      '/smartmeter/aws/swarm/manager-token',
      '/smartmeter/aws/swarm/worker-token',
    ]);
    for (const p of params) {
      expect(p.inputs.type).toBe('SecureString');
      expect(isSecretInput(p.inputs.valueWo)).toBe(true);
      expect(secretValue(p.inputs.valueWo)).toBe('pending');
      expect(p.inputs.value).toBeUndefined();
    }
    const policy = JSON.parse(String(ofType(recorded, 'aws:iam/rolePolicy:RolePolicy')[0].inputs.policy));
    expect(policy.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['ssm:GetParameter', 'ssm:PutParameter'],
        Resource: [
          'arn:aws:ssm:us-east-1:123456789012:parameter/smartmeter/aws/swarm/manager-token',
          'arn:aws:ssm:us-east-1:123456789012:parameter/smartmeter/aws/swarm/worker-token',
        ],
      },
    ]);
    // User data names where the tokens are, never a token (Swarm tokens look like SWMTKN-1-…).
    for (const i of instances()) {
      expect(i.inputs.userData).toContain(`WORKER_TOKEN_PARAM='/smartmeter/aws/swarm/worker-token'`);
      expect(i.inputs.userData).not.toMatch(/SWMTKN/);
    }
  });

  test('the key pair carries the configured public key', () => {
    expect(ofType(recorded, 'aws:ec2/keyPair:KeyPair')[0].inputs.publicKey).toBe(KEY);
  });
});
