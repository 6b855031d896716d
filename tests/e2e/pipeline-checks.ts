// What the suites check the pipeline with, through a NATS connection and a Cassandra client on the deployed
// stack: every reading the broker acknowledged to an injector (their delivery ledgers, written to a host
// directory: smartmeter:injectLedgerDir) against the raw_data and temperature rows and the raw stream
// (services/test/support/reconcile.ts); whether ingest has acknowledged everything in the stream; the first
// message on a subject. What a suite asserts of a figure or a message is a pure function here (…Problems,
// rateProblem), unit-tested in pipeline-checks.test.ts with the inputs that must fail it.
import { auth as cassandraAuth, Client, ClientOptions, policies, types } from 'cassandra-driver';
import { JSONCodec, NatsConnection } from 'nats';
import { parse as parseYaml } from 'yaml';

import { eventually, sleep } from './support';
import { FORECAST_CYCLES, SUBJECTS } from '../../services/src/wire/subjects';
import { meterCount, topologyFromRate } from '../../services/src/simulator';
import { RAW_STREAM } from '../../services/src/lib/jetstream';
import { LedgerEntry, parseReadingId } from '../../services/src/simulator/ledger';
import {
  judge,
  minuteKey,
  rawDataKeys,
  streamIdCounts,
  temperatureEpochs,
  Verdict,
} from '../../services/test/support/reconcile';

/**
 * The suite's Cassandra client on the stack, as its admin (the stack's outputs), through `contact` only:
 * `onlyContact` keeps it off the other members, whose addresses the suite cannot reach.
 */
/**
 * The driver's TLS options for a stack that requires client encryption (its outputs have a client
 * certificate: aws): the stack CA, and the certificate and key unless `withoutCertificate` (to see the
 * nodes refuse such a client). The node's name is not checked: the e2e reaches it through a forwarder.
 */
export function stackCassandraTls(
  outputs: Record<string, unknown>,
  opts: { withoutCertificate?: boolean } = {},
): ClientOptions['sslOptions'] {
  if (outputs.cassandraClientCertificate === undefined) return undefined;
  return {
    ca: [String(outputs.caCertificate)],
    ...(!opts.withoutCertificate && {
      cert: String(outputs.cassandraClientCertificate),
      key: String(outputs.cassandraClientKey),
    }),
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
  };
}

export function stackCassandra(
  contact: string,
  outputs: Record<string, unknown>,
  opts: {
    onlyContact?: boolean;
    tls?: 'client-certificate' | 'no-certificate' | 'plaintext';
    readTimeoutMs?: number;
  } = {},
): Client {
  const tls = opts.tls ?? 'client-certificate';
  return new Client({
    sslOptions:
      tls === 'plaintext'
        ? undefined
        : stackCassandraTls(outputs, { withoutCertificate: tls === 'no-certificate' }),
    contactPoints: [contact],
    localDataCenter: 'datacenter1',
    authProvider: new cassandraAuth.PlainTextAuthProvider(
      String(outputs.cassandraAdminUser),
      String(outputs.cassandraAdminPassword),
    ),
    socketOptions: { readTimeout: opts.readTimeoutMs ?? 60_000 },
    // Reads at LOCAL_QUORUM, the level the pipeline's writes are acknowledged at: at the driver's default
    // LOCAL_ONE, one replica still waiting for a hint of a row two others hold would read as a loss.
    queryOptions: { consistency: types.consistencies.localQuorum },
    // cassandra-driver 4.10 misreads large result pages in protocol v5 frames (RangeError in FrameReader).
    protocolOptions: { maxVersion: 4 },
    policies: {
      // The driver refuses an undefined policy: the key is set only when there is one.
      ...(opts.onlyContact && {
        loadBalancing: new policies.loadBalancing.WhiteListPolicy(
          new policies.loadBalancing.RoundRobinPolicy(),
          [contact],
        ),
      }),
      // Back within a second of Cassandra's restart (the default backoff grows to minutes).
      reconnection: new policies.reconnection.ConstantReconnectionPolicy(1000),
    },
  });
}

