// Certificates for the TLS servers the tests and the bench start themselves (nats-server, a Cassandra
// node): a CA and certificates it signs, made with openssl as the aws stack's CA makes them
// (components/platforms/aws/tls.ts: P-256 keys, CA-only uses on the CA, server and/or client uses on the
// rest), written as files into a directory of the caller's.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type CertificateUse = 'server' | 'client';

export interface IssuedCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM of the certificate and of its key (PKCS#8). */
  readonly cert: string;
  readonly key: string;
}

export interface TestAuthority {
  readonly caFile: string;
  readonly caPem: string;
  /**
   * A key and a certificate the CA signs, as `<base>.crt` and `<base>.key`, with `uses`; a server
   * certificate is valid for localhost, 127.0.0.1 and `names`.
   */
  issue(
    base: string,
    commonName: string,
    opts: { readonly uses: readonly CertificateUse[]; readonly names?: readonly string[] },
  ): IssuedCertificate;
}

const EXTENDED_USE: Record<CertificateUse, string> = { server: 'serverAuth', client: 'clientAuth' };

/** A new CA in `dir` (created if missing), its certificate `ca.crt`, valid for two days. */
export function testAuthority(dir: string, commonName = 'test CA'): TestAuthority {
  mkdirSync(dir, { recursive: true });
  const openssl = (args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const newKey = (file: string) =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  newKey('ca.key');
  const subject = (cn: string) => `/O=smart-meter/CN=${cn}`;
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-subj',
    subject(commonName),
    '-days',
    '2',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    'ca.crt',
  ]);
  let serial = 0;
  return {
    caFile: join(dir, 'ca.crt'),
    caPem: read('ca.crt'),
    issue(base, cn, { uses, names = [] }) {
      newKey(`${base}.key`);
      openssl(['req', '-new', '-key', `${base}.key`, '-subj', subject(cn), '-out', `${base}.csr`]);
      const altNames = ['DNS:localhost', ...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
      const ext = [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${uses.map((u) => EXTENDED_USE[u]).join(',')}`,
        ...(uses.includes('server') ? [`subjectAltName=${altNames}`] : []),
      ];
      writeFileSync(join(dir, `${base}.ext`), `${ext.join('\n')}\n`);
      openssl([
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(++serial),
        '-days',
        '2',
        '-extfile',
        `${base}.ext`,
        '-out',
        `${base}.crt`,
      ]);
      return {
        certFile: join(dir, `${base}.crt`),
        keyFile: join(dir, `${base}.key`),
        cert: read(`${base}.crt`),
        key: read(`${base}.key`),
      };
    },
  };
}
