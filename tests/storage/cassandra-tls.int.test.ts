// Client-to-node encryption against a real Cassandra 5.0.9 configured the way the aws stack renders it
// (components/tiers/storage.ts: the same encryption options and the same start command, PEM files through
// PEMBasedSslContextFactory), with a CA and certificates made here (services/harness/certificates.ts): the services' client
// (services/src/lib/cassandra.ts) connects with TLS and a client certificate; a plaintext client and a
// TLS client without a certificate are refused. Our own node in a container on the Docker engine (the
// image scripts/build-images.sh builds), published on a free loopback port; the shared one is not touched.
// About 60–90 s, most of it the node's start.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'cassandra-driver';

import {
  cassandraEncryptionEdit,
  cassandraEncryptionYaml,
  cqlshrcText,
  pemBundle,
} from '../../components/tiers/storage';
import { CassandraSettings, createCassandraClient } from '../../services/src/lib/cassandra';
import { testAuthority } from '../../services/harness/certificates';
import { startTlsCassandra, TlsCassandraNode } from '../../services/harness/tls-cassandra';

jest.setTimeout(300_000);

const name = `smartmeter-casstls-int-${process.pid}`;
let dir: string;
let node: TlsCassandraNode;
const pem = (file: string) => readFileSync(join(dir, file), 'utf8');

const withCertificate = () => ({ ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') });

/** Connects with `tls`; the first inner error's message when refused (a plaintext STARTUP gets no answer
 * from a TLS port: the driver's 12 s read timeout). */
async function attempt(tls: CassandraSettings['tls']): Promise<{ client?: Client; refused?: string }> {
  const client = createCassandraClient(node.settings(tls));
  try {
    await client.connect();
    return { client };
  } catch (err) {
    await client.shutdown().catch(() => undefined);
    const inner = Object.values((err as { innerErrors?: Record<string, Error> }).innerErrors ?? {});
    return { refused: (inner[0]?.message ?? (err as Error).message).split('\n')[0] };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'casstls-'));
  const authority = testAuthority(dir);
  authority.issue('node', 'cassandra-0', { uses: ['server', 'client'] });
  authority.issue('client', 'cassandra-services', { uses: ['client'] });
  writeFileSync(join(dir, 'node.pem'), pemBundle(pem('node.key'), pem('node.crt')));
  writeFileSync(
    join(dir, 'encryption.yaml'),
    cassandraEncryptionYaml({
      keystore: '/tls/node.pem',
      truststore: '/tls/ca.crt',
      internode: true,
      optional: false,
    }),
  );
  // The auth job's cqlsh settings, for the cqlsh test below.
  writeFileSync(join(dir, 'cqlshrc'), cqlshrcText('/tls/ca.crt', '/tls/client.crt', '/tls/client.key'));
  node = startTlsCassandra({
    name,
    dir,
    heap: '512M',
    image: process.env.CASSANDRA_TLS_TEST_IMAGE,
    configure: cassandraEncryptionEdit('/tls/encryption.yaml'),
  });
  await (await node.connected(withCertificate(), 240_000)).shutdown();
});

afterAll(() => {
  node?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a client with TLS and a client certificate connects, and the node requires both', async () => {
  const { client, refused } = await attempt(withCertificate());
  expect(refused).toBeUndefined();
  try {
    const rs = await (client as Client).execute(
      "SELECT name, value FROM system_views.settings WHERE name IN ('client_encryption_options.enabled', " +
        "'client_encryption_options.optional', 'client_encryption_options.require_client_auth')",
    );
    expect(Object.fromEntries(rs.rows.map((r) => [r.name, String(r.value)]))).toEqual({
      'client_encryption_options.enabled': 'true',
      'client_encryption_options.optional': 'false',
      'client_encryption_options.require_client_auth': 'true',
    });
  } finally {
    await client?.shutdown();
  }
});

test('a plaintext client is refused', async () => {
  const { client, refused } = await attempt(undefined);
  await client?.shutdown();
  expect(refused).toMatch(/did not reply before timeout/);
});

test('a TLS client without a client certificate is refused', async () => {
  const { client, refused } = await attempt({ ca: pem('ca.crt') });
  await client?.shutdown();
  expect(refused).toMatch(/certificate required/);
});

test('a client certificate from another CA is refused', async () => {
  // Another CA's client certificate: one the stack CA never issued.
  const stranger = testAuthority(join(dir, 'stranger'), 'stranger CA').issue('client', 'stranger', {
    uses: ['client'],
  });
  const { client, refused } = await attempt({
    ca: pem('ca.crt'),
    cert: stranger.cert,
    key: stranger.key,
  });
  await client?.shutdown();
  expect(refused).toMatch(/unknown ca|certificate|alert/i);
});

test("the auth job's cqlsh (--ssl, the stack's cqlshrc) connects with its client certificate, and not without TLS", () => {
  const cqlsh = (args: string[]) => {
    try {
      const out = execFileSync(
        'docker',
        [
          'exec',
          name,
          'cqlsh',
          '127.0.0.1',
          '9042',
          ...args,
          '-u',
          'cassandra',
          '-p',
          'cassandra',
          '--connect-timeout',
          '10',
          '-e',
          'SELECT release_version FROM system.local;',
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      return { ok: true, out };
    } catch (err) {
      return {
        ok: false,
        out: String((err as { stderr?: string }).stderr ?? err)
          .split('\n')
          .slice(-3)
          .join(' '),
      };
    }
  };
  const secure = cqlsh(['--ssl', '--cqlshrc', '/tls/cqlshrc']);
  expect(secure).toMatchObject({ ok: true });
  expect(secure.out).toContain('5.0.9');
  expect(cqlsh([])).toMatchObject({ ok: false });
});
