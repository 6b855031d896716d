// The aws stack is configured the way Pulumi's AWS users configure it: the standard `aws:*` stack keys
// reach the AWS provider every AWS resource uses, the stack's tags are merged into aws:defaultTags, and
// the retired smartmeter:region stops the deployment with a message naming both keys. Under mocks.
import * as aws from '@pulumi/aws';

import { AwsProgramRun, isSecretInput, Recorded, runAwsProgram } from './aws-mocks';

const providers = (run: AwsProgramRun) => run.resources.filter((r) => r.type === 'pulumi:providers:aws');
const awsResources = (run: AwsProgramRun) => run.resources.filter((r) => r.type.startsWith('aws:'));
const uses = (r: Recorded, provider: Recorded) => r.provider?.endsWith(`::${provider.name}-id`) === true;

/**
 * Whether the provider applies default tags to a resource type: the SDK class of every taggable type
 * declares the `tagsAll` output (tags plus the provider's default tags), as its constructor shows.
 */
function taggable(type: string): boolean {
  const [, module, name] = /^aws:([^/]+)\/[^:]+:(.+)$/.exec(type) ?? [];
  const namespace = (module === 'index' ? aws : (aws as unknown as Record<string, unknown>)[module]) as
    Record<string, unknown> | undefined;
  const cls = namespace?.[name];
  if (typeof cls !== 'function') throw new Error(`no @pulumi/aws class for ${type}`);
  return cls.toString().includes('resourceInputs["tagsAll"]');
}

describe('with aws:region, aws:profile and other aws:* keys set', () => {
  let run: AwsProgramRun;
  const assumeRoles = [{ roleArn: 'arn:aws:iam::123456789012:role/deployer', sessionName: 'smartmeter' }];
  const endpoints = [{ ec2: 'http://127.0.0.1:5000', ssm: 'http://127.0.0.1:5000' }];
  beforeAll(async () => {
    run = await runAwsProgram(
      {},
      {
        region: 'eu-west-1',
        profile: 'smartmeter-test',
        assumeRoles: JSON.stringify(assumeRoles),
        endpoints: JSON.stringify(endpoints),
        skipCredentialsValidation: 'true',
        defaultTags: JSON.stringify({ tags: { team: 'data', 'cost-center': '42' } }),
      },
    );
  }, 60_000);

  test('they reach the one AWS provider, with their types', () => {
    expect(providers(run)).toHaveLength(1);
    const { inputs } = providers(run)[0];
    expect(inputs.region).toBe('eu-west-1');
    expect(inputs.profile).toBe('smartmeter-test');
    // The provider takes structured settings as JSON text.
    expect(JSON.parse(String(inputs.endpoints))).toEqual(endpoints);
    expect(inputs.skipCredentialsValidation).toBe('true');
    // Settings that may carry credentials are secret in the state.
    expect(isSecretInput(inputs.assumeRoles)).toBe(true);
    expect(JSON.parse(String((inputs.assumeRoles as { value: string }).value))).toEqual(assumeRoles);
  });

  test('every AWS resource goes through that provider', () => {
    const [provider] = providers(run);
    expect(awsResources(run).length).toBeGreaterThan(20);
    for (const r of awsResources(run))
      expect({ name: r.name, uses: uses(r, provider) }).toEqual({ name: r.name, uses: true });
  });

  test("the nodes' SSM calls go to the provider's region", () => {
    const nodes = run.resources.filter((r) => r.type === 'aws:ec2/instance:Instance');
    expect(nodes).toHaveLength(4);
    for (const n of nodes) expect(String(n.inputs.userData)).toContain("AWS_REGION='eu-west-1'");
  });

  test("the stack's tags are merged into the user's aws:defaultTags", () => {
    const tags = JSON.parse(String(providers(run)[0].inputs.defaultTags)).tags;
    expect(tags).toEqual({
      team: 'data',
      'cost-center': '42',
      'smartmeter:project': 'smartmeter',
      'pulumi:project': 'smartmeter',
      'pulumi:stack': 'aws',
    });
  });
});

describe('with the defaults of Pulumi.aws.yaml', () => {
  let run: AwsProgramRun;
  beforeAll(async () => {
    run = await runAwsProgram();
  }, 60_000);

  test("the region is the stack file's aws:region, and the default tags are the stack's", () => {
    const [provider] = providers(run);
    expect(provider.inputs.region).toBe('us-east-1');
    expect(JSON.parse(String(provider.inputs.defaultTags))).toEqual({
      tags: { 'smartmeter:project': 'smartmeter', 'pulumi:project': 'smartmeter', 'pulumi:stack': 'aws' },
    });
  });

  test('every taggable AWS resource is tagged with the project and the stack', () => {
    const [provider] = providers(run);
    const types = [...new Set(awsResources(run).map((r) => r.type))];
    const tagged = types.filter(taggable);
    // The check sees the types it must: what a user finds and costs.
    expect(tagged).toEqual(
      expect.arrayContaining([
        'aws:ec2/vpc:Vpc',
        'aws:ec2/subnet:Subnet',
        'aws:ec2/internetGateway:InternetGateway',
        'aws:ec2/routeTable:RouteTable',
        'aws:ec2/securityGroup:SecurityGroup',
        'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
        'aws:ec2/instance:Instance',
        'aws:ec2/keyPair:KeyPair',
        'aws:iam/role:Role',
        'aws:iam/instanceProfile:InstanceProfile',
        'aws:ssm/parameter:Parameter',
        'aws:ecr/repository:Repository',
      ]),
    );
    expect(types.filter((t) => !taggable(t)).sort()).toEqual([
      'aws:ec2/routeTableAssociation:RouteTableAssociation',
      'aws:iam/rolePolicy:RolePolicy',
    ]);
    // The provider's default tags reach every resource registered with it...
    for (const r of awsResources(run).filter((r) => taggable(r.type))) expect(uses(r, provider)).toBe(true);
    // ...but not the volumes an instance creates: those carry them explicitly.
    for (const n of run.resources.filter((r) => r.type === 'aws:ec2/instance:Instance')) {
      expect((n.inputs.rootBlockDevice as { tags: Record<string, string> }).tags).toEqual({
        'smartmeter:project': 'smartmeter',
        'pulumi:project': 'smartmeter',
        'pulumi:stack': 'aws',
        Name: n.name,
      });
    }
  });
});

describe('bad or retired AWS settings stop the deployment, naming the key', () => {
  test('smartmeter:region is retired in favour of aws:region, whatever aws:region says', async () => {
    for (const awsRegion of ['eu-west-1', 'us-east-1']) {
      await expect(runAwsProgram({ region: 'eu-west-1' }, { region: awsRegion })).rejects.toThrow(
        "smartmeter:region is no longer read: the region is the AWS provider's own aws:region key, as in " +
          'every Pulumi AWS program. Move it: pulumi config rm smartmeter:region && pulumi config set aws:region eu-west-1',
      );
    }
  }, 60_000);

  test.each([
    [{ regoin: 'eu-west-1' }, /aws:regoin is not a setting of the AWS provider \(allowed: aws:accessKey, /],
    [{ region: 'Europe' }, /aws:region must be an AWS region such as us-east-1, got "Europe"/],
    [{ assumeRoles: 'arn:aws:iam::1:role/x' }, /aws:assumeRoles must be a JSON or YAML value/],
    [{ defaultTags: '["team"]' }, /aws:defaultTags must be an object with a `tags` map/],
  ])(
    '%j',
    async (keys, message) => {
      await expect(runAwsProgram({}, keys)).rejects.toThrow(message);
    },
    60_000,
  );
});
