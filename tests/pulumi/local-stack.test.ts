// The local stack's resource graph, under Pulumi mocks: each tier's resources, the injector count,
// where secrets go, and configuration errors that name their key.
import { parse as parseYaml } from 'yaml';

import { containers, envOf, ProgramRun, runLocalProgram, valueOf } from './local-mocks';

const names = (run: ProgramRun, type: string) =>
  run.resources
    .filter((r) => r.type === type)
    .map((r) => r.name)
    .sort();

describe('local stack (mocks)', () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runLocalProgram({ injectors: '2' });
  });

  it('declares every tier as a component with its type token', () => {
    const components = run.resources.filter((r) => r.type.startsWith('smartmeter:')).map((r) => r.type);
    expect(components.sort()).toEqual([
      'smartmeter:messaging:Messaging',
      'smartmeter:metrics:Metrics',
      'smartmeter:platform:Local',
      'smartmeter:storage:Storage',
      'smartmeter:streaming:Streaming',
      'smartmeter:training:Training',
    ]);
  });

  it('runs one container per replica, named <service>-<index>', () => {
    expect(names(run, 'docker:index/container:Container')).toEqual([
      'cassandra-0',
      'cassandra-auth-0',
      'grafana-0',
      'ingest-0',
      'inject-0',
      'inject-1',
      'migrate-0',
      'nats-0',
      'nats-exporter-0',
      'predict-0',
      'prometheus-0',
      'stream-0',
      'train-0',
    ]);
  });

  it('puts every container on the one network, reachable by service and replica name', () => {
    const network = run.resources.filter((r) => r.type === 'docker:index/network:Network');
    expect(network).toHaveLength(1);
    for (const c of containers(run)) {
      expect(c.inputs.networksAdvanced).toEqual([
        { name: 'smartmeter', aliases: [c.name.replace(/-\d+$/, ''), c.name] },
      ]);
    }
  });

  it('builds the services image once from the repository root and pulls each third-party image once', () => {
    const built = run.resources.filter((r) => r.type === 'docker:index/image:Image');
    expect(built).toHaveLength(1);
    const build = built[0].inputs.build as Record<string, unknown>;
    expect(String(build.dockerfile)).toMatch(/services\/Dockerfile$/);
    expect(build.args).toEqual({ NODE_IMAGE: 'node:24-bookworm-slim' });
    expect(built[0].inputs.skipPush).toBe(true);
    const pulled = run.resources
      .filter((r) => r.type === 'docker:index/remoteImage:RemoteImage')
      .map((r) => r.inputs.name);
    expect(pulled.sort()).toEqual([
      'cassandra:5.0',
      'grafana/grafana:12.1.1',
      'nats:2.15-alpine',
      'natsio/prometheus-nats-exporter:0.17.3',
      'prom/prometheus:v3.5.0',
    ]);
  });

  it('gives NATS, Cassandra, Prometheus and Grafana a volume each', () => {
    expect(names(run, 'docker:index/volume:Volume')).toEqual([
      'smartmeter-cassandra-data-0',
      'smartmeter-grafana-data-0',
      'smartmeter-nats-jetstream-0',
      'smartmeter-prometheus-data-0',
    ]);
  });

  it('publishes only Grafana, Prometheus, NATS and Cassandra, on 127.0.0.1', () => {
    const published = containers(run).flatMap((c) =>
      ((c.inputs.ports as { internal: number; external: number; ip: string }[]) ?? []).map(
        (p) => `${c.name} ${p.ip}:${p.external}->${p.internal}`,
      ),
    );
    expect(published.sort()).toEqual([
      'cassandra-0 127.0.0.1:9042->9042',
      'grafana-0 127.0.0.1:3000->3000',
      'nats-0 127.0.0.1:4222->4222',
      'nats-0 127.0.0.1:8222->8222',
      'prometheus-0 127.0.0.1:9090->9090',
    ]);
  });

  it('numbers the injectors from 1 and gives every role the services contract', () => {
    const byName = new Map(containers(run).map((c) => [c.name, c]));
    expect(envOf(byName.get('inject-0')!)).toContain('INJECT_SLOT=1');
    expect(envOf(byName.get('inject-1')!)).toContain('INJECT_SLOT=2');
    expect(envOf(byName.get('stream-0')!)).toContain('ALERT_THRESHOLD_V=120');
    // Outages: none injected by default; the stream job detects them with its defaults.
    expect(envOf(byName.get('inject-1')!)).toEqual(
      expect.arrayContaining([
        'INJECT_OUTAGE_RATE=0',
        'INJECT_TRANSFORMER_OUTAGE_RATE=0',
        'INJECT_OUTAGE_MINUTES=120',
      ]),
    );
    expect(envOf(byName.get('stream-0')!)).toEqual(
      expect.arrayContaining(['STREAM_OUTAGE_INTERVALS=3', 'STREAM_TRANSFORMER_OUTAGE_SHARE=0.5']),
    );
    for (const role of ['inject', 'ingest', 'stream', 'train', 'predict']) {
      const c = byName.get(`${role}-0`)!;
      expect(c.inputs.command).toEqual([role]);
      expect(envOf(c)).toEqual(
        expect.arrayContaining([
          'NATS_URL=nats://nats-0:4222',
          `NATS_USER=${role}`,
          'NATS_PASSWORD_FILE=/run/secrets/nats_password',
          'METRICS_PORT=9464',
        ]),
      );
      // Only the roles that create the raw stream size its copies (tests/contract/ checks the rest).
      expect(envOf(c).includes('JETSTREAM_REPLICAS=1')).toBe(role === 'ingest' || role === 'stream');
      expect(c.inputs.restart).toBe('unless-stopped');
      expect((c.inputs.healthcheck as { tests: string[] }).tests.slice(0, 2)).toEqual(['CMD', 'node']);
    }
    expect(envOf(byName.get('ingest-0')!)).toEqual(
      expect.arrayContaining([
        'CASSANDRA_CONTACT_POINTS=cassandra-0:9042',
        'CASSANDRA_USERNAME=smartmeter_ingest',
        'CASSANDRA_PASSWORD_FILE=/run/secrets/cassandra_password',
      ]),
    );
    const migrate = byName.get('migrate-0')!;
    expect(migrate.inputs.command).toEqual(['migrate']);
    expect(migrate.inputs).toMatchObject({ restart: 'no', mustRun: false, attach: true });
    expect(envOf(migrate)).toEqual(
      expect.arrayContaining([
        'CASSANDRA_USERNAME=smartmeter_admin',
        'CASSANDRA_ROLE_PREFIX=smartmeter',
        'CASSANDRA_RETIRED_ROLES=smartmeter_app',
        'CASSANDRA_INGEST_PASSWORD_FILE=/run/secrets/cassandra_ingest_password',
      ]),
    );
  });

  it('routes Cassandra requests by token only when some nodes hold no copy of a partition', async () => {
    const tokenAware = (r: ProgramRun) =>
      ['ingest-0', 'stream-0', 'train-0', 'predict-0'].map((name) =>
        envOf(containers(r).find((c) => c.name === name)!).find((e) =>
          e.startsWith('CASSANDRA_TOKEN_AWARE='),
        ),
      );
    // One node (replication factor 1): every node is a replica, so hashing each key is pure cost.
    expect(tokenAware(run)).toEqual(Array(4).fill('CASSANDRA_TOKEN_AWARE=false'));
    const three = await runLocalProgram({ cassandraNodes: '3', cassandraReplicationFactor: '3' });
    expect(tokenAware(three)).toEqual(Array(4).fill('CASSANDRA_TOKEN_AWARE=false'));
    const four = await runLocalProgram({ cassandraNodes: '4', cassandraReplicationFactor: '3' });
    expect(tokenAware(four)).toEqual(Array(4).fill('CASSANDRA_TOKEN_AWARE=true'));
  });

  it('keeps one Cassandra rack: the local machine is one zone', async () => {
    const three = await runLocalProgram({ cassandraNodes: '3', cassandraReplicationFactor: '3' });
    const racks = containers(three)
      .filter((c) => /^cassandra-\d+$/.test(c.name))
      .map((c) => envOf(c).find((e) => e.startsWith('CASSANDRA_RACK=')));
    expect(racks).toEqual(Array(3).fill('CASSANDRA_RACK=rack1'));
  });

  it('makes the services wait for migrate, which waits for the auth job, which waits for Cassandra', () => {
    const byName = new Map(containers(run).map((c) => [c.name, c]));
    const labels = (name: string) =>
      ((byName.get(name)!.inputs.labels as { label: string; value: string }[]) ?? []).map((l) => l.label);
    expect(labels('ingest-0')).toContain('smartmeter.after.migrate');
    expect(labels('inject-0')).toContain('smartmeter.after.migrate');
    expect(labels('migrate-0')).toContain('smartmeter.after.cassandra-auth');
    expect(byName.get('cassandra-0')!.inputs).toMatchObject({ wait: true });
  });

  const prometheusYml = (r: ProgramRun) => {
    const prometheus = containers(r).find((c) => c.name === 'prometheus-0')!;
    const uploads = prometheus.inputs.uploads as { file: string; content: string }[];
    return uploads.find((u) => u.file === '/etc/prometheus/prometheus.yml')!.content;
  };

  it('scrapes every replica that exports metrics, found by its service name in DNS', () => {
    const yml = parseYaml(prometheusYml(run)) as {
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    const discovered = Object.fromEntries(
      yml.scrape_configs
        .filter((j) => j.dns_sd_configs)
        .map((j) => [j.job_name, j.dns_sd_configs!.map((d) => `${d.names.join(',')}:${d.port}`)]),
    );
    expect(discovered).toMatchObject({
      inject: ['inject:9464'],
      ingest: ['ingest:9464'],
      stream: ['stream:9464'],
      train: ['train:9464'],
      predict: ['predict:9464'],
      'nats-exporter': ['nats-exporter:7777'],
    });
    expect(Object.keys(discovered)).not.toContain('migrate');
  });

  it('scaling changes no input of the Prometheus container (it is not replaced, its data stays)', async () => {
    const scaled = await runLocalProgram({ injectors: '3', ingestReplicas: '2' });
    const inputsOf = (r: ProgramRun) => containers(r).find((c) => c.name === 'prometheus-0')!.inputs;
    expect(inputsOf(scaled)).toEqual(inputsOf(run));
  });

  it('provisions Grafana with the Prometheus data source and the dashboard provider', () => {
    const grafana = containers(run).find((c) => c.name === 'grafana-0')!;
    const files = (grafana.inputs.uploads as { file: string; content: string }[]).map((u) => u.file);
    expect(files).toEqual(
      expect.arrayContaining([
        '/etc/grafana/provisioning/datasources/smartmeter.yaml',
        '/etc/grafana/provisioning/dashboards/smartmeter.yaml',
        '/run/secrets/grafana_admin_password',
      ]),
    );
  });

  it('keeps the Grafana admin password secret and out of every environment', async () => {
    const { pulumi, outputs } = run;
    expect(await pulumi.isSecret(outputs.grafanaAdminPassword as never)).toBe(true);
    const password = await valueOf<string>(pulumi, outputs.grafanaAdminPassword);
    expect(password).toMatch(/^Gen3rated/);
    const grafana = containers(run).find((c) => c.name === 'grafana-0')!;
    expect(envOf(grafana)).toContain('GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana_admin_password');
    // Positive control: the password does reach Grafana, as a file, and the engine sees it as secret.
    expect(grafana.secretKeys).toContain('uploads');
    const uploads = grafana.inputs.uploads as { file: string; content: string }[];
    expect(uploads.find((u) => u.file === '/run/secrets/grafana_admin_password')!.content).toBe(password);
    for (const c of containers(run)) {
      expect(
        JSON.stringify([envOf(c), c.inputs.command, c.inputs.entrypoints, c.inputs.labels]),
      ).not.toContain(password);
    }
  });

  it('keeps every generated password out of environments, commands and labels', () => {
    const generated = run.resources
      .filter((r) => r.type === 'random:index/randomPassword:RandomPassword')
      .map((r) => `Gen3rated${r.name.replace(/[^A-Za-z0-9]/g, '')}Pw`);
    expect(generated).toHaveLength(13); // NATS admin and 5 roles, Cassandra admin/default and 4 services, Grafana
    for (const c of containers(run)) {
      const visible = JSON.stringify([envOf(c), c.inputs.command, c.inputs.entrypoints, c.inputs.labels]);
      for (const secret of generated) expect(visible).not.toContain(secret);
    }
  });

  it('exports the endpoints, secrets as secrets, and a cqlsh command without the password', async () => {
    const { pulumi, outputs } = run;
    expect(await valueOf(pulumi, outputs.grafanaUrl)).toBe('http://127.0.0.1:3000');
    expect(await valueOf(pulumi, outputs.natsEndpoint)).toBe('nats://127.0.0.1:4222');
    expect(await valueOf(pulumi, outputs.cassandraEndpoint)).toBe('127.0.0.1:9042');
    for (const key of ['natsPassword', 'cassandraAdminPassword']) {
      expect(await pulumi.isSecret(outputs[key] as never)).toBe(true);
    }
    const cqlsh = await valueOf<string>(pulumi, outputs.cqlsh);
    expect(cqlsh).toBe(
      'cqlsh 127.0.0.1 9042 -u smartmeter_admin -p "$(pulumi stack output cassandraAdminPassword --show-secrets -s local)"',
    );
    expect(cqlsh).not.toContain(await valueOf<string>(pulumi, outputs.cassandraAdminPassword));
  });
});

