// The harness's model of the provider's diff (no Docker needed): what a redeploy plans, and what a
// refresh reads back from `docker inspect` and reports as a perpetual diff.
import type Docker from 'dockerode';

import { describe as describeSteps, plan } from './plan';
import type { Declared } from './program';
import { containerReadBack, perpetualDiffs } from './readback';
import { T } from './types';

const declared = (type: string, name: string, inputs: Record<string, unknown>): Declared => ({
  urn: `urn:pulumi:local::smartmeter::${type}::${name}`,
  type,
  name,
  inputs,
  dependencies: [],
  id: `${name}-id`,
});

describe('plan (a redeploy against what the stack holds)', () => {
  const inject = declared(T.container, 'inject-0', {
    name: 'inject-0',
    image: 'sha256:aaa',
    restart: 'unless-stopped',
  });
  const volume = declared(T.volume, 'data-0', { name: 'data-0' });
  const image = declared(T.image, 'services-image', { imageName: 'svc', build: { contextDigest: '1' } });

  test('the same declarations plan nothing', () => {
    expect(plan([inject, volume, image], [inject, volume, image])).toEqual([]);
  });

  test('a new replica is created, a removed one deleted', () => {
    const inject1 = declared(T.container, 'inject-1', { name: 'inject-1', image: 'sha256:aaa' });
    expect(describeSteps(plan([inject], [inject, inject1]))).toEqual(['+ inject-1']);
    expect(describeSteps(plan([inject, inject1], [inject]))).toEqual(['- inject-1']);
  });

  test('a changed image replaces the container; a changed context updates the image', () => {
    const upgraded = declared(T.container, 'inject-0', { ...inject.inputs, image: 'sha256:bbb' });
    const rebuilt = declared(T.image, 'services-image', { imageName: 'svc', build: { contextDigest: '2' } });
    expect(describeSteps(plan([inject, image], [upgraded, rebuilt]))).toEqual([
      '+- inject-0 (image)',
      '~ services-image (build)',
    ]);
  });

  test('inputs the provider updates in place (restart, healthcheck, wait) do not replace a container', () => {
    const changed = declared(T.container, 'inject-0', { ...inject.inputs, restart: 'always', wait: true });
    expect(plan([inject], [changed])).toEqual([
      expect.objectContaining({ action: 'update', fields: ['restart', 'wait'] }),
    ]);
  });

  test('an input set to undefined equals one left out; other resource types are replaced on any change', () => {
    const same = declared(T.container, 'inject-0', { ...inject.inputs, user: undefined });
    expect(plan([inject], [same])).toEqual([]);
    const renamed = declared(T.volume, 'data-0', { name: 'data-1' });
    expect(describeSteps(plan([volume], [renamed]))).toEqual(['+- data-0 (name)']);
  });
});

/** A `docker inspect` of a running container created from `inputs` (only the fields the read uses). */
function inspect(overrides: { health?: Record<string, unknown>; running?: boolean } = {}) {
  return {
    Name: '/cassandra-0',
    Image: 'sha256:ccc',
    State: { Running: overrides.running ?? true },
    Config: {
      Image: 'cassandra:5',
      Hostname: 'cassandra-0',
      Cmd: ['cassandra', '-f'],
      Entrypoint: ['docker-entrypoint.sh'],
      User: '',
      WorkingDir: '',
      Healthcheck: overrides.health ?? {
        Test: ['CMD', 'cqlsh'],
        Interval: 10e9,
        Timeout: 5e9,
        StartPeriod: 120e9,
        Retries: 30,
      },
    },
    HostConfig: { RestartPolicy: { Name: 'unless-stopped' }, NetworkMode: 'bridge', Memory: 0 },
    NetworkSettings: {
      Ports: { '9042/tcp': [{ HostIp: '127.0.0.1', HostPort: '19042' }], '7000/tcp': null },
    },
  } as unknown as Docker.ContainerInspectInfo;
}

describe('refresh (the provider reads the container back)', () => {
  const inputs = (startPeriod: string) => ({
    name: 'cassandra-0',
    image: 'cassandra:5',
    hostname: 'cassandra-0',
    restart: 'unless-stopped',
    mustRun: true,
    ports: [{ internal: 9042, external: 19042, ip: '127.0.0.1' }],
    healthcheck: { tests: ['CMD', 'cqlsh'], interval: '10s', timeout: '5s', retries: 30, startPeriod },
    envs: ['A=1'],
  });

  test('durations come back in Go form: "120s" is a perpetual diff naming the field, "2m0s" is none', () => {
    const declaredSeconds = inputs('120s');
    expect(perpetualDiffs(declaredSeconds, containerReadBack(inspect(), declaredSeconds))).toEqual([
      expect.stringMatching(/^healthcheck: .*"startPeriod":"2m0s".*→.*"startPeriod":"120s"/),
    ]);
    const declaredGo = inputs('2m0s');
    expect(perpetualDiffs(declaredGo, containerReadBack(inspect(), declaredGo))).toEqual([]);
  });

  test('what the engine fills in for undeclared computed inputs (command, entrypoint) is no diff', () => {
    const { hostname: _h, ...rest } = inputs('2m0s');
    expect(perpetualDiffs(rest, containerReadBack(inspect(), rest))).toEqual([]);
  });

  test('a stopped container that must run reads back as mustRun false', () => {
    const declaredGo = inputs('2m0s');
    expect(perpetualDiffs(declaredGo, containerReadBack(inspect({ running: false }), declaredGo))).toEqual([
      expect.stringMatching(/^mustRun: false → true/),
    ]);
  });

  test('a published port declared on another address is a diff', () => {
    const other = { ...inputs('2m0s'), ports: [{ internal: 9042, external: 19042, ip: '0.0.0.0' }] };
    expect(perpetualDiffs(other, containerReadBack(inspect(), other))).toEqual([
      expect.stringMatching(/^ports: /),
    ]);
  });
});
