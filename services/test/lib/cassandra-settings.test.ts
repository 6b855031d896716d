import { Client, ClientOptions, policies } from 'cassandra-driver';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvReader } from '../../src/lib/config';
import { cassandraSettings, createCassandraClient } from '../../src/lib/cassandra';

const settings = (vars: Record<string, string>) => cassandraSettings(new EnvReader(vars));
// A client is built without connecting; the options it keeps (public, if untyped) show how it will route.
const routing = (vars: Record<string, string>) =>
  (createCassandraClient(settings(vars)) as Client & { options: ClientOptions }).options.policies
    ?.loadBalancing;

test('routes by token unless told every node is a replica (CASSANDRA_TOKEN_AWARE)', () => {
  expect(routing({})).toBeInstanceOf(policies.loadBalancing.TokenAwarePolicy);
  expect(routing({ CASSANDRA_TOKEN_AWARE: 'true' })).toBeInstanceOf(policies.loadBalancing.TokenAwarePolicy);
  const plain = routing({ CASSANDRA_TOKEN_AWARE: 'false', CASSANDRA_LOCAL_DC: 'dc2' });
  expect(plain).toBeInstanceOf(policies.loadBalancing.DCAwareRoundRobinPolicy);
  expect(plain).not.toBeInstanceOf(policies.loadBalancing.TokenAwarePolicy);
  expect(() => settings({ CASSANDRA_TOKEN_AWARE: 'sometimes' })).toThrow(
    /CASSANDRA_TOKEN_AWARE must be true or false, got "sometimes"/,
  );
});

describe('TLS (CASSANDRA_TLS_CA_FILE, CASSANDRA_TLS_CERT_FILE, CASSANDRA_TLS_KEY_FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cassandra-tls-settings-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const ca = file('ca.crt', 'CA PEM\n');
  const cert = file('client.crt', 'CERT PEM\n');
  const key = file('client.key', 'KEY PEM\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const sslOptions = (vars: Record<string, string>) =>
    (createCassandraClient(settings(vars)) as Client & { options: ClientOptions }).options.sslOptions;

  test('none of them: plaintext, no sslOptions (the local stack)', () => {
    expect(settings({}).tls).toBeUndefined();
    expect(sslOptions({})).toBeUndefined();
  });

  test('the CA, the certificate and the key (from its file) become the driver sslOptions', () => {
    const vars = { CASSANDRA_TLS_CA_FILE: ca, CASSANDRA_TLS_CERT_FILE: cert, CASSANDRA_TLS_KEY_FILE: key };
    expect(settings(vars).tls).toEqual({ ca: 'CA PEM\n', cert: 'CERT PEM\n', key: 'KEY PEM' });
    expect(sslOptions(vars)).toMatchObject({
      ca: ['CA PEM\n'],
      cert: 'CERT PEM\n',
      key: 'KEY PEM',
      rejectUnauthorized: true,
    });
  });

  test('a certificate without its key, or without a CA, or an unreadable file is refused at start', () => {
    expect(() => settings({ CASSANDRA_TLS_CA_FILE: ca, CASSANDRA_TLS_CERT_FILE: cert })).toThrow(
      'CASSANDRA_TLS_KEY is required with CASSANDRA_TLS_CERT_FILE',
    );
    expect(() => settings({ CASSANDRA_TLS_CERT_FILE: cert, CASSANDRA_TLS_KEY_FILE: key })).toThrow(
      'CASSANDRA_TLS_CERT_FILE needs CASSANDRA_TLS_CA_FILE',
    );
    expect(() => settings({ CASSANDRA_TLS_CA_FILE: join(dir, 'missing.crt') })).toThrow(
      /CASSANDRA_TLS_CA_FILE: cannot read .*missing\.crt/,
    );
  });
});
