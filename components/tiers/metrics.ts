// Metrics tier: Prometheus, with a scrape configuration generated from what is deployed (every service
// that declares `scrape`, each replica reached as the platform says), and Grafana with its Prometheus
// data source and the dashboards of dashboards/ provisioned as files. Grafana's admin password comes
// from @pulumi/random and reaches Grafana as a file (GF_SECURITY_ADMIN_PASSWORD__FILE).
// On a platform that publishes over TLS only (aws), both serve HTTPS with a certificate from the
// platform's CA, and everything that calls them (health checks, Grafana's data source, Prometheus's
// self-scrape) speaks HTTPS and trusts that CA; locally (127.0.0.1) both stay on plain HTTP.
// There Prometheus also asks for a login (basic auth, user PROMETHEUS_USER, a generated password: the
// stack's `prometheusPassword` output, secret): its web config holds only the password's bcrypt hash;
// the password itself reaches, as a file, Prometheus (its self-scrape and health check) and Grafana (its
// data source, `$__file{…}`) and nothing else.
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { stringify } from 'yaml';

import { allDashboards, type DashboardOptions } from '../../dashboards';
import type { StackConfig } from '../config';
import type {
  DeployedService,
  FileSpec,
  HealthCheckSpec,
  Platform,
  PlatformTls,
  ScrapeConfig,
  SecretSpec,
} from '../spec';

export interface MetricsTierArgs {
  readonly platform: Platform;
  readonly config: StackConfig;
  /** Everything deployed by the other tiers; those declaring `scrape` become scrape targets. */
  readonly targets: readonly DeployedService[];
}

export const GRAFANA_ADMIN = 'admin';
/** Prometheus's one user where it asks for a login (aws). */
export const PROMETHEUS_USER = 'smartmeter';
const PROMETHEUS_PASSWORD_SECRET = 'prometheus_password';
const PROMETHEUS_PASSWORD_PATH = `/run/secrets/${PROMETHEUS_PASSWORD_SECRET}`;
const PROMETHEUS_PORT = 9090;
const GRAFANA_PORT = 3000;
const DASHBOARDS_DIR = '/etc/grafana/dashboards';
const PROMETHEUS_CA = '/etc/prometheus/ca.pem';
const PROMETHEUS_WEB_CONFIG = '/etc/prometheus/web.yml';

/** The files and secrets that let `service` serve TLS, at paths under `dir` (certificate) and /run/secrets (key). */
function serverTls(tls: PlatformTls, service: string, dir: string) {
  const { certificate, privateKey } = tls.serverCertificate(service);
  const certFile: FileSpec = { path: `${dir}/tls.crt`, content: certificate };
  const keySecret: SecretSpec = { name: `${service}_tls_key`, value: privateKey };
  return { certFile, keySecret, keyPath: `/run/secrets/${keySecret.name}` };
}

/**
 * wget of `path` on loopback, over HTTPS when the server serves TLS. The check proves the server
 * answers; it skips certificate verification (loopback inside the container, and the images' wget,
 * BusyBox's, cannot be given a CA); the callers that matter verify against the CA.
 */
