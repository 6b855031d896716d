// What the aws stack publishes is served over TLS, with a CA generated in the stack: under mocks (the tls
// resources get real keys and certificates, tests/pulumi/aws-mocks.ts), every published port belongs to
// a service configured for TLS with a certificate that the CA signed for the names it is reached by,
// everything that calls those services inside the swarm speaks HTTPS and trusts the CA, and the keys
// stay secret. The local stack stays on plain HTTP on 127.0.0.1.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { parse } from 'yaml';

import { SwarmServices } from '../../components/platforms/aws/swarm';
import {
  AwsProgramRun,
  containerSpec,
  decodeData,
  filesOf,
  installAwsMocks,
  isSecretInput,
  ofType,
  Recorded,
  runAwsProgram,
  secretValue,
  stringsIn,
  swarmService,
  swarmServices,
} from './aws-mocks';
import { runLocalProgram } from './local-mocks';

const publishedPorts = (s: Recorded) =>
  (s.inputs.endpointSpec as { ports?: { name: string; targetPort: number; publishedPort: number }[] })
    .ports ?? [];

/** Where a published service reads its certificate and key: Grafana's env, Prometheus's web config. */
function tlsFiles(run: AwsProgramRun, s: Recorded): { cert: string; key: string } | undefined {
  const { env = {}, args = [] } = containerSpec(s);
  if (env.GF_SERVER_PROTOCOL === 'https')
    return { cert: env.GF_SERVER_CERT_FILE, key: env.GF_SERVER_CERT_KEY };
  const webConfig = args.find((a) => a.startsWith('--web.config.file='))?.split('=')[1];
  if (webConfig === undefined) return undefined;
  const { tls_server_config: tls } = parse(filesOf(run, s)[webConfig].text) as {
    tls_server_config: { cert_file: string; key_file: string };
  };
  return { cert: tls.cert_file, key: tls.key_file };
}

