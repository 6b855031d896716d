// NATS TLS as the aws stack configures it (issue 24), against real nats-server processes on loopback: the
// client `tls { }` block and the cluster's mutual-TLS routes rendered by the program's own code
// (components/tiers/nats-auth.ts natsTlsBlock, natsCluster), with a CA and a member certificate made
// the way the aws stack's mocks make them (tests/pulumi/aws-mocks.ts tlsOutputs: openssl, the same uses
// as components/platforms/aws/tls.ts). Routes refuse a plain route and a TLS route without a certificate
// from the CA; a role's client (services/src/lib/nats.ts, NATS_TLS_CA_FILE) connects with the CA; a client
// that does not speak TLS is dropped.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';

import { connect } from 'nats';

import {
  NATS_ADMIN_USER,
  NATS_ROLES,
  natsAuthorization,
  natsCluster,
  NatsPasswords,
  natsTlsBlock,
} from '../../components/tiers/nats-auth';
import { natsConnectionOptions } from '../../services/src/lib/nats';
import { freePort } from '../../services/test/support/backing';
import { NatsServer } from '../../services/test/support/nats-server';
import { tlsOutputs } from '../pulumi/aws-mocks';
import { plainAfterInfo } from '../support/nats-probe';

const PASSWORDS = Object.fromEntries(
  ['admin', ...NATS_ROLES].map((u) => [u, `pw${u}${Math.random().toString(36).slice(2)}`]),
) as unknown as NatsPasswords;
const ROUTE_PASSWORD = `routePw${Math.random().toString(36).slice(2)}`;
const KEY = { algorithm: 'ECDSA', ecdsaCurve: 'P256' };

/** A CA, and a certificate it signs for `names` with `uses` (as ClusterTls.serverCertificate). */
function authority(cn: string) {
  const caKey = tlsOutputs('tls:index/privateKey:PrivateKey', KEY);
  const ca = tlsOutputs('tls:index/selfSignedCert:SelfSignedCert', {
    privateKeyPem: caKey.privateKeyPem,
    isCaCertificate: true,
    subject: { commonName: cn },
    validityPeriodHours: 24,
    allowedUses: ['cert_signing', 'crl_signing'],
  });
  const issue = (names: string[], uses: string[]) => {
    const key = tlsOutputs('tls:index/privateKey:PrivateKey', KEY);
    const { certRequestPem } = tlsOutputs('tls:index/certRequest:CertRequest', {
      privateKeyPem: key.privateKeyPem,
      subject: { commonName: 'nats' },
      dnsNames: names,
      ipAddresses: ['127.0.0.1'],
    });
    const { certPem } = tlsOutputs('tls:index/locallySignedCert:LocallySignedCert', {
      certRequestPem,
      caPrivateKeyPem: caKey.privateKeyPem,
      caCertPem: ca.certPem,
      validityPeriodHours: 24,
      allowedUses: ['digital_signature', 'key_encipherment', ...uses],
    });
    return { cert: String(certPem), key: String(key.privateKeyPemPkcs8) };
  };
  return { caPem: String(ca.certPem), issue };
}

let dir: string;
const servers: NatsServer[] = [];
let routePorts: number[];
let stack: ReturnType<typeof authority>;
/** The member certificate (server and client uses), as the stack issues it for `nats`. */
let member: { cert: string; key: string };
const files = () => ({
  certFile: join(dir, 'tls.crt'),
  keyFile: join(dir, 'tls.key'),
  caFile: join(dir, 'ca.pem'),
});

/**
 * The member's TLS: on clients (no certificate asked) and, unless `plainRoutes`, on routes (verified).
 * `plainClients` leaves the client port plain (to show what the client block does).
 */
function memberConfig(routes: number[], i: number, opts: { plainRoutes?: boolean; plainClients?: boolean }) {
  return (
    (opts.plainClients ? '' : `${natsTlsBlock(files(), false)}\n`) +
    `${natsAuthorization(PASSWORDS)}\n` +
    natsCluster(
      `127.0.0.1:${routes[i]}`,
      routes.map((p) => `localhost:${p}`),
      ROUTE_PASSWORD,
      opts.plainRoutes ? undefined : files(),
    )
  );
}

async function startCluster(opts: { plainRoutes?: boolean; plainClients?: boolean } = {}) {
  routePorts = [await freePort(), await freePort()];
  for (const [i] of routePorts.entries()) {
    servers.push(
      await NatsServer.start({
        storeDir: join(dir, `member-${i}-${routePorts[i]}`),
        extraConfig: memberConfig(routePorts, i, opts),
      }),
    );
  }
}

async function stopCluster() {
  for (const s of servers.splice(0)) await s.stop();
}

