// The stack's one simulated clock (components/simulation-clock.ts): under mocks, every injector on both
// platforms gets the same anchor from the one SimulationClock, or from smartmeter:clockAnchor without one;
// and the provider itself, deserialised from the state as the engine's dynamic-provider host does, keeps
// its anchor on later `up`s and re-anchors only forward.
import {
  ClockInputs,
  ClockState,
  createClock,
  REANCHOR_SLACK_S,
  SIMULATION_CLOCK_TYPE,
} from '../../components/simulation-clock';
import { runAwsProgram } from './aws-mocks';
import { containers, envOf, ProgramRun, Recorded, runLocalProgram, valueOf } from './local-mocks';

const CLOCK_VARS = ['INJECT_CLOCK_ANCHOR', 'INJECT_START', 'INJECT_ACCELERATION'];
const clockEnv = (env: string[]) =>
  Object.fromEntries(
    env.map((e) => e.split('=', 2) as [string, string]).filter(([k]) => CLOCK_VARS.includes(k)),
  );
const injectors = (run: ProgramRun) => containers(run).filter((c) => c.name.startsWith('inject-'));
const clocks = (run: { resources: readonly { type: string }[] }) =>
  run.resources.filter((r) => r.type === SIMULATION_CLOCK_TYPE);

/** The provider as `pulumi up` runs it: from the serialised text the resource carries in its state. */
type Provider = {
  create(inputs: ClockInputs): Promise<{ id: string; outs: ClockState }>;
  diff(id: string, olds: ClockState, news: ClockInputs): Promise<{ changes: boolean }>;
  update(id: string, olds: ClockState, news: ClockInputs): Promise<{ outs: ClockState }>;
};
function providerOf(run: ProgramRun): Provider {
  const [clock] = clocks(run) as Recorded[];
  // The module the engine's dynamic-provider host loads a provider with (cmd/dynamic-provider, getProvider).
  const from = require.resolve('require-from-string', { paths: [require.resolve('@pulumi/pulumi')] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const requireFromString = require(from) as (code: string) => { handler(): Provider };
  return requireFromString(String(clock.inputs.__provider)).handler();
}

let run: ProgramRun;
const before = Math.floor(Date.now() / 1000);
beforeAll(async () => {
  run = await runLocalProgram({ injectors: '3' });
}, 120_000);

describe('local stack', () => {
  it('hands every injector the anchor of the one SimulationClock', async () => {
    const [clock] = clocks(run) as Recorded[];
    expect(clocks(run)).toHaveLength(1);
    expect(clock.inputs).toMatchObject({ acceleration: 900 });
    expect(clock.inputs.simulationStart).toBeUndefined();
    const { anchor, start } = clock.state as unknown as ClockState;
    expect(anchor).toBeGreaterThanOrEqual(before);
    expect(start).toBe(anchor); // simulated time starts at the real time of the first deploy
    const envs = injectors(run).map((c) => clockEnv(envOf(c)));
    expect(envs).toHaveLength(3);
    for (const env of envs) {
      expect(env).toEqual({
        INJECT_CLOCK_ANCHOR: String(anchor),
        INJECT_START: String(start),
        INJECT_ACCELERATION: '900',
      });
    }
    const iso = new Date(anchor * 1000).toISOString().replace('.000Z', 'Z');
    expect(await valueOf(run.pulumi, run.outputs.simulationClock)).toEqual({
      anchor: iso,
      simulatedAtAnchor: iso,
      acceleration: 900,
    });
  });

  it('carries a provider that runs on its own, as the engine loads it', async () => {
    const provider = providerOf(run);
    const t0 = Math.floor(Date.now() / 1000);
    const created = await provider.create({ acceleration: 900 });
    expect(created.outs.anchor).toBeGreaterThanOrEqual(t0);
    expect(created.outs).toMatchObject({ acceleration: 900, start: created.outs.anchor });
    // A later `up` with the same inputs (or after a refresh, which keeps the state): nothing changes.
    expect(await provider.diff(created.id, created.outs, { acceleration: 900 })).toEqual({ changes: false });
    // A faster clock is re-anchored now, from the simulated time the old one reads now.
    expect(await provider.diff(created.id, created.outs, { acceleration: 1800 })).toEqual({ changes: true });
    const faster = (await provider.update(created.id, created.outs, { acceleration: 1800 })).outs;
    const sim = (c: ClockState, t: number) => c.start + (t - c.anchor) * c.acceleration;
    expect(faster.anchor).toBeGreaterThanOrEqual(created.outs.anchor);
    expect(faster.start).toBe(sim(created.outs, faster.anchor));
    // A backwards simulationStart is refused, naming the key.
    await expect(
      provider.diff(created.id, created.outs, {
        acceleration: 900,
        simulationStart: created.outs.start - 3600,
      }),
    ).rejects.toThrow(/smartmeter:simulationStart .* is before the stack's simulated time now/);
  });

  it('uses smartmeter:clockAnchor and simulationStart instead of the state when the anchor is set', async () => {
    const overridden = await runLocalProgram({
      injectors: '2',
      clockAnchor: '2024-05-01T10:00:00Z',
      simulationStart: '1552780800',
    });
    expect(clocks(overridden)).toEqual([]);
    for (const c of injectors(overridden)) {
      expect(clockEnv(envOf(c))).toEqual({
        INJECT_CLOCK_ANCHOR: String(Date.parse('2024-05-01T10:00:00Z') / 1000),
        INJECT_START: '1552780800',
        INJECT_ACCELERATION: '900',
      });
    }
    expect(await valueOf(overridden.pulumi, overridden.outputs.simulationClock)).toEqual({
      anchor: '2024-05-01T10:00:00Z',
      simulatedAtAnchor: '2019-03-17T00:00:00Z',
      acceleration: 900,
    });
  }, 120_000);

  it('starts the state’s clock at smartmeter:simulationStart when only that is set', async () => {
    const replay = await runLocalProgram({ simulationStart: '2019-03-17' });
    const [clock] = clocks(replay) as Recorded[];
    expect(clock.inputs).toMatchObject({ acceleration: 900, simulationStart: 1_552_780_800 });
    expect(clockEnv(envOf(injectors(replay)[0]))).toMatchObject({
      INJECT_CLOCK_ANCHOR: String((clock.state as unknown as ClockState).anchor),
      INJECT_START: '1552780800',
    });
  }, 120_000);
});

test('the Swarm stack hands the same clock to the inject service', async () => {
  const before = Math.floor(Date.now() / 1000);
  const run = await runAwsProgram({ injectors: '3' });
  expect(clocks(run)).toHaveLength(1);
  const inject = run.resources.find(
    (r) => r.type === 'docker:index/service:Service' && r.name.startsWith('inject'),
  )!;
  const env = (inject.inputs.taskSpec as { containerSpec: { env: Record<string, string> } }).containerSpec
    .env;
  expect(Number(env.INJECT_CLOCK_ANCHOR)).toBeGreaterThanOrEqual(before);
  expect(env.INJECT_START).toBe(env.INJECT_CLOCK_ANCHOR);
  expect(env.INJECT_ACCELERATION).toBe('900');
}, 120_000);

describe('re-anchoring', () => {
  const T0 = Date.parse('2026-01-05T00:00:00Z') / 1000;
  const sim = (c: ClockState, t: number) => c.start + (t - c.anchor) * c.acceleration;
  const first = createClock({ acceleration: 900 }, T0 + 0.7);
  // The provider from the same serialised text the engine runs.
  let provider: Provider;
  beforeAll(() => {
    provider = providerOf(run);
  });

  it('anchors at the first deploy in whole seconds, at the real time unless simulationStart says otherwise', () => {
    expect(first).toEqual({ acceleration: 900, anchor: T0, start: T0 });
    expect(createClock({ acceleration: 900, simulationStart: 1_552_780_800 }, T0)).toMatchObject({
      anchor: T0,
      start: 1_552_780_800,
    });
  });

  it.each([
    [900, 1800],
    [900, 60],
  ])('from %i× to %i× simulated time never goes back', async (from, to) => {
    const old = createClock({ acceleration: from }, T0);
    const { outs } = await provider.update('id', old, { acceleration: to });
    const R1 = outs.anchor;
    // Continuity (and, when slower, the slack): at and after the change the new clock is never behind
    // the old one, over the time it takes to replace the injectors still running the old clock.
    for (let t = R1; t <= R1 + REANCHOR_SLACK_S; t += 7)
      expect(sim(outs, t)).toBeGreaterThanOrEqual(sim(old, t));
    expect(sim(outs, R1)).toBe(sim(old, R1) + (to < from ? Math.ceil(REANCHOR_SLACK_S * (from - to)) : 0));
  });

  it('a later simulationStart jumps the clock to it from now; removing the key keeps the clock', async () => {
    const now = Date.now() / 1000;
    const old = createClock({ acceleration: 900 }, now - 3600); // a real hour ago: 900 simulated hours on
    const ahead = Math.floor(sim(old, now)) + 86_400 * 365;
    expect(await provider.diff('id', old, { acceleration: 900, simulationStart: ahead })).toEqual({
      changes: true,
    });
    const { outs } = await provider.update('id', old, { acceleration: 900, simulationStart: ahead });
    expect(outs).toMatchObject({ start: ahead, simulationStart: ahead, acceleration: 900 });
    expect(outs.anchor).toBeGreaterThanOrEqual(Math.floor(now));
    expect(await provider.diff('id', outs, { acceleration: 900, simulationStart: ahead })).toEqual({
      changes: false,
    });
    expect(await provider.diff('id', outs, { acceleration: 900 })).toEqual({ changes: false });
  });
});
