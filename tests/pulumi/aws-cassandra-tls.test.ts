// Cassandra on the aws stack speaks mutual TLS with certificates from the stack CA (issue 24): under mocks
// (the tls resources get real keys and certificates, tests/pulumi/aws-mocks.ts), every certificate the
// stack issues verifies against its CA with the uses it needs (servers: server auth; Cassandra members:
// server and client auth, for their peers; clients: client auth only); each member sees its own key and
// no other's; every Cassandra client (migrate, the services, the auth job's cqlsh) is given the CA, a
// client certificate and its key as files; keys reach only the containers that need them. The local
// stack stays plaintext on 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as pulumi from '@pulumi/pulumi';

import {
  AUTH_SCRIPT_TEXT,
  CASSANDRA_CA_PATH,
  CASSANDRA_NODE_PEM_PATH,
  cassandraEncryptionYaml,
} from '../../components/tiers/storage';
import {
  AwsProgramRun,
  containerSpec,
  filesOf,
  Recorded,
  runAwsProgram,
  swarmService,
  swarmServices,
} from './aws-mocks';
import { containers, envOf, runLocalProgram } from './local-mocks';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_KEY = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/g;

const keysIn = (text: string) => text.match(PEM_KEY) ?? [];
// A PEM inside YAML (Grafana's data source) is indented: the lines are taken without their indentation.
const certsIn = (text: string) =>
  (text.match(PEM_CERT) ?? []).map((pem) => new X509Certificate(pem.replace(/^[ \t]+/gm, '')));
/** The certificate in `text` whose public key is that of the private key in `text`'s key file. */
const matches = (cert: X509Certificate, keyPem: string) => cert.checkPrivateKey(createPrivateKey(keyPem));
const ext = (cert: X509Certificate) => cert.toLegacyObject().ext_key_usage as string[] | undefined;
const CLIENT = '1.3.6.1.5.5.7.3.2';
const CASSANDRA_CLIENT_ROLES = ['migrate', 'ingest', 'stream', 'train', 'predict'];

