// Runs the whole Pulumi program (index.ts) against pulumi.runtime.setMocks for project `smartmeter`,
// stack `local`, with the given `smartmeter:*` config. Every resource is recorded with its inputs, and
// every output the program reads is given a state (image digests, container exit codes, generated
// passwords, the simulation clock's anchor), so no Output is left unresolved. `call` throws: the local
// program makes no invokes.
import type * as pulumiType from '@pulumi/pulumi';

import { ClockInputs, createClock, SIMULATION_CLOCK_TYPE } from '../../components/simulation-clock';

export interface Recorded {
  readonly type: string;
  readonly name: string;
  /** The inputs with secrets unwrapped (to look inside them). */
  readonly inputs: Record<string, unknown>;
  /** The top-level input keys that reached the engine as secrets. */
  readonly secretKeys: string[];
  /** What the mock provider answered (inputs and outputs), secrets unwrapped. */
  readonly state: Record<string, unknown>;
}

// How the SDK marks a secret value on the wire (sdk/nodejs/runtime/rpc.ts `specialSigKey`).
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';
const isSecretValue = (v: unknown): v is { value: unknown } =>
  typeof v === 'object' && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;

function unwrap(value: unknown): unknown {
  if (isSecretValue(value)) return unwrap(value.value);
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

export interface ProgramRun {
  readonly pulumi: typeof pulumiType;
  readonly outputs: Record<string, unknown>;
  readonly resources: Recorded[];
}

function stateFor(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'random:index/randomPassword:RandomPassword':
      return { result: `Gen3rated${name.replace(/[^A-Za-z0-9]/g, '')}Pw` };
    case 'docker:index/image:Image':
      return { repoDigest: `sha256:${'ab'.repeat(32)}`, imageName: inputs.imageName };
    case 'docker:index/remoteImage:RemoteImage':
      return {
        imageId: `sha256:${Buffer.from(String(inputs.name)).toString('hex').padEnd(64, '0').slice(0, 64)}`,
      };
    case 'docker:index/container:Container':
      // Jobs ran to completion, with success.
      return { exitCode: 0 };
    case SIMULATION_CLOCK_TYPE:
      // What its provider's create does at the first deploy: anchored now.
      return { ...createClock(inputs as unknown as ClockInputs, Date.now() / 1000) };
    default:
      return {};
  }
}

/**
 * Loads a fresh copy of the program (jest.resetModules) under mocks with `config` (keys without the
 * `smartmeter:` prefix) and resolves its exports. Throws what the program throws (bad config).
 */
export async function runLocalProgram(config: Record<string, string>): Promise<ProgramRun> {
  jest.resetModules();
  const pulumi = await import('@pulumi/pulumi');
  const resources: Recorded[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const state = { ...args.inputs, ...stateFor(args.type, args.name, args.inputs) };
        resources.push({
          type: args.type,
          name: args.name,
          inputs: unwrap(args.inputs) as Record<string, unknown>,
          secretKeys: Object.keys(args.inputs).filter((k) => isSecretValue(args.inputs[k])),
          state: unwrap(state) as Record<string, unknown>,
        });
        return { id: `${args.name}-id`, state };
      },
      call: (args) => {
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    'smartmeter',
    'local',
    false,
  );
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries({ platform: 'local', ...config }).map(([k, v]) => [`smartmeter:${k}`, v]),
    ),
  );
  const program = (await import('../../index')) as Record<string, unknown>;
  await pulumi.runtime.disconnect(); // drains the registrations: `resources` is complete
  return { pulumi, outputs: program, resources };
}

/** The value of an Output (or a plain value). */
export function valueOf<T>(pulumi: typeof pulumiType, value: unknown): Promise<T> {
  if (!pulumi.Output.isInstance(value)) return Promise.resolve(value as T);
  return new Promise((resolve) => (value as pulumiType.Output<T>).apply((v) => resolve(v)));
}

export const containers = (run: ProgramRun) =>
  run.resources.filter((r) => r.type === 'docker:index/container:Container');

export const envOf = (r: Recorded) => (r.inputs.envs as string[] | undefined) ?? [];
