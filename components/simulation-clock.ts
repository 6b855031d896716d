// The stack's simulated clock: one anchor, a real instant and the simulated time at that instant, handed to
// every injector (INJECT_CLOCK_ANCHOR, INJECT_START; services/src/simulator/schedule.ts), so that all of
// them, whenever and wherever they start, read the same simulated time at the same real instant.
//
// The anchor is chosen at the first deploy and kept in the stack's state by a SimulationClock resource, a
// pulumi.dynamic.Resource whose create records the instant it runs and whose diff reports no change on
// later `up`s (nor after a refresh: it has no read). Why a dynamic resource: the program itself cannot
// remember anything between runs (Date.now() in it would move the anchor on every `up`), and the one
// ready-made resource for "the instant I was created", @pulumiverse/time's Static, is a bridged provider
// whose plugin must be downloaded and pinned; a dynamic resource runs in the program's own Node process.
// Its provider is serialised into the state by Pulumi, so it and the functions it calls use nothing but
// their arguments and JavaScript's built-ins.
//
// The rule that keeps simulated time going forward: the clock only changes when its inputs do, and then it
// is re-anchored at the instant of that `up` from the simulated time the old clock reads there:
//   - a new acceleration continues from that simulated time; a lower one also jumps ahead by what the old,
//     faster clock gains over REANCHOR_SLACK_S real seconds, so that an injector still running the old
//     clock while it is being replaced has not published anything later than its successor will (while
//     old and new injectors overlap, the stream job may still take the slower ones' readings as late);
//   - a new `smartmeter:simulationStart` jumps to it, and is refused if it lies before that simulated time;
//     removing the key keeps the clock as it is.
// `smartmeter:clockAnchor` replaces all of this: the keys alone then say the clock, no SimulationClock is
// declared, and keeping time going forward is up to whoever sets them.
import * as pulumi from '@pulumi/pulumi';

import type { StackConfig } from './config';

/** The resource's type token (pulumi-nodejs:dynamic/<module>:<type>). */
export const SIMULATION_CLOCK_TYPE = 'pulumi-nodejs:dynamic/smartmeter:SimulationClock';

/** Real seconds allowed for replacing injectors when the acceleration is lowered (see above). */
export const REANCHOR_SLACK_S = 600;

export interface ClockInputs {
  /** Simulated seconds per real second of every injector. */
  readonly acceleration: number;
  /** `smartmeter:simulationStart`, epoch seconds: the simulated time at the anchor (default: the anchor). */
  readonly simulationStart?: number;
}

/** The state: the inputs it was last made from, and the anchor. */
export interface ClockState extends ClockInputs {
  /** Real epoch seconds at which the simulated clock read `start`. */
  readonly anchor: number;
  /** Simulated epoch seconds at the anchor. */
  readonly start: number;
}

/** The first deploy: the clock is anchored now, at `simulationStart` or else at the real time. */
export function createClock(inputs: ClockInputs, now: number): ClockState {
  const anchor = Math.floor(now);
  return { ...inputs, anchor, start: inputs.simulationStart ?? anchor };
}

/** Whether a later `up` changes the clock; throws if it would send simulated time back. */
export function clockChanges(olds: ClockState, news: ClockInputs, now: number): boolean {
  const startChanged = news.simulationStart !== undefined && news.simulationStart !== olds.simulationStart;
  if (startChanged) {
    const current = olds.start + (Math.floor(now) - olds.anchor) * olds.acceleration;
    if (news.simulationStart! < current) {
      const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
      throw new Error(
        `smartmeter:simulationStart ${iso(news.simulationStart!)} is before the stack's simulated time now ` +
          `(${iso(current)}): simulated time never goes backwards (the stream job would drop the readings as ` +
          `late). Set a later time, or remove the key to keep the clock as it is.`,
      );
    }
  }
  return startChanged || news.acceleration !== olds.acceleration;
}

/** The clock after a change (clockChanges was true): re-anchored now, never behind the old one. */
export function reanchorClock(olds: ClockState, news: ClockInputs, now: number): ClockState {
  const anchor = Math.floor(now);
  let start = Math.ceil(olds.start + (anchor - olds.anchor) * olds.acceleration);
  if (news.acceleration < olds.acceleration) {
    start += Math.ceil(REANCHOR_SLACK_S * (olds.acceleration - news.acceleration));
  }
  if (news.simulationStart !== undefined && news.simulationStart !== olds.simulationStart) {
    start = Math.max(start, news.simulationStart);
  }
  return { ...news, anchor, start };
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: ClockInputs) {
    const outs = createClock(inputs, Date.now() / 1000);
    return { id: String(outs.anchor), outs };
  },
  async diff(_id: string, olds: ClockState, news: ClockInputs) {
    return { changes: clockChanges(olds, news, Date.now() / 1000) };
  },
  async update(_id: string, olds: ClockState, news: ClockInputs) {
    return { outs: reanchorClock(olds, news, Date.now() / 1000) };
  },
};

export interface SimulationClockArgs {
  readonly acceleration: pulumi.Input<number>;
  readonly simulationStart?: pulumi.Input<number>;
}

export class SimulationClock extends pulumi.dynamic.Resource {
  // `declare`: a class field would overwrite the output the base constructor set (ES2022 class fields).
  declare public readonly anchor: pulumi.Output<number>;
  declare public readonly start: pulumi.Output<number>;

  constructor(name: string, args: SimulationClockArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      { ...args, anchor: undefined, start: undefined },
      opts,
      'smartmeter',
      'SimulationClock',
    );
  }
}

/** The clock as the injectors' environment: epoch seconds, the same for every replica. */
export interface InjectorClock {
  readonly INJECT_CLOCK_ANCHOR: pulumi.Input<string>;
  readonly INJECT_START: pulumi.Input<string>;
  readonly INJECT_ACCELERATION: string;
}

/** The stack's clock: `smartmeter:clockAnchor` if set, else the SimulationClock kept in the state. */
export function stackClock(
  config: StackConfig,
  acceleration: number,
  opts: pulumi.CustomResourceOptions,
): InjectorClock {
  const { anchor, simulationStart } = config.clock;
  if (anchor !== undefined) {
    return {
      INJECT_CLOCK_ANCHOR: String(anchor),
      INJECT_START: String(simulationStart ?? anchor),
      INJECT_ACCELERATION: String(acceleration),
    };
  }
  const clock = new SimulationClock('simulation-clock', { acceleration, simulationStart }, opts);
  return {
    INJECT_CLOCK_ANCHOR: clock.anchor.apply(String),
    INJECT_START: clock.start.apply(String),
    INJECT_ACCELERATION: String(acceleration),
  };
}
