// What the suites check the pipeline with, through a NATS connection and a Cassandra client on the deployed
// stack: every reading the broker acknowledged to an injector (their delivery ledgers, written to a host
// directory: smartmeter:injectLedgerDir) against the raw_data and temperature rows and the raw stream
// (services/test/support/reconcile.ts); whether ingest has acknowledged everything in the stream; the first
// message on a subject.
import { auth as cassandraAuth, Client, policies, types } from 'cassandra-driver';
import { JSONCodec, NatsConnection } from 'nats';

import { eventually, sleep } from './support';
import { SUBJECTS } from '../../services/src/wire/subjects';
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
export function stackCassandra(
  contact: string,
  outputs: Record<string, unknown>,
  opts: { onlyContact?: boolean } = {},
): Client {
  return new Client({
    contactPoints: [contact],
    localDataCenter: 'datacenter1',
    authProvider: new cassandraAuth.PlainTextAuthProvider(
      String(outputs.cassandraAdminUser),
      String(outputs.cassandraAdminPassword),
    ),
    socketOptions: { readTimeout: 60_000 },
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
  const inStream = new Set<string>();
  for (const id of idCounts.keys()) {
    if (id[0] !== 'v') continue;
    const { key, epoch } = parseReadingId(id);
    inStream.add(minuteKey(key, epoch));
  }
  let extra = 0;
  for (const k of rows) if (!inStream.has(k)) extra++;
  return { ...verdict, rows: rows.size, extra };
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