describe('injector count (smartmeter:injectors)', () => {
  it.each([0, 1, 5])('injectors = %i gives exactly that many inject containers', async (k) => {
    const run = await runLocalProgram({ injectors: String(k) });
    const injectors = containers(run)
      .map((c) => c.name)
      .filter((n) => n.startsWith('inject-'));
    expect(injectors.sort()).toEqual(Array.from({ length: k }, (_, i) => `inject-${i}`).sort());
    const prometheus = containers(run).find((c) => c.name === 'prometheus-0')!;
    const yml = (prometheus.inputs.uploads as { file: string; content: string }[])[0].content;
    expect(yml.includes('job_name: inject')).toBe(k > 0);
  });
});

describe('retention (smartmeter:rawRetentionDays, rawStream*, prometheusRetention*)', () => {
  const byName = (run: ProgramRun) => new Map(containers(run).map((c) => [c.name, c]));

  it('gives migrate, the raw stream and Prometheus laptop defaults', async () => {
    const c = byName(await runLocalProgram({}));
    expect(envOf(c.get('migrate-0')!)).toEqual(
      expect.arrayContaining(['RAW_RETENTION_DAYS=7', 'AGGREGATE_RETENTION_DAYS=7']),
    );
    for (const role of ['ingest-0', 'stream-0']) {
      expect(envOf(c.get(role)!)).toEqual(
        expect.arrayContaining(['RAW_STREAM_MAX_AGE_S=86400', `RAW_STREAM_MAX_BYTES=${4 * 1024 ** 3}`]),
      );
    }
    expect(c.get('prometheus-0')!.inputs.command).toEqual(
      expect.arrayContaining(['--storage.tsdb.retention.time=7d', '--storage.tsdb.retention.size=1GB']),
    );
  });

  it('passes every key to the container that applies it, and only there', async () => {
    const c = byName(
      await runLocalProgram({
        rawRetentionDays: '3',
        aggregateRetentionDays: '30',
        rawStreamMaxAge: '6h',
        rawStreamMaxBytes: '512MiB',
        prometheusRetention: '2w',
        prometheusRetentionSize: '0',
      }),
    );
    expect(envOf(c.get('migrate-0')!)).toEqual(
      expect.arrayContaining(['RAW_RETENTION_DAYS=3', 'AGGREGATE_RETENTION_DAYS=30']),
    );
    for (const role of ['ingest-0', 'stream-0']) {
      expect(envOf(c.get(role)!)).toEqual(
        expect.arrayContaining(['RAW_STREAM_MAX_AGE_S=21600', `RAW_STREAM_MAX_BYTES=${512 * 1024 ** 2}`]),
      );
    }
    // The other roles' containers do not change (and are not replaced) when a budget changes.
    for (const role of ['inject-0', 'train-0', 'predict-0']) {
      expect(envOf(c.get(role)!).filter((e) => /^RAW_STREAM_MAX|RETENTION/.test(e))).toEqual([]);
    }
    expect(c.get('prometheus-0')!.inputs.command).toEqual(
      expect.arrayContaining(['--storage.tsdb.retention.time=2w', '--storage.tsdb.retention.size=0']),
    );
  });
});

