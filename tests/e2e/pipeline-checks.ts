// What the suites check the pipeline with, through a NATS connection and a Cassandra client on the deployed
// stack: the voltage readings the broker accepted (every message in the raw stream) against the raw_data
// rows, key by key (meter and simulated minute); whether ingest has acknowledged everything accepted; the
// first message on a subject.
import { auth as cassandraAuth, Client, policies, types } from 'cassandra-driver';
import { JSONCodec, NatsConnection } from 'nats';

import { eventually, sleep } from './support';
import { parseVoltageSubject } from '../../services/src/wire/codec';
import { SUBJECTS } from '../../services/src/wire/subjects';
import { RAW_STREAM } from '../../services/src/lib/jetstream';

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

export interface Reconciliation {
  /** Voltage readings in the raw stream. */
  readonly accepted: number;
  /** Distinct meter-minute keys among them: the rows there must be. */
  readonly distinct: number;
  /** Rows stored (distinct keys read back). */
  readonly rows: number;
  /** Rows read back more than once by a full scan of the table (a key stored twice). */
  readonly duplicates: number;
  /** Keys accepted and not stored. */
  readonly missing: number;
  /** Rows not from an accepted reading. */
  readonly extra: number;
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

const minuteKey = (line: number, transformer: number, up: number, epoch: number) => {
  const t = new Date(epoch * 1000);
  return [
    line,
    transformer,
    up,
    t.getUTCFullYear(),
    t.getUTCMonth() + 1,
    t.getUTCDate(),
    t.getUTCHours(),
    t.getUTCMinutes(),
  ].join('.');
};

/** Accepted readings (every voltage message in the stream) against raw_data rows, key by key. */
export async function reconcile(nc: NatsConnection, cql: Client): Promise<Reconciliation> {
  const expected = new Set<string>();
  let accepted = 0;
  const total = await acceptedVoltage(nc);
  const consumer = await nc.jetstream().consumers.get(RAW_STREAM, { filterSubjects: SUBJECTS.voltage });
  if (total > 0) {
    const messages = await consumer.consume({ max_messages: 2000 });
    for await (const m of messages) {
      const meter = parseVoltageSubject(m.subject);
      const epoch = Number(Buffer.from(m.data).readBigInt64BE(0));
      expected.add(minuteKey(meter.line, meter.transformer, meter.usagePoint, epoch));
      accepted++;
      if (m.info.pending === 0) break;
    }
    await messages.close();
  }
  // The scan ends where the consumer says nothing is pending. Once, right after nats-2 came back, raw_data
  // held 17 keys the scan had not seen, all of which the next phase's scan found: a short scan is the
  // likely cause (not proven). Against the stream's own count a short scan fails here, and the caller's
  // eventually() scans again, instead of reporting rows "not from an accepted reading".
  if (accepted !== total)
    throw new Error(`stream scan read ${accepted} voltage messages of the ${total} it holds`);
  const stored = new Set<string>();
  let scanned = 0;
  // Page by page with execute (whole frames): cassandra-driver 4.10's row streaming (eachRow) fails with a
  // RangeError in FrameReader on pages crossing 64 KiB here.
  let pageState: string | undefined;
  do {
    const rs = await cql.execute(
      'SELECT line, transformer, usagepoint, year, month, day, hour, minute FROM smartmeter.raw_data',
      [],
      { prepare: true, fetchSize: 1000, pageState, readTimeout: 120_000 },
    );
    scanned += rs.rows.length;
    for (const row of rs.rows) {
      stored.add(
        [row.line, row.transformer, row.usagepoint, row.year, row.month, row.day, row.hour, row.minute].join(
          '.',
        ),
      );
    }
    pageState = rs.pageState ?? undefined;
  } while (pageState);
  let missing = 0;
  for (const k of expected) if (!stored.has(k)) missing++;
  let extra = 0;
  for (const k of stored) if (!expected.has(k)) extra++;
  return {
    accepted,
    distinct: expected.size,
    rows: stored.size,
    duplicates: scanned - stored.size,
    missing,
    extra,
  };
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
