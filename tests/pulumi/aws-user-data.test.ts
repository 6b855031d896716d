// The user-data scripts, as committed and as rendered for each kind of node, pass `bash -n` and
// shellcheck; the renderer quotes every value so none can break out of its assignment.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderSwarmNodeUserData, shellQuote, SwarmRole } from '../../components/platforms/aws/user-data';

const DIR = path.join(__dirname, '..', '..', 'scripts', 'user-data');
const scripts = fs.readdirSync(DIR).filter((f) => f.endsWith('.sh'));

function check(file: string): void {
  const syntax = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
  if (syntax.status !== 0) throw new Error(`bash -n ${file} failed:\n${syntax.stderr}`);
  const lint = spawnSync('shellcheck', ['--shell=bash', '--severity=style', file], { encoding: 'utf8' });
  if (lint.error)
    throw new Error(
      `shellcheck is not installed (apt-get install shellcheck, or bash scripts/install-deps.sh): ${lint.error.message}`,
    );
  if (lint.status !== 0) throw new Error(`shellcheck ${file} failed:\n${lint.stdout}${lint.stderr}`);
}

test('there are user-data scripts to check', () => {
  expect(scripts).toContain('swarm-node.sh');
});

test.each(scripts)('%s passes bash -n and shellcheck', (script) => {
  expect(() => check(path.join(DIR, script))).not.toThrow();
});

test.each(['init', 'manager', 'worker'] as SwarmRole[])(
  'the %s user data, as rendered, passes bash -n and shellcheck',
  (role) => {
    const rendered = renderSwarmNodeUserData({
      role,
      region: 'eu-west-3',
      managerTokenParam: '/smartmeter/prod/swarm/manager-token',
      workerTokenParam: '/smartmeter/prod/swarm/worker-token',
      managerAddr: role === 'init' ? '' : '10.42.0.12',
      slot: 2,
    });
    expect(rendered).toContain(`SWARM_ROLE='${role}'`);
    expect(rendered).toContain(`NODE_SLOT='2'`);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'user-data-')), `${role}.sh`);
    fs.writeFileSync(file, rendered);
    expect(() => check(file)).not.toThrow();
  },
);

test('a value cannot break out of its quotes', () => {
  const hostile = `x'; touch /tmp/pwned; echo '`;
  const out = execFileSync('bash', ['-c', `v=${shellQuote(hostile)}; printf %s "$v"`], { encoding: 'utf8' });
  expect(out).toBe(hostile);
});

test('a joining node without the manager address is refused', () => {
  expect(() =>
    renderSwarmNodeUserData({
      role: 'worker',
      region: 'us-east-1',
      managerTokenParam: '/a',
      workerTokenParam: '/b',
      managerAddr: '',
      slot: 0,
    }),
  ).toThrow(/needs the manager's address/);
});