describe('durability (smartmeter:durability, rawStreamDuplicateWindow, injectBufferReadings)', () => {
  const byName = (run: ProgramRun) => new Map(containers(run).map((c) => [c.name, c]));
  const natsConf = (run: ProgramRun) =>
    (byName(run).get('nats-0')!.inputs.uploads as { file: string; content: string }[]).find(
      (u) => u.file === '/etc/nats/smartmeter.conf',
    )!.content;
  const cassandraStart = (run: ProgramRun) =>
    (byName(run).get('cassandra-0')!.inputs.command as string[]).join(' ');

  it('syncs both stores before they acknowledge, by default', async () => {
    const run = await runLocalProgram({});
    expect(natsConf(run)).toMatch(
      /jetstream \{\n {2}store_dir: \/data\/jetstream\n {2}max_file_store: 4831838208\n {2}sync_interval: always\n\}/,
    );
    expect(cassandraStart(run)).toContain(
      "-e 's/^commitlog_sync: periodic/commitlog_sync: batch/' -e '/^commitlog_sync_period:/d' ",
    );
    const c = byName(run);
    expect(envOf(c.get('inject-0')!)).toEqual(
      expect.arrayContaining(['INJECT_BUFFER_READINGS=300000', 'RAW_STREAM_DUPLICATE_WINDOW_S=120']),
    );
    for (const role of ['ingest-0', 'stream-0'])
      expect(envOf(c.get(role)!)).toContain('RAW_STREAM_DUPLICATE_WINDOW_S=120');
  });

  it('relaxed leaves both engines on their own periodic sync; the other keys reach their roles', async () => {
    const run = await runLocalProgram({
      durability: 'relaxed',
      rawStreamDuplicateWindow: '10m',
      injectBufferReadings: '50000',
    });
    expect(natsConf(run)).not.toContain('sync_interval');
    expect(cassandraStart(run)).not.toContain('commitlog_sync');
    expect(envOf(byName(run).get('inject-0')!)).toEqual(
      expect.arrayContaining(['INJECT_BUFFER_READINGS=50000', 'RAW_STREAM_DUPLICATE_WINDOW_S=600']),
    );
  });

  it("starts Cassandra without 5.0's CASSANDRA_4 compatibility (TTLs past 2038), whatever the durability", async () => {
    for (const durability of ['synced', 'relaxed'])
      expect(cassandraStart(await runLocalProgram({ durability }))).toContain(
        "-e 's/^storage_compatibility_mode: CASSANDRA_4/storage_compatibility_mode: NONE/' ",
      );
  });

  it.each([
    [{ durability: 'fast' }, /smartmeter:durability must be one of synced, relaxed, got "fast"/],
    [
      { rawStreamDuplicateWindow: '2d' },
      /smartmeter:rawStreamDuplicateWindow must be a duration .* at least 1 s and at most 86400 s/,
    ],
    [{ injectBufferReadings: '10' }, /smartmeter:injectBufferReadings must be an integer >= 1000/],
  ])('refuses %j naming the key', async (config, message) => {
    await expect(runLocalProgram(config)).rejects.toThrow(message);
  });
});