/** Waits until every member has a route to the other; returns each one's route count (/routez). */
async function routed(): Promise<number[]> {
  const deadline = Date.now() + 20_000;
  const counts: number[] = [];
  for (const s of servers) {
    for (;;) {
      const routez = (await (await fetch(`http://127.0.0.1:${s.monitorPort}/routez`)).json()) as {
        num_routes: number;
      };
      if (routez.num_routes >= 1) {
        counts.push(routez.num_routes);
        break;
      }
      if (Date.now() > deadline) throw new Error(`no route after 20 s: ${s.output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return counts;
}

/** A TLS handshake first (the CA, name localhost) with `client` or none, then a route CONNECT. */
async function tlsRoute(port: number, client?: { cert: string; key: string }) {
  return new Promise<{ reply: string; error?: string }>((resolve) => {
    const secure = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: stack.caPem,
      servername: 'localhost',
      ...(client ?? {}),
    });
    let reply = '';
    const done = (error?: string) => {
      secure.destroy();
      resolve({ reply, ...(error ? { error } : {}) });
    };
    secure.once('secureConnect', () =>
      secure.write(
        `CONNECT ${JSON.stringify({ user: 'route', pass: ROUTE_PASSWORD, name: 'probe', cluster: 'smartmeter', verbose: false })}\r\nPING\r\n`,
      ),
    );
    secure.on('data', (c: Buffer) => {
      reply += c.toString('utf8');
      if (reply.includes('PONG') || reply.includes('-ERR')) done();
    });
    secure.once('error', (e) => done(e.message));
    setTimeout(() => done(), 5000);
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nats-tls-'));
  stack = authority('smart-meter test CA');
  member = stack.issue(['nats', 'nats-0', 'nats-1', 'localhost'], ['server_auth', 'client_auth']);
  writeFileSync(files().certFile, member.cert);
  writeFileSync(files().keyFile, member.key);
  writeFileSync(files().caFile, stack.caPem);
});

afterAll(async () => {
  await stopCluster();
  rmSync(dir, { recursive: true, force: true });
});

describe('routes: mutual TLS with the stack CA, and the route password', () => {
  beforeAll(() => startCluster(), 60_000);
  afterAll(() => stopCluster());

  it('the members route to each other over TLS', async () => {
    // Routes come up only through TLS: the port speaks nothing else (next test).
    const counts = await routed();
    expect(counts).toHaveLength(2);
    for (const n of counts) expect(n).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('a plain route is refused: the port wants a TLS handshake first', async () => {
    const route = await plainAfterInfo(
      routePorts[0],
      `CONNECT ${JSON.stringify({ user: 'route', pass: ROUTE_PASSWORD, verbose: false })}\r\nPING\r\n`,
      { info: false, waitMs: 5000 },
    );
    // Nothing in plain (not even INFO: the handshake comes first), and the connection is closed.
    expect(route.reply).toBe('');
    expect(route.closed).toBe(true);
  }, 30_000);

  it('a TLS route without a client certificate, or with one from another CA, is refused', async () => {
    const anonymous = await tlsRoute(routePorts[0]);
    expect(anonymous.reply).not.toContain('PONG');
    expect(anonymous.error).toMatch(/certificate required|alert/i);
    const other = authority('another CA').issue(['localhost'], ['server_auth', 'client_auth']);
    const foreign = await tlsRoute(routePorts[0], other);
    expect(foreign.reply).not.toContain('PONG');
    expect(foreign.error).toMatch(/unknown ca|alert|bad certificate/i);
    // The member's own certificate and the route password: the route is accepted (the probe is sound).
    const own = await tlsRoute(routePorts[0], member);
    expect(own.error).toBeUndefined();
    expect(own.reply).toContain('PONG');
  }, 30_000);

  it("a role's client connects with the CA (NATS_TLS_CA_FILE); a client without TLS is dropped", async () => {
    const options = natsConnectionOptions({
      servers: [servers[0].url],
      user: 'inject',
      pass: PASSWORDS.inject,
      name: 'tls-inject',
      tlsCaFile: files().caFile,
    });
    const nc = await connect({ ...options, maxReconnectAttempts: 0 });
    try {
      expect(nc.info?.tls_required).toBe(true);
      await nc.flush();
    } finally {
      await nc.close();
    }
    // Plain text after INFO: the server wants a TLS handshake and drops the connection.
    const client = await plainAfterInfo(
      servers[0].port,
      `CONNECT ${JSON.stringify({ user: NATS_ADMIN_USER, pass: PASSWORDS.admin, verbose: false })}\r\nPING\r\n`,
      { info: true, waitMs: 5000 },
    );
    expect(client.info).toMatchObject({ tls_required: true });
    expect(client.reply).toBe('');
    expect(client.reply).not.toContain('PONG');
    expect(client.closed).toBe(true);
    // nats.js without the CA: it upgrades to TLS and refuses the unknown issuer.
    await expect(
      connect({
        servers: [servers[0].url],
        user: NATS_ADMIN_USER,
        pass: PASSWORDS.admin,
        maxReconnectAttempts: 0,
      }),
    ).rejects.toThrow(/certificate|self.signed|issuer/i);
  }, 30_000);
});
