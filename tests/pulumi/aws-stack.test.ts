// The whole program (index.ts) on the `aws` stack, under Pulumi mocks: no AWS account, no Swarm and no
// Pulumi CLI are involved, so this checks the resource graph the program declares, not a deployment.
import {
  runAwsProgram,
  AwsProgramRun,
  ECR_PASSWORD,
  isSecretInput,
  Recorded,
  secretValue,
  stringsIn,
  zoneOfService,
} from './aws-mocks';

const ofType = (run: AwsProgramRun, type: string) => run.resources.filter((r) => r.type === type);
const services = (run: AwsProgramRun) => ofType(run, 'docker:index/service:Service');
const byName = (run: AwsProgramRun, name: string) => services(run).find((s) => s.name === name) as Recorded;
const containerSpec = (s: Recorded) =>
  (s.inputs.taskSpec as { containerSpec: Record<string, unknown> }).containerSpec;
const replicas = (s: Recorded) => (s.inputs.mode as { replicated: { replicas: number } }).replicated.replicas;
const constraints = (s: Recorded) =>
  (s.inputs.taskSpec as { placement: { constraints: string[] } }).placement.constraints;

async function outputValue(run: AwsProgramRun, name: string): Promise<{ secret: boolean; value: unknown }> {
  const out = run.outputs[name];
  if (!run.pulumi.Output.isInstance(out)) return { secret: false, value: out };
  const value = await new Promise((resolve) => out.apply(resolve));
  return { secret: await run.pulumi.isSecret(out), value };
}

