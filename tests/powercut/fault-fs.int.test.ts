// The power-cut fault file system (scripts/powercut, built by scripts/powercut-fs.sh): its Go tests, then
// the binary driven from Node. A SIGKILL of the daemon is the power cut: what was fsynced is on the
// backing directory, what was only written is gone, and the dead mount fails every call.
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultDisk, faultFsBinary } from './fault-disk';

jest.setTimeout(300_000);

const repo = join(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'smartmeter-powercut-'));
const backing = join(dir, 'backing');
const mnt = join(dir, 'mnt');
let binary = '';
let disk: FaultDisk;

/** Closes a descriptor on the dead mount, which may fail the close too. */
function closeDead(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // ENOTCONN: the daemon is gone
  }
}

beforeAll(() => {
  binary = faultFsBinary();
  disk = new FaultDisk(backing, mnt, binary);
});

afterAll(async () => {
  await disk?.cut();
  rmSync(dir, { recursive: true, force: true });
});

test('passes its Go tests, which cut the power under each kind of write', () => {
  let out: string;
  try {
    out = execFileSync('go', ['test', '-count=1', './...'], {
      cwd: join(repo, 'scripts/powercut'),
      env: { ...process.env, POWERCUT_FS_BIN: binary },
      encoding: 'utf8',
      stdio: 'pipe',
      timeout: 240_000,
    });
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`go test failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: e });
  }
  expect(out).toMatch(/^ok\s+smartmeter\/powercut\s/m);
});

test('keeps what Node fsynced and loses what it only wrote when the daemon is killed', async () => {
  await disk.powerOn();
  const file = join(mnt, 'ledger');
  const fd = openSync(file, 'w');
  writeSync(fd, 'synced;');
  fsyncSync(fd);
  writeSync(fd, 'unsynced;');
  expect(readFileSync(file, 'utf8')).toBe('synced;unsynced;');
  expect(statSync(file).size).toBe(16);
  expect(readFileSync(join(backing, 'ledger'), 'utf8')).toBe('synced;');

  await disk.cut();
  expect(() => fsyncSync(fd)).toThrow(/ENOTCONN/);
  closeDead(fd);

  await disk.powerOn();
  expect(readFileSync(file, 'utf8')).toBe('synced;');
  expect(statSync(file).size).toBe(7);
});

test('after a cut in the middle of a log, holds exactly the records up to the last fsync', async () => {
  if (!disk.powered) await disk.powerOn();
  const file = join(mnt, 'records');
  const fd = openSync(file, 'a');
  let synced = '';
  let written = '';
  for (let i = 0; i < 500; i++) {
    const record = `record ${i}\n`;
    writeSync(fd, record);
    written += record;
    if (i % 10 === 9 && i < 490) {
      fsyncSync(fd);
      synced = written;
    }
  }
  expect(readFileSync(file, 'utf8')).toBe(written);
  await disk.cut();
  closeDead(fd);
  await disk.powerOn();
  expect(readFileSync(file, 'utf8')).toBe(synced);
  expect(synced.endsWith('record 489\n')).toBe(true);
});
