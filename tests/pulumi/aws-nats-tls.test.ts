// Issue 24 on the aws stack, under mocks that issue real certificates (tests/pulumi/aws-mocks.ts): every
// certificate the stack issues verifies against its CA, for the right uses and dates, with early renewal;
// NATS requires TLS from clients and mutual TLS on routes, keeps its monitoring port on a private network,
// and every role trusts the CA; Prometheus asks for a login whose password only Prometheus and Grafana
// get. tests/integration/nats-tls.int.test.ts runs the rendered NATS config on a real nats-server.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { compareSync } from 'bcryptjs';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';

import {
  AwsProgramRun,
  containerSpec,
  filesOf,
  ofType,
  runAwsProgram,
  swarmService,
  swarmServices,
} from './aws-mocks';

const value = <T>(o: unknown) => new Promise<T>((r) => (o as pulumi.Output<T>).apply(r));

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const HOUR = 3600_000;

describe('aws stack: certificates, NATS TLS, Prometheus login', () => {
  let run: AwsProgramRun;
  let ca: X509Certificate;
  const natsMembers = () => swarmServices(run).filter((s) => /^nats-\d+$/.test(s.name));
  beforeAll(async () => {
    run = await runAwsProgram();
    ca = new X509Certificate(await value<string>(run.outputs.caCertificate));
  }, 60_000);

  test('every certificate the stack issues verifies against its CA, is valid now for a year, for its uses', () => {
    const issued = ofType(run.resources, 'tls:index/locallySignedCert:LocallySignedCert');
    // Server only for what is published; server and client for cluster members (NATS routes, Cassandra
    // peers: mutual TLS both ways); client only for Cassandra's clients.
    const server = [SERVER_AUTH];
    const both = [SERVER_AUTH, CLIENT_AUTH];
    const client = [CLIENT_AUTH];
    const USES: Record<string, string[]> = {
      'aws-tls-grafana': server,
      'aws-tls-prometheus': server,
      'aws-tls-nats': both,
      'aws-tls-cassandra-0': both,
      'aws-tls-cassandra-1': both,
      'aws-tls-cassandra-2': both,
      'aws-tls-client-cassandra-auth': client,
      'aws-tls-client-cassandra-services': client,
      'aws-tls-client-cassandra-user': client,
      'aws-tls-client-migrate': client,
    };
    expect(issued.map((c) => c.name).sort()).toEqual(Object.keys(USES).sort());
    const now = Date.now();
    for (const c of issued) {
      const cert = new X509Certificate(String(c.state?.certPem));
      expect({ name: c.name, verifies: cert.verify(ca.publicKey) }).toEqual({ name: c.name, verifies: true });
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.ca).toBe(false);
      const from = Date.parse(cert.validFrom);
      const to = Date.parse(cert.validTo);
      expect(from).toBeLessThanOrEqual(now + 60_000);
      expect(to).toBeGreaterThan(now);
      // One year, renewed by an `up` in its last 30 days (a new certificate, then the services roll).
      expect(Math.round((to - from) / HOUR)).toBe(365 * 24);
      expect(c.inputs).toMatchObject({ validityPeriodHours: 365 * 24, earlyRenewalHours: 30 * 24 });
      expect({ name: c.name, uses: cert.keyUsage }).toEqual({ name: c.name, uses: USES[c.name] });
    }
    // A certificate from another CA does not verify: the check above is not vacuous.
    const self = ofType(run.resources, 'tls:index/selfSignedCert:SelfSignedCert')[0];
    expect(new X509Certificate(String(self.state?.certPem)).fingerprint256).toBe(ca.fingerprint256);
    const [grafana, nats] = ['aws-tls-grafana', 'aws-tls-nats'].map(
      (n) => new X509Certificate(String(issued.find((c) => c.name === n)?.state?.certPem)),
    );
    expect(grafana.verify(nats.publicKey)).toBe(false);
  });

  test('NATS: TLS on clients, mutual TLS on routes, its key a secret only its members get', () => {
    const members = natsMembers();
    expect(members.map((m) => m.name)).toEqual(['nats-0', 'nats-1', 'nats-2']);
    for (const m of members) {
      const files = filesOf(run, m);
      const conf = files['/etc/nats/smartmeter.conf'].text;
      // The client port: TLS required, no client certificate asked (the roles log in with passwords).
      const top = conf.slice(0, conf.indexOf('cluster {'));
      expect(top).toMatch(
        /\ntls \{\n {2}cert_file: "\/etc\/nats\/tls\/tls.crt"\n {2}key_file: "\/run\/secrets\/nats_tls_key"\n {2}ca_file: "\/etc\/nats\/tls\/ca.pem"\n {2}timeout: 5\n\}/,
      );
      expect(top).not.toContain('verify');
      // Routes: their own TLS block, verifying the peer's certificate; the route user and password stay.
      const cluster = conf.slice(conf.indexOf('cluster {'));
      expect(cluster).toMatch(/ {2}tls \{[^}]*ca_file: "\/etc\/nats\/tls\/ca.pem"\n {4}verify: true/);
      expect(cluster).toMatch(/authorization \{ user: "route", password: "[A-Za-z0-9-]+" \}/);
      expect(cluster).toContain('no_advertise: true');
      // Monitoring: bound to the member's address on the private network only.
      expect(conf).toContain('http: $NATS_MONITOR_LISTEN');
      expect(conf).not.toMatch(/http_port/);
      expect(containerSpec(m).commands?.join(' ')).toContain("grep -m1 '^10\\.231\\.254\\.'");
      // The files the config names are there: the key as a secret, the certificate and CA as files.
      expect(files['/run/secrets/nats_tls_key'].secret).toBe(true);
      expect(files['/etc/nats/tls/tls.crt'].secret).toBe(false);
      const cert = new X509Certificate(files['/etc/nats/tls/tls.crt'].text);
      expect(cert.checkPrivateKey(createPrivateKey(files['/run/secrets/nats_tls_key'].text))).toBe(true);
      expect(new X509Certificate(files['/etc/nats/tls/ca.pem'].text).fingerprint256).toBe(ca.fingerprint256);
      // Valid for every member's name (routes dial nats-N and check it) and `nats`.
      for (const host of ['nats', 'nats-0', 'nats-1', 'nats-2']) expect(cert.checkHost(host)).toBe(host);
      // The health check reads the monitoring address the start script found.
      expect(containerSpec(m).healthcheck?.tests.join(' ')).toContain(
        '$(cat /tmp/nats-monitor-address):8222/healthz',
      );
    }
    // The key reaches the NATS members and nothing else.
    const key = filesOf(run, members[0])['/run/secrets/nats_tls_key'].text;
    const holders = swarmServices(run).filter((s) =>
      Object.values(filesOf(run, s)).some((f) => f.text === key),
    );
    expect(holders.map((s) => s.name)).toEqual(['nats-0', 'nats-1', 'nats-2']);
  });

  test('the exporter reads monitoring over the private network; every role connects with TLS and the CA', () => {
    const exporter = swarmService(run, 'nats-exporter');
    expect(containerSpec(exporter).args?.filter((a) => a.startsWith('http'))).toEqual([
      'http://natsmon-nats-0:8222',
      'http://natsmon-nats-1:8222',
      'http://natsmon-nats-2:8222',
    ]);
    const roles = swarmServices(run).filter((s) => containerSpec(s).env?.NATS_URL !== undefined);
    expect(roles.map((s) => s.name).sort()).toEqual(['ingest', 'inject', 'predict', 'stream', 'train']);
    for (const r of roles) {
      expect(containerSpec(r).env?.NATS_TLS_CA_FILE).toBe('/etc/smartmeter/nats-ca.pem');
      const ca2 = filesOf(run, r)['/etc/smartmeter/nats-ca.pem'];
      expect(ca2.secret).toBe(false);
      expect(new X509Certificate(ca2.text).fingerprint256).toBe(ca.fingerprint256);
    }
  });

  test('Prometheus asks for a login: the hash in its web config, the password only for Prometheus and Grafana', async () => {
    const password = await value<string>(run.outputs.prometheusPassword);
    expect(await run.pulumi.isSecret(run.outputs.prometheusPassword as pulumi.Output<string>)).toBe(true);
    expect(run.outputs.prometheusUser).toBe('smartmeter');
    const prometheus = swarmService(run, 'prometheus-0');
    const files = filesOf(run, prometheus);
    const web = files['/etc/prometheus/web.yml'];
    expect(web.secret).toBe(true);
    const webConfig = parse(web.text) as { basic_auth_users: Record<string, string> };
    expect(Object.keys(webConfig.basic_auth_users)).toEqual(['smartmeter']);
    expect(webConfig.basic_auth_users.smartmeter).toMatch(/^\$2[aby]\$/);
    expect(compareSync(password, webConfig.basic_auth_users.smartmeter)).toBe(true);
    expect(compareSync(`${password}x`, webConfig.basic_auth_users.smartmeter)).toBe(false);
    expect(web.text).not.toContain(password);
    // Its self-scrape logs in with the password file.
    const yml = parse(files['/etc/prometheus/prometheus.yml'].text) as {
      scrape_configs: { job_name: string; basic_auth?: unknown }[];
    };
    expect(yml.scrape_configs.find((j) => j.job_name === 'prometheus')?.basic_auth).toEqual({
      username: 'smartmeter',
      password_file: '/run/secrets/prometheus_password',
    });
    expect(files['/run/secrets/prometheus_password']).toMatchObject({ text: password, secret: true });
    // Who gets the password: Prometheus and Grafana only; nobody's environment or plain file holds it.
    const holders = swarmServices(run).filter((s) =>
      Object.values(filesOf(run, s)).some((f) => f.secret && f.text.includes(password)),
    );
    expect(holders.map((s) => s.name)).toEqual(['prometheus-0', 'grafana-0']);
    for (const s of swarmServices(run)) {
      expect(JSON.stringify(containerSpec(s).env ?? {})).not.toContain(password);
      for (const f of Object.values(filesOf(run, s))) if (!f.secret) expect(f.text).not.toContain(password);
    }
    for (const [name, o] of Object.entries(run.outputs)) {
      if (name === 'prometheusPassword' || !pulumi.Output.isInstance(o)) continue;
      if (!(await run.pulumi.isSecret(o as pulumi.Output<unknown>)))
        expect(JSON.stringify((await value(o)) ?? null)).not.toContain(password);
    }
  });
});
