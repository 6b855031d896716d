// The Prometheus configurations the stacks generate (components/tiers/metrics.ts) and the locally built
// image's default, checked by the promtool of the release the stack deploys (scripts/prometheus.sh), so a
// setting that release rejects fails here rather than in a container on `pulumi up`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAwsProgram } from '../pulumi/aws-mocks';
import { containers, runLocalProgram } from '../pulumi/local-mocks';

const ROOT = join(__dirname, '../..');
const PATH = '/etc/prometheus/prometheus.yml';
let promtool: string;
let dir: string;

beforeAll(() => {
  // Built once into the cache (the tests' Prometheus comes from the same build).
  const built = execFileSync('bash', [join(ROOT, 'scripts/prometheus.sh')], { encoding: 'utf8' });
  promtool = join(built.trim().split('\n').pop() as string, 'promtool');
  dir = mkdtempSync(join(tmpdir(), 'prometheus-config-'));
}, 900_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** promtool's verdict on a configuration: its output, or the error it exits with. */
function check(name: string, yaml: string): string {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, yaml);
  try {
    return execFileSync(promtool, ['check', 'config', file], { encoding: 'utf8' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool rejects the ${name} configuration:\n${e.stdout ?? ''}${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

test('the local stack’s prometheus.yml is valid for the deployed Prometheus', async () => {
  const run = await runLocalProgram({ injectors: '2' });
  const prometheus = containers(run).find((c) => c.name === 'prometheus-0')!;
  const uploads = prometheus.inputs.uploads as { file: string; content: string }[];
  const yaml = uploads.find((u) => u.file === PATH)!.content;
  expect(check('local', yaml)).toContain('SUCCESS');
});

test('the aws stack’s prometheus.yml (Swarm DNS discovery) is valid for the deployed Prometheus', async () => {
  const run = await runAwsProgram();
  const file = run.resources.find(
    (r) => r.type === 'docker:index/serviceConfig:ServiceConfig' && r.name === 'prometheus-file-0',
  )!;
  const yaml = Buffer.from(String(file.inputs.data), 'base64').toString();
  expect(yaml).toMatch(/dns_sd_configs/);
  expect(check('aws', yaml)).toContain('SUCCESS');
});

test('the locally built image’s default prometheus.yml is valid', () => {
  const yaml = readFileSync(join(ROOT, 'scripts/images/prometheus/prometheus.yml'), 'utf8');
  expect(check('image-default', yaml)).toContain('SUCCESS');
});