/** Voltage readings the raw stream holds. */
export async function acceptedVoltage(nc: NatsConnection): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(RAW_STREAM, { subjects_filter: SUBJECTS.voltage });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

export async function rawRows(cql: Client): Promise<number> {
  const rs = await cql.execute('SELECT COUNT(*) AS n FROM smartmeter.raw_data', [], { readTimeout: 120_000 });
  return Number(rs.first().get('n'));
}

/** Ingest's consumers on the raw stream: messages not yet delivered or not yet acknowledged. */
export async function ingestBacklog(nc: NatsConnection): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const consumers = await jsm.consumers.list(RAW_STREAM).next();
  const ingest = consumers.filter((c) => c.name.includes('ingest'));
  if (!ingest.length) throw new Error(`no ingest consumer on ${RAW_STREAM}`);
  return ingest.reduce((n, c) => n + c.num_pending + c.num_ack_pending, 0);
}

/** Waits (bounded) until ingest has acknowledged everything accepted; resolves with the seconds it took. */
export async function drained(nc: NatsConnection, seconds = 300): Promise<number> {
  const t0 = Date.now();
  await eventually('ingest drained the stream', seconds, async () =>
    (await ingestBacklog(nc)) === 0 ? true : undefined,
  );
  return (Date.now() - t0) / 1000;
}

export interface Reconciliation extends Verdict {
  /** raw_data rows. */
  readonly rows: number;
  /** Rows of no voltage reading in the raw stream (a write from nowhere). */
  readonly extra: number;
}

/**
 * Every acknowledged reading of the ledgers (`entries`) against Cassandra and the raw stream: lost, gone
 * from the stream, stored twice in it; and rows that no message of the stream accounts for.
 */
export async function reconcile(
  nc: NatsConnection,
  cql: Client,
  entries: readonly LedgerEntry[],
): Promise<Reconciliation> {
  const idCounts = await streamIdCounts(nc, RAW_STREAM);
  const rows = await rawDataKeys(cql, 'smartmeter');
  const verdict = judge(entries, rows, await temperatureEpochs(cql, 'smartmeter'), idCounts);
  return { ...verdict, rows: rows.size, extra: strayRows(rows, idCounts.keys()) };
}

/** raw_data keys (minuteKey) that no voltage reading's id in the stream accounts for. */
export function strayRows(rows: Iterable<string>, streamIds: Iterable<string>): number {
  const inStream = new Set<string>();
  for (const id of streamIds) {
    if (id[0] !== 'v') continue;
    const { key, epoch } = parseReadingId(id);
    inStream.add(minuteKey(key, epoch));
  }
  let extra = 0;
  for (const k of rows) if (!inStream.has(k)) extra++;
  return extra;
}

/**
 * The stream job's max voltage of every epoch against the raw readings ingest stored (an outside record of
 * the same input): a reading the job dropped or missed, a flushed backlog among them, shows as a mismatch.
 */
export async function maxVoltageAgainstRaw(cql: Client): Promise<{ epochs: number; mismatched: string[] }> {
  const raw = new Map<number, number>();
  let pageState: string | undefined;
  do {
    const rs = await cql.execute(
      'SELECT year, month, day, hour, minute, voltage FROM smartmeter.raw_data',
      [],
      { prepare: true, fetchSize: 5000, pageState, readTimeout: 120_000 },
    );
    for (const r of rs.rows) {
      const epoch = Date.UTC(r.year, r.month - 1, r.day, r.hour, r.minute) / 1000;
      raw.set(epoch, Math.max(raw.get(epoch) ?? -Infinity, Number(r.voltage)));
    }
    pageState = rs.pageState ?? undefined;
  } while (pageState);
  const stored = new Map<number, number>();
  const rs = await cql.execute('SELECT epoch, voltage FROM smartmeter.max_voltage', [], {
    fetchSize: 100_000,
    readTimeout: 120_000,
  });
  for (const r of rs.rows) stored.set(Number(r.epoch), Number(r.voltage));
  const mismatched: string[] = [];
  for (const [epoch, max] of raw) {
    if (stored.get(epoch) !== max) mismatched.push(`${epoch}: raw ${max}, max_voltage ${stored.get(epoch)}`);
  }
  return { epochs: raw.size, mismatched };
}

