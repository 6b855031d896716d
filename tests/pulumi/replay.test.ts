// The replay keys (smartmeter:replay*): validated like every key, off by default, and when set the inject
// containers (local) and the inject service (aws) read the user's files through read-only bind mounts with
// the replay source's environment. Under Pulumi mocks: nothing is deployed.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadConfig } from '../../components/config';
import { AwsProgramRun, runAwsProgram } from './aws-mocks';
import { containers, envOf, runLocalProgram } from './local-mocks';

jest.setTimeout(120_000);

const load = (values: Record<string, string>) => loadConfig((key) => ({ platform: 'local', ...values })[key]);
const START = { simulationStart: '2006-12-16T17:24:00Z' };

describe('config', () => {
  it('is off unless replayFiles is set, with 1 meter per household and 230 V → 120 V', () => {
    expect(load({}).replay).toBeUndefined();
    expect(load({ ...START, replayFiles: '/data/household_power_consumption.txt' }).replay).toEqual({
      files: ['/data/household_power_consumption.txt'],
      metersPerHousehold: 1,
      recordedNominalVoltage: 230,
      nominalVoltage: 120,
    });
    expect(
      load({
        ...START,
        replayFiles: '["/data/a.txt", "/data/b.txt"]',
        replayMetersPerHousehold: '20',
        replayNominalVoltage: '230',
      }).replay,
    ).toMatchObject({ files: ['/data/a.txt', '/data/b.txt'], metersPerHousehold: 20, nominalVoltage: 230 });
  });

  it.each([
    [{ replayFiles: 'household.txt' }, /smartmeter:replayFiles must be absolute paths of files/],
    [{ replayFiles: '/data/' }, /smartmeter:replayFiles must be absolute paths/],
    [{ replayFiles: '[1]' }, /smartmeter:replayFiles must be absolute paths/],
    [
      { replayFiles: '/d/a.txt', replayMetersPerHousehold: '0' },
      /smartmeter:replayMetersPerHousehold must be an integer >= 1/,
    ],
    [
      { replayFiles: '/d/a.txt', replayRecordedNominalVoltage: 'x' },
      /smartmeter:replayRecordedNominalVoltage must be a number/,
    ],
  ])('refuses %j naming the key', (values, message) => {
    expect(() => load({ ...START, ...values })).toThrow(message);
  });

  it('needs the clock set to the recording: its timestamps are the simulated time', () => {
    expect(() => load({ replayFiles: '/data/a.txt' })).toThrow(
      'smartmeter:simulationStart is required with smartmeter:replayFiles: the recorded timestamps are the ' +
        'simulated time, so start the clock where the recording starts (2006-12-16T17:24:00Z for the UCI data set)',
    );
  });
});

describe('local stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-stack-'));
  const file = join(dir, 'household_power_consumption.txt');
  writeFileSync(file, 'Date;Time;Global_active_power\n');

  it('mounts the file read-only into every injector and selects the uci source', async () => {
    const run = await runLocalProgram({
      ...START,
      injectors: '2',
      replayFiles: file,
      replayMetersPerHousehold: '5',
    });
    const injectors = containers(run).filter((c) => c.name.startsWith('inject-'));
    expect(injectors).toHaveLength(2);
    for (const c of injectors) {
      expect(c.inputs.mounts).toEqual([
        {
          type: 'bind',
          source: file,
          target: '/replay/household-1-household_power_consumption.txt',
          readOnly: true,
        },
      ]);
      expect(envOf(c)).toEqual(
        expect.arrayContaining([
          'INJECT_SOURCE=uci',
          'INJECT_UCI_FILES=/replay/household-1-household_power_consumption.txt',
          'INJECT_UCI_METERS_PER_HOUSEHOLD=5',
          'INJECT_UCI_NOMINAL_V=230',
          'INJECT_NOMINAL_V=120',
        ]),
      );
    }
    // Nothing else reads the host.
    for (const c of containers(run).filter((c) => !c.name.startsWith('inject-'))) {
      expect(c.inputs.mounts ?? []).toEqual([]);
    }
  });

  it('without the keys the injectors simulate and mount nothing', async () => {
    const run = await runLocalProgram({});
    const inject = containers(run).find((c) => c.name === 'inject-0')!;
    expect(inject.inputs.mounts ?? []).toEqual([]);
    expect(envOf(inject).some((e) => e.startsWith('INJECT_SOURCE') || e.startsWith('INJECT_UCI'))).toBe(
      false,
    );
  });

  it('stops the deployment when the file is not on this host, naming the key', async () => {
    await expect(runLocalProgram({ ...START, replayFiles: join(dir, 'absent.txt') })).rejects.toThrow(
      `smartmeter:replayFiles: ${join(dir, 'absent.txt')} does not exist on this host`,
    );
  });
});

describe('aws stack', () => {
  let run: AwsProgramRun;
  beforeAll(async () => {
    // A path on the workers (not checked here: it is not on this machine).
    run = await runAwsProgram({ ...START, replayFiles: '/srv/uci/household_power_consumption.txt' });
  });

  it('binds the path of every worker into the replicated inject service', () => {
    const services = run.resources.filter((r) => r.type === 'docker:index/service:Service');
    const spec = (name: string) =>
      (services.find((s) => s.name === name)!.inputs.taskSpec as { containerSpec: Record<string, unknown> })
        .containerSpec;
    expect(spec('inject').mounts).toEqual([
      {
        type: 'bind',
        source: '/srv/uci/household_power_consumption.txt',
        target: '/replay/household-1-household_power_consumption.txt',
        readOnly: true,
      },
    ]);
    expect(spec('inject').env).toMatchObject({
      INJECT_SOURCE: 'uci',
      INJECT_UCI_FILES: '/replay/household-1-household_power_consumption.txt',
    });
    expect(
      (services.find((s) => s.name === 'inject')!.inputs.mode as { replicated: { replicas: number } })
        .replicated.replicas,
    ).toBe(3);
    expect(spec('ingest').mounts ?? []).toEqual([]);
  });
});
