// The exporter metrics the dashboards query are really exported: the real prometheus-nats-exporter
// (scripts/nats-exporter.sh), run with the messaging tier's flags against the dev NATS server, with a
// stream and a consumer of our own so that the JetStream metrics exist, scraped on a loopback port.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { AckPolicy, connect, NatsConnection, StringCodec } from 'nats';

import { NATS_EXPORTER_FLAGS } from '../../components/tiers/messaging';
import { backingEnv, requireService } from '../../services/test/support/backing';
import { NATS_EXPORTER_PREFIXES } from './nats-exporter-metrics';
import { panelQueries } from './panels';
import { legendLabels, queryRefs } from './promql';

jest.setTimeout(120_000);

const env = backingEnv();
const run = `dash${Date.now().toString(36)}`;
const stream = `DASHBOARDS_${run}`.toUpperCase();
const consumer = 'lagging';
const PUBLISHED = 25;
let nc: NatsConnection;
let exporter: ChildProcess | undefined;
let exporterLog = '';

/** Series name → label names, from the Prometheus text format. */
type Exposition = Map<string, Set<string>>;

function parseExposition(text: string): Exposition {
  const series: Exposition = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    const labels = series.get(m[1]) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(l[1]);
    series.set(m[1], labels);
  }
  return series;
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Scrapes until our consumer shows up (the exporter polls NATS on each scrape); bounded in count. */
async function scrapeWithOurConsumer(url: string): Promise<string> {
  for (let attempt = 0; attempt < 60; attempt++) {
    if (exporter?.exitCode !== null) throw new Error(`the exporter exited: ${exporterLog}`);
    try {
      const res = await fetch(url);
      const text = await res.text();
      if (text.includes(`consumer_name="${consumer}"`) && text.includes(`stream_name="${stream}"`))
        return text;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `no metrics for consumer ${stream}/${consumer} at ${url} after 60 scrapes; log: ${exporterLog}`,
  );
}

let exposition: Exposition;
let text: string;

beforeAll(async () => {
  await requireService('nats', env.natsUrl);
  nc = await connect({ servers: env.natsUrl, user: env.natsUser, pass: env.natsPassword });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${run}.>`] });
  await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.Explicit });
  const js = nc.jetstream();
  const sc = StringCodec();
  for (let i = 0; i < PUBLISHED; i++) await js.publish(`${run}.reading`, sc.encode(`r${i}`));

  const binary = execFileSync('bash', [join(__dirname, '../../scripts/nats-exporter.sh')], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop() as string;
  const port = await freeLoopbackPort();
  exporter = spawn(
    binary,
    [...NATS_EXPORTER_FLAGS, '-a', '127.0.0.1', '-p', String(port), env.natsMonitorUrl],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const keep = (chunk: Buffer) => (exporterLog = (exporterLog + chunk.toString()).slice(-4000));
  exporter.stdout?.on('data', keep);
  exporter.stderr?.on('data', keep);
  text = await scrapeWithOurConsumer(`http://127.0.0.1:${port}/metrics`);
  exposition = parseExposition(text);
});

afterAll(async () => {
  if (exporter && exporter.exitCode === null) {
    const exited = new Promise((r) => exporter?.once('exit', r));
    exporter.kill('SIGTERM');
    await exited;
  }
  if (nc) {
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
    await nc.close();
  }
});

const exporterQueries = () =>
  panelQueries()
    .map((q) => ({ q, refs: queryRefs(q.expr) }))
    .filter(({ refs }) =>
      refs.selectors.some((s) => NATS_EXPORTER_PREFIXES.some((p) => s.metric.startsWith(p))),
    );

test('every exporter metric the dashboards query is exported, with the labels they use', () => {
  const queries = exporterQueries();
  expect(queries.length).toBeGreaterThan(10);
  const problems = queries.flatMap(({ q, refs }) => {
    const where = `${q.dashboard} / "${q.panel}": ${q.expr}`;
    const missing = refs.selectors
      .filter((s) => !exposition.has(s.metric))
      .map((s) => `${s.metric} (${where})`);
    const labels = new Set(
      refs.selectors.flatMap((s) => [...(exposition.get(s.metric) ?? []), 'instance', 'job']),
    );
    const used = [...refs.selectors.flatMap((s) => s.matchers.map((m) => m.label)), ...refs.groupingLabels];
    const unknown = [...used, ...legendLabels(q.legend)]
      .filter((l) => !labels.has(l))
      .map((l) => `label "${l}" (${where})`);
    return [...missing, ...unknown];
  });
  expect(problems).toEqual([]);
});

test('the consumer lag panel sees our consumer lagging by what we published', () => {
  const lag = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('jetstream_consumer_num_pending{') &&
        l.includes(`stream_name="${stream}"`) &&
        l.includes(`consumer_name="${consumer}"`),
    );
  expect(lag && Number(lag.trim().split(/\s+/).pop())).toBe(PUBLISHED);
  const queried = exporterQueries().flatMap(({ refs }) => refs.selectors.map((s) => s.metric));
  expect(queried).toContain('jetstream_consumer_num_pending');
});