function httpCheck(port: number, path: string, tls: boolean, startPeriodSeconds: number): HealthCheckSpec {
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`;
  return {
    command: ['wget', '-q', ...(tls ? ['--no-check-certificate'] : []), '-O', '/dev/null', url],
    intervalSeconds: 10,
    timeoutSeconds: 5,
    retries: 6,
    startPeriodSeconds,
  };
}

/**
 * Prometheus's health check where it asks for a login: wget with the password read from its secret file
 * (in the URL: BusyBox's and GNU wget both take it there; it never sits in the service's definition).
 */
export function prometheusAuthCheck(port: number, path: string): HealthCheckSpec {
  return {
    command: [
      'sh',
      '-c',
      `wget -q --no-check-certificate -O /dev/null "https://${PROMETHEUS_USER}:$(cat ${PROMETHEUS_PASSWORD_PATH})@127.0.0.1:${port}${path}"`,
    ],
    intervalSeconds: 10,
    timeoutSeconds: 5,
    retries: 6,
    startPeriodSeconds: 10,
  };
}

export class MetricsTier extends pulumi.ComponentResource {
  public readonly prometheus: DeployedService;
  public readonly grafana: DeployedService;
  public readonly grafanaAdminPassword: pulumi.Output<string>;
  /** Prometheus's login where it asks for one (aws): the password, secret. */
  public readonly prometheusPassword?: pulumi.Output<string>;

  constructor(name: string, args: MetricsTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:metrics:Metrics', name, {}, opts);
    const { platform, config } = args;
    const tls = platform.tls;
    const scheme = tls ? 'https' : 'http';

    const prometheusTls = tls && serverTls(tls, 'prometheus', '/etc/prometheus');
    // Letters and digits: it sits in a URL (the health check) and a YAML file unquoted.
    const prometheusLogin = tls
      ? new random.RandomPassword(
          `${name}-prometheus-password`,
          { length: 32, special: false },
          { parent: this },
        )
      : undefined;
    this.prometheusPassword = prometheusLogin && pulumi.secret(prometheusLogin.result);
    const passwordSecret: SecretSpec | undefined = this.prometheusPassword && {
      name: PROMETHEUS_PASSWORD_SECRET,
      value: this.prometheusPassword,
    };
    this.prometheus = platform.deploy(
      {
        name: 'prometheus',
        image: { kind: 'external', name: config.images.prometheus },
        args: [
          '--config.file=/etc/prometheus/prometheus.yml',
          '--storage.tsdb.path=/prometheus',
          `--storage.tsdb.retention.time=${config.retention.prometheusTime}`,
          `--storage.tsdb.retention.size=${config.retention.prometheusSize}`,
          ...(prometheusTls ? [`--web.config.file=${PROMETHEUS_WEB_CONFIG}`] : []),
        ],
        files: [
          {
            path: '/etc/prometheus/prometheus.yml',
            content: prometheusYaml(
              platform.scrapeConfigs(args.targets),
              tls ? PROMETHEUS_CA : undefined,
              passwordSecret ? PROMETHEUS_PASSWORD_PATH : undefined,
            ),
          },
          ...(prometheusTls && tls
            ? [prometheusTls.certFile, { path: PROMETHEUS_CA, content: tls.caCertificate }]
            : []),
        ],
        secrets: prometheusTls
          ? [
              prometheusTls.keySecret,
              // The web config holds the password's hash: a secret too.
              {
                name: 'prometheus_web_config',
                path: PROMETHEUS_WEB_CONFIG,
                value: prometheusWebConfig(
                  { certFile: prometheusTls.certFile.path, keyFile: prometheusTls.keyPath },
                  prometheusLogin ? pulumi.secret(prometheusLogin.bcryptHash) : undefined,
                ),
              },
              ...(passwordSecret ? [passwordSecret] : []),
            ]
          : undefined,
        ports: [{ name: scheme, port: PROMETHEUS_PORT, publish: config.ports.prometheus, tls: !!tls }],
        volumes: [{ name: 'data', path: '/prometheus' }],
        healthCheck: passwordSecret
          ? prometheusAuthCheck(PROMETHEUS_PORT, '/-/ready')
          : httpCheck(PROMETHEUS_PORT, '/-/ready', !!tls, 10),
      },
      { parent: this },
    );

    this.grafanaAdminPassword = new random.RandomPassword(
      `${name}-grafana-admin-password`,
      { length: 24, special: false },
      { parent: this },
    ).result;

    const grafanaTls = tls && serverTls(tls, 'grafana', '/etc/grafana/tls');
    this.grafana = platform.deploy(
      {
        name: 'grafana',
        image: { kind: 'external', name: config.images.grafana },
        env: {
          ...(grafanaTls
            ? {
                GF_SERVER_PROTOCOL: 'https',
                GF_SERVER_CERT_FILE: grafanaTls.certFile.path,
                GF_SERVER_CERT_KEY: grafanaTls.keyPath,
              }
            : {}),
          GF_SECURITY_ADMIN_USER: GRAFANA_ADMIN,
          GF_USERS_ALLOW_SIGN_UP: 'false',
          // No calls home: the stack may run on an air-gapped host.
          GF_ANALYTICS_REPORTING_ENABLED: 'false',
          GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
          GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES: 'false',
        },
        secrets: [
          {
            name: 'grafana_admin_password',
            value: this.grafanaAdminPassword,
            fileEnv: 'GF_SECURITY_ADMIN_PASSWORD__FILE',
          },
          ...(grafanaTls ? [grafanaTls.keySecret] : []),
          // Its data source logs in to Prometheus with it (read from the file, `$__file{…}`).
          ...(passwordSecret ? [passwordSecret] : []),
        ],
        files: [
          ...grafanaProvisioning(
            {
              alertThresholdVolts: config.alertThreshold,
              natsNodes: config.natsNodes,
              cassandraNodes: config.cassandraNodes,
            },
            tls?.caCertificate,
            passwordSecret ? { user: PROMETHEUS_USER, passwordFile: PROMETHEUS_PASSWORD_PATH } : undefined,
          ),
          ...(grafanaTls ? [grafanaTls.certFile] : []),
        ],
        ports: [{ name: scheme, port: GRAFANA_PORT, publish: config.ports.grafana, tls: !!tls }],
        volumes: [{ name: 'data', path: '/var/lib/grafana' }],
        healthCheck: httpCheck(GRAFANA_PORT, '/api/health', !!tls, 30),
        dependsOn: [this.prometheus],
      },
      { parent: this },
    );

    this.registerOutputs({
      grafanaAdminPassword: this.grafanaAdminPassword,
      prometheusPassword: this.prometheusPassword,
    });
  }
}

/**
 * Prometheus's web config: TLS, and with `bcryptHash` basic auth for PROMETHEUS_USER (the hash only).
 */
export function prometheusWebConfig(
  tls: { readonly certFile: string; readonly keyFile: string },
  bcryptHash?: pulumi.Input<string>,
): pulumi.Output<string> {
  return pulumi.output(bcryptHash).apply((hash) =>
    stringify({
      tls_server_config: { cert_file: tls.certFile, key_file: tls.keyFile },
      ...(hash ? { basic_auth_users: { [PROMETHEUS_USER]: hash } } : {}),
    }),
  );
}

/**
 * prometheus.yml: Prometheus itself plus the platform's scrape configs for the deployed services. With
 * `caFile`, Prometheus serves TLS and scrapes itself over HTTPS, trusting that CA.
 */
export function prometheusYaml(
  scrapeConfigs: readonly ScrapeConfig[],
  caFile?: string,
  /** Where Prometheus asks for a login: the file of its password, for its self-scrape. */
  passwordFile?: string,
): string {
  const self = {
    ...(caFile ? { scheme: 'https', tls_config: { ca_file: caFile } } : {}),
    ...(passwordFile ? { basic_auth: { username: PROMETHEUS_USER, password_file: passwordFile } } : {}),
  };
  return stringify({
    global: { scrape_interval: '10s', evaluation_interval: '10s' },
    scrape_configs: [
      { job_name: 'prometheus', ...self, static_configs: [{ targets: [`127.0.0.1:${PROMETHEUS_PORT}`] }] },
      ...scrapeConfigs,
    ],
  });
}

/**
 * Grafana's provisioning: the Prometheus data source, a file dashboard provider, one JSON file per
 * dashboard. With `prometheusCa` (PEM), Prometheus serves TLS: the data source speaks HTTPS and trusts it.
 */
export function grafanaProvisioning(
  dashboards: DashboardOptions = {},
  prometheusCa?: pulumi.Input<string>,
  /** Prometheus's login, the password as a file Grafana reads (`$__file{…}`): no secret in this file. */
  prometheusLogin?: { readonly user: string; readonly passwordFile: string },
): FileSpec[] {
  const datasource = (ca?: string) => ({
    apiVersion: 1,
    datasources: [
      {
        name: 'Prometheus',
        uid: 'prometheus',
        type: 'prometheus',
        access: 'proxy',
        url: `${ca ? 'https' : 'http'}://prometheus:${PROMETHEUS_PORT}`,
        isDefault: true,
        editable: false,
        ...(prometheusLogin ? { basicAuth: true, basicAuthUser: prometheusLogin.user } : {}),
        ...(ca || prometheusLogin
          ? {
              jsonData: ca ? { tlsAuthWithCACert: true } : {},
              secureJsonData: {
                ...(ca ? { tlsCACert: ca } : {}),
                ...(prometheusLogin ? { basicAuthPassword: `$__file{${prometheusLogin.passwordFile}}` } : {}),
              },
            }
          : {}),
      },
    ],
  });
  const providers = {
    apiVersion: 1,
    providers: [
      {
        name: 'smartmeter',
        folder: 'Smart meter',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: DASHBOARDS_DIR },
      },
    ],
  };
  return [
    {
      path: '/etc/grafana/provisioning/datasources/smartmeter.yaml',
      content:
        prometheusCa === undefined
          ? stringify(datasource())
          : pulumi.output(prometheusCa).apply((ca) => stringify(datasource(ca))),
    },
    { path: '/etc/grafana/provisioning/dashboards/smartmeter.yaml', content: stringify(providers) },
    ...allDashboards(dashboards).map((d) => {
      // The uid names the file; Grafana allows at most 40 characters.
      if (!/^[A-Za-z0-9_-]{1,40}$/.test(d.uid)) throw new Error(`dashboard "${d.title}": bad uid "${d.uid}"`);
      return {
        path: `${DASHBOARDS_DIR}/${d.uid}.json`,
        content: JSON.stringify({ ...d.json, uid: d.uid, title: d.title }, null, 2),
      };
    }),
  ];
}