describe('aws stack with the defaults of Pulumi.aws.yaml', () => {
  let run: AwsProgramRun;
  beforeAll(async () => {
    run = await runAwsProgram();
  }, 60_000);

  test('one manager and three workers, each requiring IMDSv2 with an encrypted root volume', () => {
    const nodes = ofType(run, 'aws:ec2/instance:Instance');
    expect(nodes.map((n) => n.name).sort()).toEqual([
      'aws-manager-0',
      'aws-worker-0',
      'aws-worker-1',
      'aws-worker-2',
    ]);
    for (const n of nodes) {
      expect(n.inputs.metadataOptions).toMatchObject({ httpTokens: 'required' });
      expect(n.inputs.rootBlockDevice).toMatchObject({ encrypted: true });
    }
  });

  test('every tier runs as swarm services; stateful ones as one pinned service per member', () => {
    expect(
      services(run)
        .map((s) => s.name)
        .sort(),
    ).toEqual([
      'cassandra-0',
      'cassandra-1',
      'cassandra-2',
      'cassandra-auth',
      'grafana-0',
      'ingest',
      'inject',
      'migrate',
      'nats-0',
      'nats-1',
      'nats-2',
      'nats-exporter',
      'predict',
      'prometheus-0',
      'stream',
      'train',
    ]);
    expect(replicas(byName(run, 'inject'))).toBe(3);
    expect(replicas(byName(run, 'ingest'))).toBe(2);
    // Stateless services run on workers; each member of a stateful one on its own worker slot.
    expect(constraints(byName(run, 'inject'))).toEqual(['node.role == worker']);
    for (const name of ['nats', 'cassandra']) {
      const slots = [0, 1, 2].map((k) => constraints(byName(run, `${name}-${k}`))[1]);
      expect(slots).toEqual([0, 1, 2].map((k) => `engine.labels.smartmeter.slot == ${k}`));
    }
  });

  test('three public subnets in three zones; every NATS and Cassandra member in its own zone, its rack', () => {
    const subnets = ofType(run, 'aws:ec2/subnet:Subnet');
    expect(subnets.map((s) => s.inputs.availabilityZone)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    for (const name of ['nats', 'cassandra']) {
      const zones = [0, 1, 2].map((k) => zoneOfService(run.resources, `${name}-${k}`));
      expect(new Set(zones).size).toBe(3);
    }
    // GossipingPropertyFileSnitch's rack is the member's zone: NetworkTopologyStrategy spreads over them.
    for (const k of [0, 1, 2]) {
      const env = containerSpec(byName(run, `cassandra-${k}`)).env as Record<string, string>;
      expect(env.CASSANDRA_RACK).toBe(zoneOfService(run.resources, `cassandra-${k}`));
      expect(env.CASSANDRA_DC).toBe('datacenter1');
    }
  });

  test('NATS is a 3-node cluster: routes to every member, member names resolve to the task itself', () => {
    for (const k of [0, 1, 2]) {
      const s = byName(run, `nats-${k}`);
      expect(s.inputs.endpointSpec).toMatchObject({ mode: 'dnsrr' });
      expect(containerSpec(s).env).toEqual({ SERVER_NAME: `nats-${k + 1}` });
      expect(containerSpec(s).mounts).toEqual([
        { type: 'volume', source: `smartmeter-nats-jetstream-${k}`, target: '/data' },
      ]);
    }
    const conf = ofType(run, 'docker:index/secret:Secret').find(
      (s) => s.name === 'nats-nats_conf',
    ) as Recorded;
    const text = Buffer.from(String(secretValue(conf.inputs.data)), 'base64').toString();
    // Routes log in as the route user, with the generated route password.
    const route = 'route:generated-secret-messaging-nats-route-password-\\d+-Zq9';
    expect(text).toMatch(
      new RegExp(
        `routes: \\[\\s*${[0, 1, 2].map((k) => `"nats://${route}@nats-${k}:6222"`).join('\\s*')}\\s*\\]`,
      ),
    );
    expect(text).toMatch(
      /authorization \{ user: "route", password: "generated-secret-messaging-nats-route-password-/,
    );
    expect(text).toMatch(/jetstream \{\s*store_dir: \/data\/jetstream/);
  });

  test('Cassandra is a ring of 3 with replication factor 3, each member on its own volume', () => {
    for (const k of [0, 1, 2]) {
      const s = byName(run, `cassandra-${k}`);
      expect(containerSpec(s).mounts).toEqual([
        { type: 'volume', source: `smartmeter-cassandra-data-${k}`, target: '/var/lib/cassandra' },
      ]);
      expect((containerSpec(s).env as Record<string, string>).CASSANDRA_SEEDS).toBe(
        'cassandra-0,cassandra-1',
      );
    }
    expect(
      (containerSpec(byName(run, 'migrate')).env as Record<string, string>).CASSANDRA_REPLICATION_FACTOR,
    ).toBe('3');
    // JetStream keeps three copies of the raw stream and the stream role's buckets on the 3-node cluster.
    for (const role of ['ingest', 'stream']) {
      expect((containerSpec(byName(run, role)).env as Record<string, string>).JETSTREAM_REPLICAS).toBe('3');
    }
  });

  test('retention reaches migrate, the roles that ensure the raw stream, and Prometheus on Swarm too', () => {
    expect(containerSpec(byName(run, 'migrate')).env).toMatchObject({
      RAW_RETENTION_DAYS: '7',
      AGGREGATE_RETENTION_DAYS: '7',
    });
    for (const role of ['ingest', 'stream']) {
      expect(containerSpec(byName(run, role)).env).toMatchObject({
        RAW_STREAM_MAX_AGE_S: '86400',
        RAW_STREAM_MAX_BYTES: String(4 * 1024 ** 3),
      });
    }
    expect(containerSpec(byName(run, 'prometheus-0')).args).toEqual(
      expect.arrayContaining(['--storage.tsdb.retention.time=7d', '--storage.tsdb.retention.size=1GB']),
    );
  });

  test('jobs run to completion once (restarted only on failure); services are restarted and awaited', () => {
    for (const job of ['cassandra-auth', 'migrate']) {
      const s = byName(run, job);
      expect((s.inputs.taskSpec as Record<string, unknown>).restartPolicy).toMatchObject({
        condition: 'on-failure',
      });
      expect(s.inputs.convergeConfig).toBeUndefined();
    }
    const cassandra = byName(run, 'cassandra-0');
    expect((cassandra.inputs.taskSpec as Record<string, unknown>).restartPolicy).toMatchObject({
      condition: 'any',
    });
    expect(cassandra.inputs.convergeConfig).toMatchObject({ delay: '10s' });
  });

  test('all services share one encrypted overlay network; only NATS and its exporter join the monitoring one', () => {
    const nets = ofType(run, 'docker:index/network:Network');
    expect(nets.map((n) => n.name)).toEqual(['aws-overlay', 'smartmeter-natsmon']);
    for (const n of nets)
      expect(n.inputs).toMatchObject({ driver: 'overlay', options: { encrypted: 'true' } });
    // NATS monitoring: internal, its fixed subnet, not attachable (no container of the user's joins it).
    expect(nets[1].inputs).toMatchObject({
      internal: true,
      attachable: false,
      ipamConfigs: [{ subnet: '10.231.254.0/24' }],
    });
    for (const s of services(run)) {
      const monitoring = /^nats-\d+$/.test(s.name) || s.name === 'nats-exporter';
      expect((s.inputs.taskSpec as { networksAdvanceds: { id: string }[] }).networksAdvanceds).toEqual([
        expect.objectContaining({ id: `${nets[0].name}-id` }),
        ...(monitoring
          ? [
              expect.objectContaining({
                id: `${nets[1].name}-id`,
                aliases: s.name === 'nats-exporter' ? [] : [`natsmon-${s.name}`],
              }),
            ]
          : []),
      ]);
    }
  });

  test('Prometheus finds tasks through Swarm DNS (tasks.<service>)', () => {
    const prom = ofType(run, 'docker:index/serviceConfig:ServiceConfig').find(
      (c) => c.name === 'prometheus-file-0',
    ) as Recorded;
    const yaml = Buffer.from(String(prom.inputs.data), 'base64').toString();
    expect(yaml).toContain('tasks.inject');
    expect(yaml).toContain('tasks.ingest');
    expect(yaml).toContain('tasks.nats-exporter');
    expect(yaml).toMatch(/dns_sd_configs/);
  });

  test('the services image is pushed to ECR and pulled with registry auth', () => {
    const image = ofType(run, 'docker:index/image:Image')[0];
    expect(String(image.inputs.imageName)).toMatch(
      /^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/aws-services:latest$/,
    );
    expect(String((image.inputs.build as Record<string, unknown>).dockerfile)).toMatch(
      /services\/Dockerfile$/,
    );
    for (const s of services(run)) {
      const image = String(containerSpec(s).image);
      if (image.includes('.dkr.ecr.')) {
        expect(image).toMatch(/@sha256:/);
        expect(isSecretInput(s.inputs.auth)).toBe(true);
      } else {
        expect(s.inputs.auth).toBeUndefined();
      }
    }
    expect(containerSpec(byName(run, 'inject')).image).toMatch(/\.dkr\.ecr\./);
  });

  test('the docker provider reaches the first manager over SSH once the swarm is ready', () => {
    const provider = ofType(run, 'pulumi:providers:docker')[0];
    expect(provider.inputs.host).toMatch(/^ssh:\/\/ec2-user@198\.51\.100\.\d+$/);
    const ready = run.resources.find((r) => r.type.startsWith('pulumi-nodejs:dynamic')) as Recorded;
    expect(ready.inputs).toMatchObject({ nodes: 4 });
  });

  test('Grafana is reachable from the allowed CIDR only, through the routing mesh, over HTTPS', async () => {
    const grafana = byName(run, 'grafana-0');
    expect(grafana.inputs.endpointSpec).toEqual({
      mode: 'vip',
      ports: [
        { name: 'https', targetPort: 3000, publishedPort: 3000, protocol: 'tcp', publishMode: 'ingress' },
      ],
    });
    const rule = ofType(run, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').find(
      (r) => r.inputs.toPort === 3000,
    ) as Recorded;
    expect(rule.inputs.cidrIpv4).toBe('203.0.113.7/32');
    expect((await outputValue(run, 'grafanaUrl')).value).toMatch(/^https:\/\/198\.51\.100\.\d+:3000$/);
    expect((await outputValue(run, 'prometheusUrl')).value).toMatch(/^https:\/\/198\.51\.100\.\d+:9090$/);
  });

  test('no ingress from 0.0.0.0/0 or ::/0 anywhere', () => {
    const rules = [
      ...ofType(run, 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').map((r) => r.inputs),
      ...ofType(run, 'aws:ec2/securityGroupRule:SecurityGroupRule')
        .filter((r) => r.inputs.type === 'ingress')
        .map((r) => r.inputs),
      ...ofType(run, 'aws:ec2/securityGroup:SecurityGroup').flatMap(
        (g) => (g.inputs.ingress as Record<string, unknown>[] | undefined) ?? [],
      ),
    ];
    expect(rules.length).toBeGreaterThan(0);
    for (const r of rules) {
      for (const world of ['0.0.0.0/0', '::/0']) expect(stringsIn(r)).not.toContain(world);
      expect(r.cidrIpv6).toBeUndefined();
    }
  });

  describe('secrets', () => {
    // Every generated secret, as the mocks resolved them, and the ECR password.
    const secretValues = () => [
      ...ofType(run, 'random:index/randomPassword:RandomPassword').map((r) => `generated-secret-${r.name}-`),
      ECR_PASSWORD,
    ];
    const leaks = (text: string) => secretValues().filter((v) => text.includes(v));

    test('the mocks generated the secrets this test looks for', () => {
      expect(
        ofType(run, 'random:index/randomPassword:RandomPassword')
          .map((r) => r.name)
          .sort(),
      ).toEqual([
        'messaging-nats-ingest-password',
        'messaging-nats-inject-password',
        'messaging-nats-password',
        'messaging-nats-predict-password',
        'messaging-nats-route-password',
        'messaging-nats-stream-password',
        'messaging-nats-train-password',
        'metrics-grafana-admin-password',
        'metrics-prometheus-password',
        'storage-cassandra-admin-password',
        'storage-cassandra-default-password',
        'storage-cassandra-ingest-password',
        'storage-cassandra-predict-password',
        'storage-cassandra-stream-password',
        'storage-cassandra-train-password',
      ]);
    });

    test('no service environment holds a secret: secrets are docker.Secrets mounted as files', () => {
      for (const s of services(run)) {
        const env = containerSpec(s).env as Record<string, unknown>;
        for (const v of Object.values(env)) expect(isSecretInput(v)).toBe(false);
        expect(leaks(JSON.stringify(env))).toEqual([]);
      }
      const grafana = containerSpec(byName(run, 'grafana-0'));
      expect((grafana.env as Record<string, string>).GF_SECURITY_ADMIN_PASSWORD__FILE).toBe(
        '/run/secrets/grafana_admin_password',
      );
      expect(grafana.secrets).toEqual([
        expect.objectContaining({ fileName: '/run/secrets/grafana_admin_password' }),
        expect.objectContaining({ fileName: '/run/secrets/grafana_tls_key' }),
        expect.objectContaining({ fileName: '/run/secrets/prometheus_password' }),
      ]);
      for (const secret of ofType(run, 'docker:index/secret:Secret')) {
        expect(isSecretInput(secret.inputs.data)).toBe(true);
        expect(secret.inputs.name).toBeUndefined();
      }
    });

    test('no user data carries a secret or a join token', () => {
      for (const n of ofType(run, 'aws:ec2/instance:Instance')) {
        const userData = String(n.inputs.userData);
        expect(leaks(userData)).toEqual([]);
        expect(userData).not.toMatch(/SWMTKN-/);
      }
    });

    test('the password outputs are secret, and no plain output contains a secret', async () => {
      for (const name of [
        'grafanaAdminPassword',
        'natsPassword',
        'cassandraAdminPassword',
        'prometheusPassword',
      ]) {
        const out = await outputValue(run, name);
        expect(out.secret).toBe(true);
        expect(leaks(String(out.value))).toHaveLength(1);
      }
      for (const name of Object.keys(run.outputs)) {
        const out = await outputValue(run, name);
        if (!out.secret) expect(leaks(JSON.stringify(out.value ?? null))).toEqual([]);
      }
    });
  });
});

describe.each<Record<string, string>>([
  { managers: '3', workers: '5', injectors: '0' },
  // Two workers in three zones: a zone holds two members of each quorum, accepted here.
  { managers: '1', workers: '2', injectors: '7', allowZoneQuorumLoss: 'true' },
])('aws stack with %o', (config) => {
  let run: AwsProgramRun;
  beforeAll(async () => {
    run = await runAwsProgram(config);
  }, 60_000);

  test('the node counts and the inject replicas follow the config', () => {
    const nodes = ofType(run, 'aws:ec2/instance:Instance').map(
      (n) => (n.inputs.tags as Record<string, string>)['smartmeter:swarm-role'],
    );
    expect(nodes.filter((r) => r !== 'worker')).toHaveLength(Number(config.managers));
    expect(nodes.filter((r) => r === 'worker')).toHaveLength(Number(config.workers));
    expect(replicas(byName(run, 'inject'))).toBe(Number(config.injectors));
  });

  test('members of stateful services are spread over the workers there are', () => {
    const workers = Number(config.workers);
    for (const k of [0, 1, 2]) {
      expect(constraints(byName(run, `cassandra-${k}`))).toContain(
        `engine.labels.smartmeter.slot == ${k % workers}`,
      );
    }
  });
});

test.each(['natsPort', 'natsMonitoringPort', 'cassandraPort'])(
  '%s other than 0 is refused: the aws stack publishes only what it serves over TLS',
  async (key) => {
    await expect(runAwsProgram({ [key]: '4222' })).rejects.toThrow(
      new RegExp(
        `smartmeter:${key} must be 0 on the aws stack, got 4222: the stack publishes only what it serves over TLS`,
      ),
    );
  },
  60_000,
);

test('bad AWS configuration fails with a message naming the key', async () => {
  await expect(runAwsProgram({ allowedCidr: '0.0.0.0/0' })).rejects.toThrow(
    /smartmeter:allowedCidr must not admit the whole internet/,
  );
  await expect(runAwsProgram({ managers: '2' })).rejects.toThrow(/smartmeter:managers must be one of 1, 3/);
}, 60_000);
