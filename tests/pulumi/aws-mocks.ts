// Pulumi mocks for the AWS stack: every resource is recorded with its inputs (and its provider), and
// the outputs the program reads (IPs, ARNs, the repository URL, the image digest, the docker host, the
// TLS keys and certificates) are returned, so no Output is left unresolved. `call` answers only the
// invokes the program makes and throws on any other token, so nothing silently becomes undefined.
// The TLS resources get real keys and certificates (node:crypto and the `openssl` CLI, as the tls
// provider would make them): the e2e suite serves HTTPS with them.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { hashSync } from 'bcryptjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { parse as parseYaml } from 'yaml';

import { ClockInputs, createClock, SIMULATION_CLOCK_TYPE } from '../../components/simulation-clock';

export interface Recorded {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** The provider reference (`<urn>::<id>`) the resource was registered with, if explicit. */
  readonly provider?: string;
  /** What the mocks answered (inputs and outputs): the issued certificates' PEM, for instance. */
  state?: Record<string, unknown>;
}

export const ECR_PASSWORD = 'ecr-password-from-mock';
export const REGISTRY = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

type Call = (inputs: Record<string, unknown>, provider: Recorded | undefined) => Record<string, unknown>;
const CALLS: Record<string, Call> = {
  // The region the provider was configured with, as the real provider answers; its own default otherwise.
  'aws:index/getRegion:getRegion': (_inputs, provider) => {
    const region = String(provider?.inputs.region ?? 'us-east-1');
    return { id: region, name: region, region, endpoint: `ec2.${region}.amazonaws.com`, description: region };
  },
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
  if (type.startsWith('tls:')) return tlsOutputs(type, inputs);
  switch (type) {
    case 'aws:ec2/instance:Instance':
      return {
        privateIp: `10.42.${n % 16}.${10 + n}`,
        publicIp: `198.51.100.${n}`,
        publicDns: `ec2-198-51-100-${n}.compute-1.amazonaws.com`,
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
    case 'random:index/randomPassword:RandomPassword': {
      const result = `generated-secret-${name}-${n}-Zq9`;
      // A real hash, as the provider's (cost 4: these are tests), so a check can verify it.
      return { result, bcryptHash: hashSync(result, 4) };
    }
    default:
      return {};
  }
}

/** The mocks: record every resource, answer the program's invokes, throw on any other invoke. */
export function awsMocks(recorded: Recorded[]): pulumi.runtime.Mocks {
  return {
    newResource(args) {
      const n = recorded.length + 1;
      const entry: Recorded = {
        type: args.type,
        name: args.name,
        inputs: args.inputs,
        provider: args.provider,
      };
      recorded.push(entry);
      const state = { ...args.inputs, ...outputsFor(args.type, args.name, args.inputs, n) };
      entry.state = state;
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      const answer = CALLS[args.token];
      if (!answer) throw new Error(`unmocked invoke ${args.token}`);
      return answer(args.inputs, providerOf(recorded, args.provider));
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

/** The recorded provider a `<urn>::<id>` reference points at (the mocks' ids are `<name>-id`). */
function providerOf(recorded: readonly Recorded[], ref: string | undefined): Recorded | undefined {
  const id = ref?.split('::').pop();
  return recorded.find((r) => r.type.startsWith('pulumi:providers:') && `${r.name}-id` === id);
}

/**
 * Loads a fresh copy of the whole program (index.ts) under the mocks, stack `aws`, with the stack's
 * Pulumi.aws.yaml settings plus `config` (keys without `smartmeter:`) and `awsKeys` (the `aws:*` keys,
 * without `aws:`); resolves once every registration has drained. Throws what the program throws.
 * `outputs` is the program's module.exports: what Pulumi takes as the stack outputs.
 */
export async function runAwsProgram(
  config: Record<string, string> = {},
  awsKeys: Record<string, string> = {},
): Promise<AwsProgramRun> {
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
  fresh.runtime.setAllConfig({
    ...Object.fromEntries(Object.entries(settings).map(([k, v]) => [`smartmeter:${k}`, v])),
    ...Object.fromEntries(
      Object.entries({ ...stackFileConfig('Pulumi.aws.yaml', 'aws'), ...awsKeys }).map(([k, v]) => [
        `aws:${k}`,
        v,
      ]),
    ),
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const outputs = require('../../index') as Record<string, unknown>;
  await fresh.runtime.disconnect(); // drains the registrations: `resources` is complete
  return { pulumi: fresh, outputs, resources };
}

/** The `<namespace>:*` settings of a stack file, keys without the namespace. */
export function stackFileConfig(file: string, namespace = 'smartmeter'): Record<string, string> {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', file), 'utf8');
  const entries = Object.entries((parseYaml(text).config ?? {}) as Record<string, unknown>);
  return Object.fromEntries(
    entries
      .filter(([k]) => k.startsWith(`${namespace}:`))
      .map(([k, v]) => [k.slice(namespace.length + 1), typeof v === 'string' ? v : JSON.stringify(v)]),
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

/** What the suites read of a swarm service's container spec. */
export interface ContainerSpec {
  env?: Record<string, string>;
  args?: string[];
  commands?: string[];
  healthcheck?: { tests: string[] };
  secrets?: { secretId: string; fileName: string }[];
  configs?: { configId: string; fileName: string }[];
}
export const swarmServices = (run: AwsProgramRun) => ofType(run.resources, 'docker:index/service:Service');
export const swarmService = (run: AwsProgramRun, name: string) =>
  swarmServices(run).find((s) => s.name === name) as Recorded;
export const containerSpec = (s: Recorded) =>
  (s.inputs.taskSpec as { containerSpec: ContainerSpec }).containerSpec;
/** A docker config's or secret's `data` (base64, secret or not), as text. */
export const decodeData = (data: unknown) =>
  Buffer.from(String(secretValue(data)), 'base64').toString('utf8');

/**
 * Per swarm service, everything it is given as one text: its inputs and the decoded docker secrets it mounts
 * (what a test searches for a credential the service should or should not hold).
 */
export function serviceHoldings(run: AwsProgramRun): Map<string, string> {
  const decoded = new Map(
    ofType(run.resources, 'docker:index/secret:Secret').map((s) => [
      `${s.name}-id`,
      decodeData(s.inputs.data),
    ]),
  );
  return new Map(
    swarmServices(run).map((s) => {
      const files = (containerSpec(s).secrets ?? []).map((f) => decoded.get(f.secretId));
      return [s.name, JSON.stringify({ ...s.inputs, files })];
    }),
  );
}

/** The files a service's containers see, by path: configs and secrets, decoded. */
export function filesOf(run: AwsProgramRun, s: Recorded): Record<string, { text: string; secret: boolean }> {
  const files: Record<string, { text: string; secret: boolean }> = {};
  for (const c of containerSpec(s).configs ?? []) {
    const config = run.resources.find((r) => `${r.name}-id` === c.configId) as Recorded;
    files[c.fileName] = { text: decodeData(config.inputs.data), secret: false };
  }
  for (const c of containerSpec(s).secrets ?? []) {
    const secret = run.resources.find((r) => `${r.name}-id` === c.secretId) as Recorded;
    files[c.fileName] = { text: decodeData(secret.inputs.data), secret: isSecretInput(secret.inputs.data) };
  }
  return files;
}

/**
 * The availability zone a pinned swarm service runs in, followed through the resources as Swarm and EC2
 * would: its placement's slot label, the worker whose user data sets that label, that worker's subnet.
 */
export function zoneOfService(recorded: readonly Recorded[], service: string): string {
  const swarmService = recorded.find((r) => r.type === 'docker:index/service:Service' && r.name === service);
  const constraints = (swarmService?.inputs.taskSpec as { placement: { constraints: string[] } } | undefined)
    ?.placement.constraints;
  const slot = /^engine\.labels\.smartmeter\.slot == (\d+)$/.exec(constraints?.[1] ?? '')?.[1];
  if (slot === undefined) throw new Error(`service ${service} is not pinned to a worker slot`);
  const workers = ofType(recorded, 'aws:ec2/instance:Instance').filter(
    (i) =>
      (i.inputs.tags as Record<string, string>)['smartmeter:swarm-role'] === 'worker' &&
      String(i.inputs.userData).includes(`NODE_SLOT='${slot}'`),
  );
  if (workers.length !== 1)
    throw new Error(`${workers.length} workers carry the label smartmeter.slot=${slot}`);
  const subnet = ofType(recorded, 'aws:ec2/subnet:Subnet').find(
    (s) => `${s.name}-id` === workers[0].inputs.subnetId,
  );
  return String(subnet?.inputs.availabilityZone);
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

// --- TLS: what the tls provider returns, made for real ---

function plain(value: unknown): string {
  return String(secretValue(value));
}

function openssl(args: string[], files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartmeter-tls-'));
  try {
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function subject(inputs: Record<string, unknown>): string {
  const s = (inputs.subject ?? {}) as { commonName?: string; organization?: string };
  return `${s.organization ? `/O=${s.organization}` : ''}/CN=${s.commonName ?? 'unnamed'}`;
}

const days = (inputs: Record<string, unknown>) => String(Math.ceil(Number(inputs.validityPeriodHours) / 24));

/** The outputs of the tls provider's resources the program reads: PEMs that openssl and TLS servers accept. */
export function tlsOutputs(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'tls:index/privateKey:PrivateKey': {
      if (inputs.algorithm !== 'ECDSA' || inputs.ecdsaCurve !== 'P256')
        throw new Error(`the tls mock makes ECDSA P256 keys, not ${String(inputs.algorithm)}`);
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return {
        privateKeyPem: privateKey.export({ type: 'sec1', format: 'pem' }),
        privateKeyPemPkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }),
      };
    }
    case 'tls:index/selfSignedCert:SelfSignedCert': {
      if (inputs.isCaCertificate !== true)
        throw new Error('the tls mock makes self-signed CA certificates only');
      const certPem = openssl(
        [
          'req',
          '-x509',
          '-new',
          '-key',
          'ca.key',
          '-subj',
          subject(inputs),
          '-days',
          days(inputs),
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign',
        ],
        { 'ca.key': plain(inputs.privateKeyPem) },
      );
      return { certPem };
    }
    case 'tls:index/certRequest:CertRequest': {
      const names = [
        ...((inputs.dnsNames as string[] | undefined) ?? []).map((d) => `DNS:${d}`),
        ...((inputs.ipAddresses as string[] | undefined) ?? []).map((ip) => `IP:${ip}`),
      ];
      const certRequestPem = openssl(
        [
          'req',
          '-new',
          '-key',
          'server.key',
          '-subj',
          subject(inputs),
          ...(names.length ? ['-addext', `subjectAltName=${names.join(',')}`] : []),
        ],
        { 'server.key': plain(inputs.privateKeyPem) },
      );
      return { certRequestPem };
    }
    case 'tls:index/locallySignedCert:LocallySignedCert': {
      const uses = (inputs.allowedUses as string[] | undefined) ?? [];
      const keyUsage = [
        ...(uses.includes('digital_signature') ? ['digitalSignature'] : []),
        ...(uses.includes('key_encipherment') ? ['keyEncipherment'] : []),
      ];
      const ext = [
        'basicConstraints=CA:FALSE',
        ...(keyUsage.length ? [`keyUsage=critical,${keyUsage.join(',')}`] : []),
        ...(uses.some((u) => u === 'server_auth' || u === 'client_auth')
          ? [
              `extendedKeyUsage=${[
                ...(uses.includes('server_auth') ? ['serverAuth'] : []),
                ...(uses.includes('client_auth') ? ['clientAuth'] : []),
              ].join(',')}`,
            ]
          : []),
      ].join('\n');
      const certPem = openssl(
        [
          'x509',
          '-req',
          '-in',
          'server.csr',
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-days',
          days(inputs),
          '-set_serial',
          `0x${randomBytes(16).toString('hex')}`,
          '-copy_extensions',
          'copyall',
          '-extfile',
          'ext.cnf',
        ],
        {
          'server.csr': plain(inputs.certRequestPem),
          'ca.crt': plain(inputs.caCertPem),
          'ca.key': plain(inputs.caPrivateKeyPem),
          'ext.cnf': `${ext}\n`,
        },
      );
      return { certPem, readyForRenewal: false };
    }
    default:
      throw new Error(`the tls mock does not know ${type}`);
  }
}
