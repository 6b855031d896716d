// Which Pulumi CLI `npm run deploy`, `npm run destroy` and `npm run pulumi` use (scripts/pulumi-cli.sh):
// a `pulumi` on PATH first, then the pinned npm launcher, and one line saying what to install when neither
// can work. Fake CLIs record how they were called; PATH holds only the tools the scripts need (never a real
// pulumi), PULUMI_HOME is a temporary directory and the download probe points at a closed loopback port,
// so nothing is downloaded. Needs the project's Node.js in its cache (bash scripts/install-node.sh).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { freePort } from '../../services/test/support/backing';

const ROOT = path.join(__dirname, '..', '..');
const LAUNCHER_VERSION: string = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'node_modules', 'pulumi', 'package.json'), 'utf8'),
).version;
const NODE_VERSION = /^NODE_VERSION=(\S+)$/m.exec(
  fs.readFileSync(path.join(ROOT, 'scripts', 'install-node.sh'), 'utf8'),
)![1];
const TOOLS = ['bash', 'sh', 'curl', 'sed', 'head', 'readlink', 'basename', 'dirname', 'uname', 'mkdir'];

let tmp: string;
let tools: string; // symlinks to exactly the system tools the scripts use
let closedPort: number;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pulumi-cli-test-'));
  tools = path.join(tmp, 'tools');
  fs.mkdirSync(tools);
  for (const tool of TOOLS) {
    const found = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (!found) throw new Error(`${tool} is not installed`);
    fs.symlinkSync(found, path.join(tools, tool));
  }
  closedPort = await freePort();
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Case {
  pulumiHome: string;
  record: string;
  dir: string;
}

function freshCase(name: string): Case {
  const dir = path.join(tmp, name);
  const pulumiHome = path.join(dir, 'pulumi-home');
  fs.mkdirSync(pulumiHome, { recursive: true });
  return { dir, pulumiHome, record: path.join(dir, 'calls.txt') };
}

/** A fake `pulumi` that appends "<label> node=<node --version> <args>" to the case's record. */
function fakeCli(file: string, label: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    `#!/bin/sh\nprintf '%s node=%s %s\\n' ${label} "$(node --version)" "$*" >>"$FAKE_PULUMI_RECORD"\n`,
    { mode: 0o755 },
  );
}

function cachedCli(c: Case): string {
  return path.join(c.pulumiHome, 'versions', LAUNCHER_VERSION, 'bin', 'pulumi');
}

function run(c: Case, script: string, args: string[], pathDirs: string[]) {
  return spawnSync('bash', [path.join(ROOT, 'scripts', script), ...args], {
    cwd: c.dir,
    encoding: 'utf8',
    env: {
      HOME: process.env.HOME,
      PATH: [...pathDirs, tools].join(':'),
      PULUMI_HOME: c.pulumiHome,
      FAKE_PULUMI_RECORD: c.record,
      SMARTMETER_PULUMI_PROBE_URL: `http://127.0.0.1:${closedPort}/install.sh`,
    },
  });
}

function calls(c: Case): string[] {
  return fs.existsSync(c.record) ? fs.readFileSync(c.record, 'utf8').trim().split('\n') : [];
}

test('a pulumi on PATH wins over the launcher and its cached CLI, and runs on the project Node.js', () => {
  const c = freshCase('path-first');
  const bin = path.join(c.dir, 'bin');
  fakeCli(path.join(bin, 'pulumi'), 'path');
  fakeCli(cachedCli(c), 'cached');
  const res = run(c, 'pulumi.sh', ['stack', 'ls', '--json'], [bin]);
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  expect(calls(c)).toEqual([`path node=v${NODE_VERSION} stack ls --json`]);
});

test.each([
  ['no pulumi on PATH', false],
  ['only the npm launcher on PATH, as inside npm scripts', true],
])('%s: the launcher runs the CLI cached under PULUMI_HOME', (_name, launcherOnPath) => {
  const c = freshCase(`launcher-${launcherOnPath}`);
  fakeCli(cachedCli(c), 'cached');
  const pathDirs = launcherOnPath ? [path.join(ROOT, 'node_modules', '.bin')] : [];
  const res = run(c, 'pulumi.sh', ['stack', 'output', 'grafanaUrl', '-s', 'local'], pathDirs);
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  expect(calls(c)).toEqual([`cached node=v${NODE_VERSION} stack output grafanaUrl -s local`]);
});

test.each(['pulumi.sh', 'deploy.sh', 'destroy.sh'])(
  '%s with no CLI anywhere and no download site: one line that says what to install',
  (script) => {
    const c = freshCase(`offline-${script}`);
    const res = run(c, script, [], [path.join(ROOT, 'node_modules', '.bin')]);
    expect(res.status).toBe(1);
    const caller = script.replace(/\.sh$/, '');
    expect(res.stderr).toBe(
      `${caller}: no Pulumi CLI on PATH and the npm launcher cannot download Pulumi ${LAUNCHER_VERSION} ` +
        `(http://127.0.0.1:${closedPort}/install.sh unreachable): install the Pulumi CLI, ` +
        'https://www.pulumi.com/docs/install/, or run once online\n',
    );
    expect(res.stdout).toBe('');
    expect(calls(c)).toEqual([]);
    expect(fs.readdirSync(c.pulumiHome)).toEqual([]); // nothing was downloaded
  },
);
