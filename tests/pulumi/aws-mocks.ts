// Pulumi mocks for the AWS stack: every resource is recorded with its inputs, and the outputs the
// program reads (IPs, ARNs, the repository URL, the image digest, the docker host) are returned, so
// no Output is left unresolved. `call` answers only the invokes the program makes and throws on any
// other token, so nothing silently becomes undefined.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { parse as parseYaml } from 'yaml';

import { ClockInputs, createClock, SIMULATION_CLOCK_TYPE } from '../../components/simulation-clock';

export interface Recorded {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

export const ECR_PASSWORD = 'ecr-password-from-mock';
export const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

const CALLS: Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>> = {
  'aws:ec2/getAmi:getAmi': () => ({
    id: 'ami-0abcdef1234567890',
    imageId: 'ami-0abcdef1234567890',
    name: 'al2023-ami-2023.9.20251117.1-kernel-6.1-x86_64',
    architecture: 'x86_64',
  }),
  'aws:index/getAvailabilityZones:getAvailabilityZones': () => ({
    id: 'us-east-1',
    names: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    zoneIds: ['use1-az1', 'use1-az2', 'use1-az4'],
  }),
  'aws:ecr/getAuthorizationToken:getAuthorizationToken': (inputs) => ({
    id: String(inputs.registryId ?? '123456789012'),
    userName: 'AWS',
    password: ECR_PASSWORD,
    proxyEndpoint: `https://${REGISTRY}`,
    authorizationToken: Buffer.from(`AWS:${ECR_PASSWORD}`).toString('base64'),
    expiresAt: '2026-11-28T12:00:00Z',
    region: 'us-east-1',
  }),
};

function outputsFor(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  n: number,
): Record<string, unknown> {
  // A dynamic resource's type is pulumi-nodejs:dynamic/<module>:<name>.
  if (type === SIMULATION_CLOCK_TYPE)
    return { ...createClock(inputs as unknown as ClockInputs, Date.now() / 1000) };
  if (type.startsWith('pulumi-nodejs:dynamic')) return { dockerHost: `ssh://${String(inputs.target)}` };
  switch (type) {
    case 'aws:ec2/instance:Instance':
      return {
        privateIp: `10.42.${n % 16}.${10 + n}`,
        publicIp: `198.51.100.${n}`,
        arn: `arn:aws:ec2:us-east-1:123456789012:instance/i-${n}`,
      };
    case 'aws:ssm/parameter:Parameter':
      return { arn: `arn:aws:ssm:us-east-1:123456789012:parameter${String(inputs.name)}` };
    case 'aws:iam/role:Role':
    case 'aws:iam/instanceProfile:InstanceProfile':
      return { name: `${name}-${n}`, arn: `arn:aws:iam::123456789012:role/${name}` };
    case 'aws:ec2/keyPair:KeyPair':
      return { keyName: `${name}-${n}` };
    case 'aws:ecr/repository:Repository':
      return {
        repositoryUrl: `${REGISTRY}/${name}`,
        registryId: '123456789012',
        arn: `arn:aws:ecr:us-east-1:123456789012:repository/${name}`,
      };
    case 'docker:index/image:Image':
      return { repoDigest: `${String(inputs.imageName).split(':')[0]}@sha256:${'ab'.repeat(32)}` };
    case 'docker:index/secret:Secret':
    case 'docker:index/serviceConfig:ServiceConfig':
    case 'docker:index/network:Network':
      return { name: (inputs.name as string | undefined) ?? `${name}-${n}` };
    case 'random:index/randomPassword:RandomPassword':
      return { result: `generated-secret-${name}-${n}-Zq9` };
    default:
      return {};
  }
}

/** The mocks: record every resource, answer the program's invokes, throw on any other invoke. */
export function awsMocks(recorded: Recorded[]): pulumi.runtime.Mocks {
  return {
    newResource(args) {
      const n = recorded.length + 1;
      recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
      return {
        id: `${args.name}-id`,
        state: { ...args.inputs, ...outputsFor(args.type, args.name, args.inputs, n) },
      };
    },
    call(args) {
      const answer = CALLS[args.token];
      if (!answer) throw new Error(`unmocked invoke ${args.token}`);
      return answer(args.inputs);
    },
  };
}

/** Installs the mocks for project `smartmeter`, stack `aws`; returns the list that fills as resources register. */
export async function installAwsMocks(): Promise<Recorded[]> {
  const recorded: Recorded[] = [];
  await pulumi.runtime.setMocks(awsMocks(recorded), 'smartmeter', 'aws', false);
  return recorded;
}

export const TEST_SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1dW1teUtleUZvclRlc3RzT25seQ test@laptop';

export interface AwsProgramRun {
  readonly pulumi: typeof pulumi;
  readonly outputs: Record<string, unknown>;
  readonly resources: Recorded[];
}

/**
 * Loads a fresh copy of the whole program (index.ts) under the mocks, stack `aws`, with the stack's
 * Pulumi.aws.yaml settings plus `config` (keys without `smartmeter:`); resolves once every
 * registration has drained. Throws what the program throws.
 */
export async function runAwsProgram(config: Record<string, string> = {}): Promise<AwsProgramRun> {
  jest.resetModules();
  const fresh = (await import('@pulumi/pulumi')) as typeof pulumi;
  const resources: Recorded[] = [];
  await fresh.runtime.setMocks(awsMocks(resources), 'smartmeter', 'aws', false);
  const settings = {
    ...stackFileConfig('Pulumi.aws.yaml'),
    allowedCidr: '203.0.113.7/32',
    sshPublicKey: TEST_SSH_KEY,
    ...config,
  };
  fresh.runtime.setAllConfig(
    Object.fromEntries(Object.entries(settings).map(([k, v]) => [`smartmeter:${k}`, v])),
  );
  const outputs = (await import('../../index')) as Record<string, unknown>;
  await fresh.runtime.disconnect(); // drains the registrations: `resources` is complete
  return { pulumi: fresh, outputs, resources };
}

/** The `smartmeter:*` settings of a stack file, keys without the namespace. */
export function stackFileConfig(file: string): Record<string, string> {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', file), 'utf8');
  const entries = Object.entries((parseYaml(text).config ?? {}) as Record<string, unknown>);
  return Object.fromEntries(
    entries
      .filter(([k]) => k.startsWith('smartmeter:'))
      .map(([k, v]) => [k.slice('smartmeter:'.length), String(v)]),
  );
}

/** Resolves when every registration and invoke started so far (and any they started) has finished. */
export async function settle(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { getStore } = require('@pulumi/pulumi/runtime/state');
  for (;;) {
    const done = getStore().settings.rpcDone;
    await done;
    await new Promise((r) => setImmediate(r));
    if (getStore().settings.rpcDone === done) return;
  }
}

export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

export function ofType(recorded: readonly Recorded[], type: string): Recorded[] {
  return recorded.filter((r) => r.type === type);
}

/** Every string anywhere in a value (recorded inputs are plain JSON once resolved). */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

// How the mock monitor hands over a secret input: wrapped with Pulumi's secret signature.
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

/** True when a recorded input arrived as a Pulumi secret (encrypted in state). */
export function isSecretInput(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG
  );
}

/** The plain value inside a recorded secret input. */
export function secretValue(value: unknown): unknown {
  return isSecretInput(value) ? (value as { value: unknown }).value : value;
}
