// Runs the Pulumi program itself (index.ts) under pulumi.runtime.setMocks and records every resource it
// registers: type, name, URN, inputs (resolved, secrets unwrapped) and the URNs it depends on (explicit
// dependsOn and property dependencies, as the engine would see them). The e2e harness creates the docker
// resources among them on a real engine; nothing about the stack is described anywhere else.
//
// The mocks answer what the real providers would: generated passwords are real random strings (they
// reach the real containers), an image's digest is its name (so a container's `image` is something the
// engine can run), a container's exit code is 0 (the harness checks the real one before dependents start).
// The stack's simulation clock is kept across runs of a stack, as the engine keeps it in the state.
import { randomBytes } from 'node:crypto';
import { hashSync } from 'bcryptjs';
import { isDeepStrictEqual } from 'node:util';
import type * as pulumiType from '@pulumi/pulumi';

import {
  ClockInputs,
  ClockState,
  clockChanges,
  createClock,
  reanchorClock,
  SIMULATION_CLOCK_TYPE,
} from '../../components/simulation-clock';

export interface Declared {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** URNs this resource depends on. */
  readonly dependencies: readonly string[];
  /** The mock's physical id (what other resources' inputs refer to, e.g. a Swarm secret id). */
  readonly id: string;
}

export interface ProgramRun {
  readonly stack: string;
  readonly resources: readonly Declared[];
  /** The stack outputs, resolved (secrets unwrapped: the test needs the generated passwords). */
  readonly outputs: Record<string, unknown>;
}

// How the SDK marks a secret on the wire (sdk/nodejs/runtime/rpc.ts `specialSigKey`).
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

function unwrap(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (record[SIG_KEY] === SECRET_SIG) return unwrap(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

function password(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join('');
}

/** The state a real provider would return, for the outputs the program reads. */
export type StateFor = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
) => Record<string, unknown>;

const dockerState: StateFor = (type, name, inputs) => {
  switch (type) {
    case 'random:index/randomPassword:RandomPassword': {
      const result = password(Number(inputs.length ?? 32));
      // The provider's bcrypt hash of it (Prometheus's basic auth checks the password against it).
      return { result, bcryptHash: hashSync(result, 10) };
    }
    case 'docker:index/image:Image':
      return { repoDigest: inputs.imageName, imageName: inputs.imageName };
    case 'docker:index/remoteImage:RemoteImage':
      return { imageId: inputs.name, repoDigest: inputs.name };
    case 'docker:index/container:Container':
      return { exitCode: 0 };
    case 'docker:index/secret:Secret':
    case 'docker:index/serviceConfig:ServiceConfig':
      // Unnamed Swarm secrets and configs get a fresh name from the provider.
      return { name: inputs.name ?? `${name}-${randomBytes(4).toString('hex')}` };
    case 'docker:index/network:Network':
      return { name: inputs.name ?? name };
    default:
      return {};
  }
};

// Per stack: created by the provider's own functions on the first run, then diffed and updated on later
// runs as the engine would (unchanged inputs: the same anchor, so the injectors are not replaced).
const clocks = new Map<string, ClockState>();
function keptClock(stack: string, inputs: ClockInputs): ClockState {
  const now = Date.now() / 1000;
  const old = clocks.get(stack);
  const clock = !old
    ? createClock(inputs, now)
    : clockChanges(old, inputs, now)
      ? reanchorClock(old, inputs, now)
      : old;
  clocks.set(stack, clock);
  return clock;
}

async function resolve(pulumi: typeof pulumiType, value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    return new Promise((done) => (value as pulumiType.Output<unknown>).apply((v) => done(v)));
  }
  return value;
}

/** Answers for other providers (AWS on the aws stack): resource states and invokes. */
export interface OtherProviders {
  /** Answers applied over the docker ones (e.g. a built image's real ID as its repoDigest). */
  readonly state?: StateFor;
  /**
   * The stack's state between runs: a resource declared again with the same inputs gets the outputs it
   * got before (a generated password stays the same), as Pulumi keeps them in the stack's state.
   */
  readonly memory?: Map<string, { inputs: Record<string, unknown>; state: Record<string, unknown> }>;
  readonly call?: (token: string, inputs: Record<string, unknown>) => Record<string, unknown> | undefined;
}