describe("the injectors' delivery ledger (smartmeter:injectLedgerDir)", () => {
  it('is off by default; set, the host directory is mounted read-write into every injector', async () => {
    const plain = await runLocalProgram({});
    const inject = containers(plain).find((c) => c.name === 'inject-0')!;
    expect(inject.inputs.mounts).toBeUndefined();
    expect(envOf(inject).some((e) => e.startsWith('INJECT_LEDGER_DIR'))).toBe(false);

    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    const run = await runLocalProgram({ injectors: '2', injectLedgerDir: dir });
    for (const c of containers(run).filter((x) => x.name.startsWith('inject-'))) {
      expect(c.inputs.mounts).toEqual([{ type: 'bind', source: dir, target: '/ledger', readOnly: false }]);
      expect(envOf(c)).toContain('INJECT_LEDGER_DIR=/ledger');
    }
    expect(containers(run).filter((c) => c.inputs.mounts && !c.name.startsWith('inject-'))).toEqual([]);
  });

  it.each([
    [{ injectLedgerDir: 'ledger' }, /smartmeter:injectLedgerDir must be an absolute directory path/],
    [
      { injectLedgerDir: '/no/such/dir' },
      /smartmeter:injectLedgerDir: \/no\/such\/dir does not exist on this host/,
    ],
  ])('refuses %j naming the key', async (config, message) => {
    await expect(runLocalProgram(config)).rejects.toThrow(message);
  });
});

