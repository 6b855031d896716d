// The exporter metrics the dashboards query are really exported: the real prometheus-nats-exporter
// (scripts/nats-exporter.sh), run with the messaging tier's flags against the dev NATS server, with a
// stream and a consumer of our own so that the JetStream metrics exist, scraped on a loopback port.
import { AckPolicy, NatsConnection, StringCodec } from 'nats';

import { backingEnv, natsConnect, requireService } from '../../services/test/support/backing';
import {
  type Exporter,
  exporterQueries,
  type Exposition,
  missingFromExposition,
  parseExposition,
  startExporter,
} from './nats-exporter';
import { NATS_EXPORTER_CLUSTER_METRICS } from './nats-exporter-metrics';

jest.setTimeout(120_000);

const env = backingEnv();
const run = `dash${Date.now().toString(36)}`;
const stream = `DASHBOARDS_${run}`.toUpperCase();
const consumer = 'lagging';
const PUBLISHED = 25;
let nc: NatsConnection;
let exporter: Exporter | undefined;

/** Scrapes until our consumer shows up (the exporter polls NATS on each scrape); bounded in count. */
async function scrapeWithOurConsumer(e: Exporter): Promise<string> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const text = await e.scrape().catch((err: Error) => {
      if (err.message.startsWith('the exporter exited')) throw err;
      return ''; // not listening yet
    });
    if (text.includes(`consumer_name="${consumer}"`) && text.includes(`stream_name="${stream}"`)) return text;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `no metrics for consumer ${stream}/${consumer} at ${e.url} after 60 scrapes; log: ${e.log()}`,
  );
}

let exposition: Exposition;
let text: string;

beforeAll(async () => {
  await requireService('nats', env.natsUrl);
  nc = await natsConnect(env, 'nats-exporter-test');
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${run}.>`] });
  await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.Explicit });
  const js = nc.jetstream();
  const sc = StringCodec();
  for (let i = 0; i < PUBLISHED; i++) await js.publish(`${run}.reading`, sc.encode(`r${i}`));

  exporter = await startExporter([env.natsMonitorUrl]);
  text = await scrapeWithOurConsumer(exporter);
  exposition = parseExposition(text);
});

afterAll(async () => {
  await exporter?.stop();
  if (nc) {
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
    await nc.close();
  }
});

test('every exporter metric the dashboards query is exported, with the labels they use', () => {
  expect(exporterQueries().length).toBeGreaterThan(10);
  // The dev server is not clustered: what only a cluster exports is checked by nats-cluster.int.test.ts.
  expect(missingFromExposition(exposition, NATS_EXPORTER_CLUSTER_METRICS)).toEqual([]);
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