/**
 * maxVoltageAgainstRaw once the stream job has written what it holds: with the injectors stopped, its newest
 * epoch is written after STREAM_IDLE_TIMEOUT_MS without input, so a difference is asked again for up to
 * `seconds` before it counts.
 */
export async function maxVoltageSettled(cql: Client, seconds = 90) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const result = await maxVoltageAgainstRaw(cql);
    if (result.mismatched.length === 0 || Date.now() > deadline) return result;
    await sleep(5000);
  }
}

/** The first message published on a subject from now, as JSON (bounded). */
export function firstMessage(
  nc: NatsConnection,
  subject: string,
  seconds = 300,
): Promise<Record<string, unknown>> {
  const codec = JSONCodec<Record<string, unknown>>();
  return new Promise((resolve, reject) => {
    const sub = nc.subscribe(subject, { max: 1 });
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`nothing on ${subject} within ${seconds}s`));
    }, seconds * 1000);
    void (async () => {
      for await (const m of sub) {
        clearTimeout(timer);
        resolve(codec.decode(m.data));
      }
    })();
  });
}

/**
 * Voltage readings a second that `injectors` injectors at `injectRate` publish: each of an injector's meters
 * once a cycle, and (meters + 2) messages a cycle (the temperature and its forecast) at `injectRate` a second
 * (services/src/simulator/config.ts; its 60-simulated-second floor on a cycle never applies at 900×, as an
 * injector's meters are nearly its rate).
 */
export function configuredVoltageRate(injectors: number, injectRate: number): number {
  const meters = meterCount(topologyFromRate(injectRate));
  return (injectors * meters * injectRate) / (meters + 2);
}

/**
 * How far the throughput test's rates may be from the configured one. Over its 30 s of one-second cycles, a
 * cycle more or less at either end is 3 %; the rest is for an injector's cycle skipped on a loaded machine
 * (accepted) and for ingest's lag differing between the two row counts (rows, which lag the stream).
 */
export const ACCEPTED_TOLERANCE = 0.15;
export const ROWS_TOLERANCE = 0.25;

/** Undefined when `measured` is within `tolerance` (a fraction) of `expected`, else what is wrong. */
export function rateProblem(what: string, measured: number, expected: number, tolerance: number) {
  const off = Math.abs(measured - expected) / expected;
  return Number.isFinite(off) && off <= tolerance
    ? undefined
    : `${what}: ${measured.toFixed(1)}/s is not within ${tolerance * 100}% of ${expected.toFixed(1)}/s`;
}

/**
 * What is wrong with an alert of smartmeter.extract.voltage.alert (streaming/outputs.ts) for a stack whose
 * `alertThreshold` is `thresholdV`: it must carry that threshold, a max voltage above it, readings over it,
 * and its first epoch over it inside its window.
 */
export function alertProblems(alert: Record<string, unknown>, thresholdV: number): string[] {
  const n = (k: string) => (typeof alert[k] === 'number' ? (alert[k] as number) : NaN);
  const problems: string[] = [];
  if (n('threshold') !== thresholdV) problems.push(`threshold ${alert.threshold}, not ${thresholdV}`);
  if (!(n('max_voltage') > thresholdV))
    problems.push(`max_voltage ${alert.max_voltage} not above ${thresholdV}`);
  if (!(Number.isInteger(n('count')) && n('count') >= 1))
    problems.push(`count ${alert.count}, no reading over`);
  if (!(n('window_start') <= n('epoch') && n('epoch') <= n('window_end')))
    problems.push(`epoch ${alert.epoch} outside its window ${alert.window_start}..${alert.window_end}`);
  return problems;
}

/**
 * What is wrong with a prediction's max-voltage band (a reply on smartmeter.predict or a published
 * prediction): the horizon the wire names (FORECAST_CYCLES) and three finite quantiles in order.
 */