describe('aws stack: Cassandra with mutual TLS', () => {
  let run: AwsProgramRun;
  let ca: X509Certificate;
  const output = (name: string) =>
    new Promise<string>((r) => (run.outputs[name] as pulumi.Output<string>).apply((v) => r(String(v))));
  beforeAll(async () => {
    run = await runAwsProgram();
    ca = new X509Certificate(await output('caCertificate'));
  }, 60_000);

  // Every certificate's CA and uses: aws-nats-tls.test.ts (all of the stack's at once).
  test("the user's client certificate is an output signed by the CA, its key a secret output that matches it", async () => {
    const user = new X509Certificate(await output('cassandraClientCertificate'));
    expect(user.verify(ca.publicKey)).toBe(true);
    // The user's client key is a secret output, and it is the certificate's key.
    expect(await run.pulumi.isSecret(run.outputs.cassandraClientKey as pulumi.Output<string>)).toBe(true);
    expect(matches(user, await output('cassandraClientKey'))).toBe(true);
  });

  test('each member gets its own key and certificate (its names only), the CA, and the encryption options', () => {
    const fingerprints = new Set<string>();
    for (const k of [0, 1, 2]) {
      const member = swarmService(run, `cassandra-${k}`);
      const files = filesOf(run, member);
      const pem = files[CASSANDRA_NODE_PEM_PATH];
      expect(pem.secret).toBe(true);
      const [key = ''] = keysIn(pem.text);
      const [cert] = certsIn(pem.text);
      expect(matches(cert, key)).toBe(true);
      fingerprints.add(cert.fingerprint256);
      for (const name of [`cassandra-${k}`, `tasks.cassandra-${k}`, 'cassandra', 'localhost'])
        expect(cert.checkHost(name)).toBe(name);
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      // Not another member's name, and not the public names: a member is reached inside the swarm only.
      expect(cert.checkHost(`cassandra-${(k + 1) % 3}`)).toBeUndefined();
      expect(cert.checkIP('198.51.100.1')).toBeUndefined();
      // No other key: another member's key never reaches this one.
      const keys = Object.values(files).flatMap((f) => keysIn(f.text));
      expect(keys).toEqual([key]);
      expect(new X509Certificate(files[CASSANDRA_CA_PATH].text).fingerprint256).toBe(ca.fingerprint256);
      const yaml = Object.entries(files).find(([path]) => path.endsWith('cassandra-encryption.yaml'));
      expect(yaml?.[1].text).toBe(
        cassandraEncryptionYaml({
          keystore: CASSANDRA_NODE_PEM_PATH,
          truststore: CASSANDRA_CA_PATH,
          internode: true,
          optional: false,
        }),
      );
      expect(yaml?.[1].text).toContain('internode_encryption: all');
      expect(yaml?.[1].text).toContain('  optional: false\n  require_client_auth: true');
      // The start command appends it to cassandra.yaml before the image's entrypoint runs.
      const command = (containerSpec(member).args ?? []).join(' ');
      expect(command).toContain(`sed -i '$r ${yaml?.[0]}' "$CASSANDRA_CONF/cassandra.yaml"`);
      expect(command.indexOf('$r ')).toBeLessThan(command.indexOf('exec docker-entrypoint.sh'));
    }
    expect(fingerprints.size).toBe(3);
  });

  test('every Cassandra client is given the CA, a client certificate and its key (a secret), as files', () => {
    for (const role of CASSANDRA_CLIENT_ROLES) {
      const s = swarmServices(run).find((x) => x.name === role || x.name === `${role}-0`) as Recorded;
      expect({ role, found: s !== undefined }).toEqual({ role, found: true });
      const env = containerSpec(s).env ?? {};
      const files = filesOf(run, s);
      const file = (name: string) => files[env[name] ?? `(${name} unset)`];
      const caFile = file('CASSANDRA_TLS_CA_FILE');
      const certFile = file('CASSANDRA_TLS_CERT_FILE');
      const keyFile = file('CASSANDRA_TLS_KEY_FILE');
      expect(new X509Certificate(caFile.text).fingerprint256).toBe(ca.fingerprint256);
      const [cert] = certsIn(certFile.text);
      expect(ext(cert)).toEqual([CLIENT]);
      expect(keyFile.secret).toBe(true);
      expect(matches(cert, keyFile.text)).toBe(true);
      // No key or certificate in the environment itself: paths only.
      expect(Object.values(env).join('\n')).not.toMatch(/BEGIN/);
    }
    // The auth job's cqlsh: TLS through its cqlshrc, with the CA and its own client certificate.
    const auth = swarmService(run, 'cassandra-auth');
    const files = filesOf(run, auth);
    const rc = files[containerSpec(auth).env?.CQLSHRC as string].text;
    const option = (name: string) => new RegExp(`^${name} = (.+)$`, 'm').exec(rc)?.[1] as string;
    expect(option('validate')).toBe('true');
    expect(new X509Certificate(files[option('certfile')].text).fingerprint256).toBe(ca.fingerprint256);
    expect(files[option('userkey')].secret).toBe(true);
    expect(matches(certsIn(files[option('usercert')].text)[0], files[option('userkey')].text)).toBe(true);
  });

  test('TLS keys reach only the containers that need them', () => {
    const withKeys = swarmServices(run)
      .filter((s) => Object.values(filesOf(run, s)).some((f) => keysIn(f.text).length > 0))
      .map((s) => s.name)
      .sort();
    expect(withKeys).toEqual(
      [
        'cassandra-0',
        'cassandra-1',
        'cassandra-2',
        'cassandra-auth',
        'grafana-0',
        'ingest',
        'nats-0',
        'nats-1',
        'nats-2',
        'migrate',
        'predict',
        'prometheus-0',
        'stream',
        'train',
      ].sort(),
    );
    // Every file holding a key is a docker secret.
    for (const s of swarmServices(run))
      for (const [path, f] of Object.entries(filesOf(run, s)))
        if (keysIn(f.text).length)
          expect({ service: s.name, path, secret: f.secret }).toMatchObject({ secret: true });
  });
});

test('the local stack keeps Cassandra plaintext on 127.0.0.1: no TLS setting, file or certificate', async () => {
  const local = await runLocalProgram({});
  expect(local.resources.filter((r) => r.type.startsWith('tls:'))).toEqual([]);
  for (const c of containers(local)) {
    expect(envOf(c).filter((e) => e.startsWith('CASSANDRA_TLS_') || e.startsWith('CQLSHRC='))).toEqual([]);
    const uploads = (c.inputs.uploads as { file: string }[] | undefined) ?? [];
    expect(uploads.map((u) => u.file).filter((f) => /tls|encryption|cqlshrc/.test(f))).toEqual([]);
  }
  expect(local.outputs.cassandraClientCertificate).toBeUndefined();
}, 60_000);

test('the auth job script (cqlsh with or without TLS) passes bash -n and shellcheck', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cassandra-auth-'));
  const file = join(dir, 'cassandra-auth.sh');
  writeFileSync(file, AUTH_SCRIPT_TEXT);
  try {
    expect(spawnSync('bash', ['-n', file], { encoding: 'utf8' }).stderr).toBe('');
    const lint = spawnSync('shellcheck', ['--shell=bash', '--severity=style', file], { encoding: 'utf8' });
    if (lint.error) throw new Error(`shellcheck is not installed: ${lint.error.message}`);
    expect(lint.stdout).toBe('');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(AUTH_SCRIPT_TEXT).toContain('ssl=(--ssl --cqlshrc "$CQLSHRC")');
});