describe('tier switches', () => {
  it('runs only injection and storage (the original "injection architecture")', async () => {
    const run = await runLocalProgram({ tiers: 'messaging,storage,streaming' });
    const running = containers(run).map((c) => c.name);
    expect(running).toEqual(expect.arrayContaining(['inject-0', 'ingest-0', 'cassandra-0', 'nats-0']));
    expect(running.filter((n) => /^(prometheus|grafana|train|predict)-/.test(n))).toEqual([]);
    expect(run.outputs.grafanaUrl).toBeUndefined();
  });
});

describe('bad configuration fails naming the key', () => {
  it.each([
    [{ injectors: '-1' }, /smartmeter:injectors must be an integer >= 0/],
    [{ injectors: 'three' }, /smartmeter:injectors/],
    [{ platform: 'gcp' }, /smartmeter:platform must be one of local, aws, got "gcp"/],
    [{ grafanaImage: 'Grafana/Grafana:latest!' }, /smartmeter:grafanaImage must be a Docker image reference/],
    [{ tiers: 'streaming,metrics' }, /smartmeter:tiers: the streaming tier needs the messaging tier/],
    [{ rawRetentionDays: '0' }, /smartmeter:rawRetentionDays must be an integer >= 1 and <= 7300, got "0"/],
  ])('%j', async (config, message) => {
    await expect(runLocalProgram(config)).rejects.toThrow(message);
  });
});

describe('a failed job', () => {
  // Under `pulumi up` the throw fails the dependent's registration; here the decision itself is checked.
  it('stops the deployment before its dependents start, naming the container', async () => {
    const { assertJobSucceeded } = await import('../../components/platforms/local');
    expect(assertJobSucceeded('migrate', [0])).toBe('0');
    expect(() => assertJobSucceeded('migrate', [3])).toThrow(
      'job migrate-0 exited with code 3; see: docker logs migrate-0',
    );
    expect(() => assertJobSucceeded('migrate', [undefined])).toThrow(
      'job migrate-0 exited with code undefined',
    );
  });
});

describe('the Cassandra auth job script', () => {
  it('passes bash -n and shellcheck', async () => {
    const { AUTH_SCRIPT_TEXT } = await import('../../components/tiers/storage');
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'auth-')), 'cassandra-auth.sh');
    writeFileSync(file, AUTH_SCRIPT_TEXT);
    execFileSync('bash', ['-n', file]);
    // ADMIN_ROLE, CASSANDRA_HOST, SYSTEM_AUTH_RF and LOCAL_DC come from the container's environment.
    expect(execFileSync('shellcheck', ['-e', 'SC2154', file], { encoding: 'utf8' })).toBe('');
  });
});
