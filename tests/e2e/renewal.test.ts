// Certificate renewal on the aws stack, as `pulumi up` plans it (no Docker needed): the program runs twice
// under the swarm suite's mocks (tests/e2e/program.ts: the state keeps generated values and certificates),
// then once more with the NATS certificate re-issued, as `earlyRenewalHours` makes the tls provider do in a
// certificate's last 30 days. The harness's model of the provider's diff (plan.ts) says what changes.
import { awsMocks, stackFileConfig, TEST_SSH_KEY } from '../pulumi/aws-mocks';
import { describe as describeSteps, plan } from './plan';
import { awsProviders, ProgramRun, runProgram } from './program';
import { T } from './types';

const CONFIG = {
  ...stackFileConfig('Pulumi.aws.yaml'),
  allowedCidr: '203.0.113.7/32',
  sshPublicKey: TEST_SSH_KEY,
};
const NATS_CERT = 'tls:index/locallySignedCert:LocallySignedCert::aws-tls-nats::';

const memory: NonNullable<Parameters<typeof runProgram>[2]>['memory'] = new Map();
const kept = new Map<string, Record<string, unknown>>();
const aws = awsMocks([]);

function declare(): Promise<ProgramRun> {
  return runProgram('aws', CONFIG, awsProviders(aws, kept, memory));
}

test('a renewed NATS certificate replaces its config file and rolls the NATS members, one at a time', async () => {
  const first = await declare();
  const again = await declare();
  expect(describeSteps(plan(first.resources, again.resources))).toEqual([]);
  // The renewal: the tls provider issues a new certificate (same key, same CA).
  for (const key of [...kept.keys()]) if (key.startsWith(NATS_CERT)) kept.delete(key);
  const renewed = await declare();
  const steps = describeSteps(plan(again.resources, renewed.resources));
  expect(steps).toEqual([
    '+- nats-file-0 (data)',
    '~ nats-0 (taskSpec)',
    '~ nats-1 (taskSpec)',
    '~ nats-2 (taskSpec)',
  ]);
  // Swarm rolls each member stop-first and waits for it to run (its health check) before the next one.
  for (const r of renewed.resources.filter((x) => x.type === T.service && /^nats-\d$/.test(x.name))) {
    expect(r.inputs.updateConfig).toMatchObject({ parallelism: 1, order: 'stop-first' });
    expect(r.inputs.convergeConfig).toBeDefined();
  }
}, 120_000);