describe('aws stack', () => {
  let run: AwsProgramRun;
  let ca: X509Certificate;
  beforeAll(async () => {
    run = await runAwsProgram();
    ca = new X509Certificate(
      String(await new Promise((r) => (run.outputs.caCertificate as pulumi.Output<string>).apply(r))),
    );
  }, 60_000);

  test('the CA certificate is a plain (not secret) output, and a CA', async () => {
    expect(await run.pulumi.isSecret(run.outputs.caCertificate as pulumi.Output<string>)).toBe(false);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain('CN=smart-meter aws CA');
  });

  test('every published port belongs to a service that serves TLS on it', () => {
    const publishing = swarmServices(run).filter((s) => publishedPorts(s).length > 0);
    expect(publishing.map((s) => s.name).sort()).toEqual(['grafana-0', 'prometheus-0']);
    for (const s of publishing) {
      expect(publishedPorts(s).map((p) => p.name)).toEqual(['https']);
      expect({ service: s.name, tls: tlsFiles(run, s) !== undefined }).toEqual({
        service: s.name,
        tls: true,
      });
    }
  });

  test('each certificate is signed by the CA for the names the service is reached by, and matches its key', () => {
    const nodes = ofType(run.resources, 'aws:ec2/instance:Instance');
    expect(nodes).toHaveLength(4);
    for (const s of swarmServices(run).filter((s) => publishedPorts(s).length > 0)) {
      const files = filesOf(run, s);
      const { cert: certPath, key: keyPath } = tlsFiles(run, s) as { cert: string; key: string };
      const cert = new X509Certificate(files[certPath].text);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.ca).toBe(false);
      expect(cert.checkPrivateKey(createPrivateKey(files[keyPath].text))).toBe(true);
      // The key is a docker secret; the certificate is not secret.
      expect(files[keyPath].secret).toBe(true);
      const service = s.name.replace(/-0$/, '');
      // What the user opens (any node: the routing mesh), what the swarm calls, and loopback.
      for (const name of [service, s.name, 'localhost']) expect(cert.checkHost(name)).toBe(name);
      expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
      for (const node of nodes) {
        // The mocks' n-th resource gets 198.51.100.<n> and ec2-198-51-100-<n>.compute-1.amazonaws.com.
        const n = run.resources.indexOf(node) + 1;
        expect(cert.checkIP(`198.51.100.${n}`)).toBe(`198.51.100.${n}`);
        const dns = `ec2-198-51-100-${n}.compute-1.amazonaws.com`;
        expect(cert.checkHost(dns)).toBe(dns);
      }
      expect(cert.checkHost('evil.example.com')).toBeUndefined();
    }
  });

  test('what calls Grafana and Prometheus inside the swarm speaks HTTPS and trusts the CA', () => {
    const prometheus = swarmService(run, 'prometheus-0');
    const files = filesOf(run, prometheus);
    const yml = parse(files['/etc/prometheus/prometheus.yml'].text) as {
      scrape_configs: { job_name: string; scheme?: string; tls_config?: { ca_file: string } }[];
    };
    const self = yml.scrape_configs.find((j) => j.job_name === 'prometheus');
    expect(self).toMatchObject({ scheme: 'https', tls_config: { ca_file: '/etc/prometheus/ca.pem' } });
    expect(new X509Certificate(files['/etc/prometheus/ca.pem'].text).fingerprint256).toBe(ca.fingerprint256);

    const grafana = swarmService(run, 'grafana-0');
    const datasources = parse(
      filesOf(run, grafana)['/etc/grafana/provisioning/datasources/smartmeter.yaml'].text,
    ).datasources as { url: string; jsonData: unknown; secureJsonData: { tlsCACert: string } }[];
    expect(datasources).toEqual([
      expect.objectContaining({
        url: 'https://prometheus:9090',
        jsonData: { tlsAuthWithCACert: true },
        basicAuth: true,
        basicAuthUser: 'smartmeter',
      }),
    ]);
    // The password is read from Grafana's secret file: the provisioning file holds none.
    expect(datasources[0].secureJsonData).toMatchObject({
      basicAuthPassword: '$__file{/run/secrets/prometheus_password}',
    });
    expect(new X509Certificate(datasources[0].secureJsonData.tlsCACert).fingerprint256).toBe(
      ca.fingerprint256,
    );

    expect(containerSpec(grafana).healthcheck?.tests).toContain('https://127.0.0.1:3000/api/health');
    // Prometheus asks for a login: its check reads the password from its secret file.
    expect(containerSpec(prometheus).healthcheck?.tests?.join(' ')).toContain(
      'https://smartmeter:$(cat /run/secrets/prometheus_password)@127.0.0.1:9090/-/ready',
    );
  });

  test('no TLS private key is in an output, an environment, a config file or any plain input', async () => {
    // Prometheus's, Grafana's and NATS's, one per Cassandra member, the auth job's, migrate's and the
    // services' Cassandra client key.
    const keys = [
      ...new Set(
        ofType(run.resources, 'docker:index/secret:Secret')
          .map((s) => decodeData(s.inputs.data))
          .filter((text) => text.includes('-----BEGIN PRIVATE KEY-----'))
          .map((text) => text.split('\n')[1]),
      ),
    ];
    expect(keys).toHaveLength(9);
    const caKeys = ofType(run.resources, 'tls:index/selfSignedCert:SelfSignedCert').map(
      (c) => String(secretValue(c.inputs.privateKeyPem)).split('\n')[1],
    );
    expect(caKeys).toHaveLength(1);
    const plainText = [
      ...(
        await Promise.all(
          Object.values(run.outputs).map((o) =>
            run.pulumi.Output.isInstance(o) ? new Promise((r) => o.apply(r)) : Promise.resolve(o),
          ),
        )
      ).map((v) => JSON.stringify(v ?? null)),
      ...run.resources.flatMap((r) =>
        Object.values(r.inputs)
          .filter((v) => !isSecretInput(v))
          .flatMap(stringsIn)
          .map((v) =>
            r.type === 'docker:index/serviceConfig:ServiceConfig' ? Buffer.from(v, 'base64').toString() : v,
          ),
      ),
    ].join('\n');
    for (const key of [...keys, ...caKeys]) expect(plainText.includes(key)).toBe(false);
  });
});

test('the swarm platform refuses to publish a port that is not served over TLS', async () => {
  await installAwsMocks();
  const swarm = new SwarmServices({
    provider: new docker.Provider('swarm', { host: 'ssh://ec2-user@198.51.100.1' }),
    networkId: 'overlay-id',
    workers: 1,
    memberZone: () => 'us-east-1a',
    servicesImage: 'repo@sha256:00',
    onPublish: () => undefined,
    publicHost: pulumi.output('198.51.100.1'),
  });
  const parent = new pulumi.ComponentResource('smartmeter:test:Parent', 'parent');
  const web = { name: 'web', image: { kind: 'external', name: 'nginx:1' } } as const;
  expect(() =>
    swarm.deploy({ ...web, ports: [{ name: 'http', port: 80, publish: 8080 }] }, { parent }),
  ).toThrow('service "web": port http is published without TLS');
  expect(() =>
    swarm.deploy(
      { ...web, name: 'web-tls', ports: [{ name: 'https', port: 443, publish: 8443, tls: true }] },
      { parent },
    ),
  ).not.toThrow();
});

test('the local stack stays on plain HTTP on 127.0.0.1, with no certificate', async () => {
  const local = await runLocalProgram({});
  expect(local.resources.filter((r) => r.type.startsWith('tls:'))).toEqual([]);
  expect(local.outputs.caCertificate).toBeUndefined();
  const url = (o: unknown) => new Promise((r) => (o as pulumi.Output<string>).apply(r));
  expect(await url(local.outputs.grafanaUrl)).toBe('http://127.0.0.1:3000');
  expect(await url(local.outputs.prometheusUrl)).toBe('http://127.0.0.1:9090');
}, 60_000);
