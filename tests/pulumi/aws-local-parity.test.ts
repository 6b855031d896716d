// The same tier code serves both stacks: run the whole program (index.ts) under mocks as the `aws` and
// as the `local` stack, and compare what the tiers declared. Only the platform differs.
import { AwsProgramRun, runAwsProgram } from './aws-mocks';
import { runLocalProgram } from './local-mocks';

const declared = (labels: unknown) =>
  (labels as { label: string; value: string }[]).find((l) => l.label === 'smartmeter.service')?.value;
const services = (run: AwsProgramRun) =>
  run.resources.filter((r) => r.type === 'docker:index/service:Service');

test('the same tier code serves both stacks: the same services are declared on each platform', async () => {
  const config = { injectors: '2', natsNodes: '3', cassandraNodes: '3' };
  const aws = await runAwsProgram(config);
  const onAws = new Set(services(aws).map((s) => declared(s.inputs.labels)));
  const local = await runLocalProgram(config);
  const onLocal = new Set(
    local.resources
      .filter((r) => r.type === 'docker:index/container:Container')
      .map((r) => declared(r.inputs.labels)),
  );
  expect([...onAws].sort()).toEqual([...onLocal].sort());
  expect(onAws.size).toBe(12);
  // And the same tier components, whichever platform sits under them.
  const tiers = (resources: { type: string }[]) =>
    resources
      .map((r) => r.type)
      .filter(
        (t) =>
          t.startsWith('smartmeter:') &&
          !t.startsWith('smartmeter:platform:') &&
          !t.startsWith('smartmeter:aws:'),
      )
      .sort();
  expect(tiers(aws.resources)).toEqual(tiers(local.resources));
}, 60_000);