/**
 * The aws stack's other providers, answered by the aws mocks (tests/pulumi/aws-mocks.ts); docker and random
 * resources are left to the docker answers above. What the state keeps: a resource declared again with the
 * same inputs keeps its outputs in `kept` (the tls mocks would otherwise issue new keys and certificates on
 * every run, and replace what holds them); deleting an entry makes the next run issue that one anew.
 */
export function awsProviders(
  aws: pulumiType.runtime.Mocks,
  kept: Map<string, Record<string, unknown>>,
  memory: OtherProviders['memory'],
): OtherProviders {
  return {
    memory,
    state: (type, name, inputs) => {
      if (type.startsWith('docker:') || type.startsWith('random:')) return {};
      const key = `${type}::${name}::${JSON.stringify(inputs)}`;
      let state = kept.get(key);
      if (!state) {
        state = (aws.newResource({ type, name, inputs, custom: true }) as { state: Record<string, unknown> })
          .state;
        kept.set(key, state);
      }
      return state;
    },
    call: (token, inputs) => aws.call({ token, inputs }) as Record<string, unknown>,
  };
}

/**
 * Loads a fresh copy of the program (jest.resetModules) for `stack` with the given `smartmeter:*` config
 * (keys without the prefix).
 */
export async function runProgram(
  stack: string,
  config: Record<string, string>,
  others: OtherProviders = {},
): Promise<ProgramRun> {
  jest.resetModules();
  const pulumi = await import('@pulumi/pulumi');
  const { MockMonitor } = await import('@pulumi/pulumi/runtime/mocks');
  const { deserializeProperties } = await import('@pulumi/pulumi/runtime/rpc');
  const resources: Declared[] = [];

  // The mocks' newResource does not see dependencies: record them from the registration request.
  type Request = {
    getType(): string;
    getName(): string;
    getParent(): string;
    getObject(): unknown;
    getDependenciesList(): string[];
  };
  type Monitor = {
    newUrn(parent: string, type: string, name: string): string;
    registerResource(req: Request, callback: (err: unknown, res: unknown) => void): Promise<void>;
  };
  const proto = MockMonitor.prototype as unknown as Monitor;
  const original = proto.registerResource;
  const pendingIds = new Map<string, string>();
  proto.registerResource = async function (this: Monitor, req, callback) {
    const urn = this.newUrn(req.getParent(), req.getType(), req.getName());
    resources.push({
      urn,
      type: req.getType(),
      name: req.getName(),
      inputs: unwrap(deserializeProperties(req.getObject() as never)) as Record<string, unknown>,
      dependencies: [...new Set(req.getDependenciesList())],
      get id() {
        return pendingIds.get(urn) ?? '';
      },
    });
    return original.call(this, req, (err, res) => {
      const id = (res as { getId?: () => string } | undefined)?.getId?.();
      if (id) pendingIds.set(urn, id);
      callback(err, res);
    });
  };

  try {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          if (args.type === SIMULATION_CLOCK_TYPE) {
            return {
              id: `${args.name}-id`,
              state: { ...args.inputs, ...keptClock(stack, args.inputs as unknown as ClockInputs) },
            };
          }
          const key = `${args.type}::${args.name}`;
          const kept = others.memory?.get(key);
          const state =
            kept && isDeepStrictEqual(kept.inputs, args.inputs)
              ? kept.state
              : { ...args.inputs, ...dockerState(args.type, args.name, args.inputs) };
          others.memory?.set(key, { inputs: args.inputs, state });
          return {
            id: `${args.name}-id`,
            state: { ...state, ...others.state?.(args.type, args.name, args.inputs) },
          };
        },
        call: (args) => {
          const answer = others.call?.(args.token, args.inputs);
          if (!answer) throw new Error(`the e2e harness does not answer invoke ${args.token}`);
          return answer;
        },
      },
      'smartmeter',
      stack,
      false,
    );
    pulumi.runtime.setAllConfig(
      Object.fromEntries(Object.entries(config).map(([k, v]) => [`smartmeter:${k}`, v])),
    );
    // require, not import(): the program's module.exports exactly, what Pulumi takes as the outputs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require('../../index') as Record<string, unknown>;
    const outputs: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(program)) outputs[key] = unwrap(await resolve(pulumi, value));
    await pulumi.runtime.disconnect(); // drains the registrations: `resources` is complete
    return { stack, resources, outputs };
  } finally {
    proto.registerResource = original;
  }
}
