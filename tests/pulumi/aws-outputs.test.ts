// Stack outputs are only what the stack has: Pulumi warns on every `up` about an output whose value is
// undefined, so a tier that is off, or a port the stack keeps inside the network, has no output at all.
import { runAwsProgram } from './aws-mocks';
import { runLocalProgram } from './local-mocks';

/**
 * The program's module.exports, what Pulumi takes as the outputs. local-mocks loads the program with
 * `import()`, whose CommonJS interop adds module.exports itself as `default`.
 */
const exported = (outputs: Record<string, unknown>) =>
  ('default' in outputs ? outputs.default : outputs) as Record<string, unknown>;

const undefinedOutputs = (outputs: Record<string, unknown>) =>
  Object.entries(outputs)
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);

test('the aws stack exports what it has, and nothing undefined', async () => {
  const { outputs } = await runAwsProgram();
  expect(undefinedOutputs(outputs)).toEqual([]);
  // NATS and Cassandra stay inside the swarm: no endpoint, no cqlsh command; their credentials stay.
  expect(Object.keys(outputs).sort()).toEqual([
    'caCertificate',
    'cassandraAdminPassword',
    'cassandraAdminUser',
    'cassandraClientCertificate',
    'cassandraClientKey',
    'grafanaAdminPassword',
    'grafanaAdminUser',
    'grafanaUrl',
    'natsPassword',
    'natsUser',
    'platformName',
    'prometheusPassword',
    'prometheusUrl',
    'prometheusUser',
    'simulationClock',
  ]);
}, 60_000);

test('the local stack exports everything it publishes, and nothing undefined', async () => {
  const outputs = exported((await runLocalProgram({})).outputs);
  expect(undefinedOutputs(outputs)).toEqual([]);
  expect(Object.keys(outputs).sort()).toEqual([
    'cassandraAdminPassword',
    'cassandraAdminUser',
    'cassandraEndpoint',
    'cqlsh',
    'grafanaAdminPassword',
    'grafanaAdminUser',
    'grafanaUrl',
    'natsEndpoint',
    'natsMonitoringUrl',
    'natsPassword',
    'natsUser',
    'platformName',
    'prometheusUrl',
    'simulationClock',
  ]);
}, 60_000);

test.each([
  ['local', { tiers: 'messaging,storage,streaming', grafanaPort: '0' }],
  ['aws', { tiers: 'messaging,storage,streaming' }],
  ['aws', { tiers: 'metrics', prometheusPort: '0' }],
])(
  'the %s stack with %j: no undefined output',
  async (stack, config) => {
    const outputs =
      stack === 'aws'
        ? (await runAwsProgram(config)).outputs
        : exported((await runLocalProgram(config)).outputs);
    expect(undefinedOutputs(outputs)).toEqual([]);
    expect(outputs.platformName).toBe(stack);
    if (!config.tiers.includes('metrics')) expect(outputs.grafanaUrl).toBeUndefined();
    if (config.tiers === 'metrics') expect(outputs).not.toHaveProperty('natsUser');
  },
  60_000,
);