export function bandProblems(prediction: Record<string, unknown>): string[] {
  const forecast = prediction.forecast as
    { horizonSteps?: unknown; quantiles?: Record<string, unknown> } | undefined;
  if (!forecast) return ['no forecast'];
  const problems: string[] = [];
  if (forecast.horizonSteps !== FORECAST_CYCLES)
    problems.push(`horizonSteps ${forecast.horizonSteps}, not ${FORECAST_CYCLES}`);
  const q = ['0.1', '0.5', '0.9'].map((k) => forecast.quantiles?.[k]);
  if (!q.every((x) => typeof x === 'number' && Number.isFinite(x)))
    problems.push(`quantiles ${JSON.stringify(forecast.quantiles)} are not three numbers`);
  else if (!((q[0] as number) <= (q[1] as number) && (q[1] as number) <= (q[2] as number)))
    problems.push(`quantiles out of order: ${q.join(' ')}`);
  return problems;
}

/**
 * What is wrong with Grafana's provisioning (the files the program uploads into its container): a
 * Prometheus data source at `prometheusUrl`, a dashboards provider, at least one dashboard, and every
 * dashboard's panels naming a data source, each the Prometheus one.
 */
export function provisioningProblems(
  uploads: readonly { file: string; content: string }[],
  prometheusUrl: string,
): { problems: string[]; dashboards: number } {
  const datasources = uploads.find((u) => u.file.includes('provisioning/datasources/'));
  const providers = uploads.find((u) => u.file.includes('provisioning/dashboards/'));
  if (!datasources || !providers)
    return { problems: ['no data source or no dashboards provider'], dashboards: 0 };
  const ds = parseYaml(datasources.content) as { datasources?: { uid: string; type: string; url: string }[] };
  const prometheus = ds.datasources?.find((d) => d.type === 'prometheus');
  const provider = parseYaml(providers.content) as { providers?: { options: { path: string } }[] };
  const dir = provider.providers?.[0]?.options.path;
  const dashboards = dir ? uploads.filter((u) => u.file.startsWith(`${dir}/`)) : [];
  const problems: string[] = [];
  if (prometheus?.url !== prometheusUrl) problems.push(`Prometheus data source at ${prometheus?.url}`);
  if (!dashboards.length) problems.push(`no dashboard in ${dir}`);
  for (const d of dashboards) {
    const model = JSON.parse(d.content) as { panels?: unknown };
    const refs = JSON.stringify(model.panels ?? []).match(/"datasource":\{[^}]*\}/g) ?? [];
    if (!refs.length) problems.push(`${d.file}: no panel names a data source`);
    for (const ref of refs)
      if (!ref.includes(`"uid":"${prometheus?.uid}"`)) problems.push(`${d.file}: ${ref}`);
  }
  return { problems, dashboards: dashboards.length };
}

/** Once raw_data has rows: readings accepted and rows stored per second over about `seconds`. */
export async function throughput(
  nc: NatsConnection,
  cql: Client,
  seconds = 30,
): Promise<{ accepted: number; rows: number; seconds: number }> {
  await eventually('first rows in raw_data', 300, async () => ((await rawRows(cql)) > 0 ? true : undefined));
  const a0 = await acceptedVoltage(nc);
  const r0 = await rawRows(cql);
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const a1 = await acceptedVoltage(nc);
  const r1 = await rawRows(cql);
  const elapsed = (Date.now() - t0) / 1000;
  return { accepted: (a1 - a0) / elapsed, rows: (r1 - r0) / elapsed, seconds: elapsed };
}

/** A prediction from smartmeter.predict for 31.5 °C now, asked until a model serves (bounded). */
export async function prediction(nc: NatsConnection, seconds = 180): Promise<Record<string, unknown>> {
  const codec = JSONCodec<Record<string, unknown>>();
  return eventually('a prediction from smartmeter.predict', seconds, async () => {
    const request = codec.encode({ epoch: Math.floor(Date.now() / 1000), temperature: 31.5 });
    const reply = codec.decode((await nc.request(SUBJECTS.predict, request, { timeout: 5000 })).data);
    return 'error' in reply ? undefined : reply;
  });
}
