// Metrics tier: Prometheus, with a scrape configuration generated from what is deployed (every service
// that declares `scrape`, each replica reached as the platform says), and Grafana with its Prometheus
// data source and the dashboards of dashboards/ provisioned as files. Grafana's admin password comes
// from @pulumi/random and reaches Grafana as a file (GF_SECURITY_ADMIN_PASSWORD__FILE).
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { stringify } from 'yaml';

import { allDashboards, type DashboardOptions } from '../../dashboards';
import type { StackConfig } from '../config';
import type { DeployedService, FileSpec, Platform, ScrapeConfig } from '../spec';

export interface MetricsTierArgs {
  readonly platform: Platform;
  readonly config: StackConfig;
  /** Everything deployed by the other tiers; those declaring `scrape` become scrape targets. */
  readonly targets: readonly DeployedService[];
}

export const GRAFANA_ADMIN = 'admin';
const PROMETHEUS_PORT = 9090;
const GRAFANA_PORT = 3000;
const DASHBOARDS_DIR = '/etc/grafana/dashboards';

export class MetricsTier extends pulumi.ComponentResource {
  public readonly prometheus: DeployedService;
  public readonly grafana: DeployedService;
  public readonly grafanaAdminPassword: pulumi.Output<string>;

  constructor(name: string, args: MetricsTierArgs, opts?: pulumi.ComponentResourceOptions) {
    super('smartmeter:metrics:Metrics', name, {}, opts);
    const { platform, config } = args;

    this.prometheus = platform.deploy(
      {
        name: 'prometheus',
        image: { kind: 'external', name: config.images.prometheus },
        args: [
          '--config.file=/etc/prometheus/prometheus.yml',
          '--storage.tsdb.path=/prometheus',
          `--storage.tsdb.retention.time=${config.retention.prometheusTime}`,
          `--storage.tsdb.retention.size=${config.retention.prometheusSize}`,
        ],
        files: [
          {
            path: '/etc/prometheus/prometheus.yml',
            content: prometheusYaml(platform.scrapeConfigs(args.targets)),
          },
        ],
        ports: [{ name: 'http', port: PROMETHEUS_PORT, publish: config.ports.prometheus }],
        volumes: [{ name: 'data', path: '/prometheus' }],
        healthCheck: {
          command: ['wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${PROMETHEUS_PORT}/-/ready`],
          intervalSeconds: 10,
          timeoutSeconds: 5,
          retries: 6,
          startPeriodSeconds: 10,
        },
      },
      { parent: this },
    );

    this.grafanaAdminPassword = new random.RandomPassword(
      `${name}-grafana-admin-password`,
      { length: 24, special: false },
      { parent: this },
    ).result;

    this.grafana = platform.deploy(
      {
        name: 'grafana',
        image: { kind: 'external', name: config.images.grafana },
        env: {
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
        ],
        files: grafanaProvisioning({ alertThresholdVolts: config.alertThreshold }),
        ports: [{ name: 'http', port: GRAFANA_PORT, publish: config.ports.grafana }],
        volumes: [{ name: 'data', path: '/var/lib/grafana' }],
        healthCheck: {
          command: ['wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${GRAFANA_PORT}/api/health`],
          intervalSeconds: 10,
          timeoutSeconds: 5,
          retries: 6,
          startPeriodSeconds: 30,
        },
        dependsOn: [this.prometheus],
      },
      { parent: this },
    );

    this.registerOutputs({ grafanaAdminPassword: this.grafanaAdminPassword });
  }
}

/** prometheus.yml: Prometheus itself plus the platform's scrape configs for the deployed services. */
export function prometheusYaml(scrapeConfigs: readonly ScrapeConfig[]): string {
  return stringify({
    global: { scrape_interval: '10s', evaluation_interval: '10s' },
    scrape_configs: [
      { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${PROMETHEUS_PORT}`] }] },
      ...scrapeConfigs,
    ],
  });
}

/** Grafana's provisioning: the Prometheus data source, a file dashboard provider, one JSON file per dashboard. */
export function grafanaProvisioning(dashboards: DashboardOptions = {}): FileSpec[] {
  const datasources = {
    apiVersion: 1,
    datasources: [
      {
        name: 'Prometheus',
        uid: 'prometheus',
        type: 'prometheus',
        access: 'proxy',
        url: `http://prometheus:${PROMETHEUS_PORT}`,
        isDefault: true,
        editable: false,
      },
    ],
  };
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
    { path: '/etc/grafana/provisioning/datasources/smartmeter.yaml', content: stringify(datasources) },
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
