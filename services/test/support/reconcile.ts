// Judging the pipeline against what the injectors were told (their delivery ledgers, src/simulator/ledger.ts)
// rather than against what the broker still holds: every reading the broker acknowledged must be a row in
// Cassandra (a voltage in raw_data under its meter and simulated minute, a temperature under its epoch) and
// exactly one message in the raw stream. Shared by the power-cut test and the end-to-end suites.
import { Client } from 'cassandra-driver';
import { NatsConnection } from 'nats';
import { LedgerEntry, readingId } from '../../src/simulator/ledger';

/** raw_data's key of a reading: meter and simulated UTC minute. */
export function minuteKey(meter: string, epoch: number): string {
  const t = new Date(epoch * 1000);
  return [
    meter,
    t.getUTCFullYear(),
    t.getUTCMonth() + 1,
    t.getUTCDate(),
    t.getUTCHours(),
    t.getUTCMinutes(),
  ].join('.');
}

/** Every raw_data key, page by page (cassandra-driver 4.10's row streaming fails on large pages). */
export async function rawDataKeys(cql: Client, keyspace: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let pageState: string | undefined;
  do {
    const rs = await cql.execute(
      `SELECT line, transformer, usagepoint, year, month, day, hour, minute FROM ${keyspace}.raw_data`,
      [],
      { prepare: true, fetchSize: 5000, pageState, readTimeout: 120_000 },
    );
    for (const r of rs.rows) {
      keys.add([r.line, r.transformer, r.usagepoint, r.year, r.month, r.day, r.hour, r.minute].join('.'));
    }
    pageState = rs.pageState ?? undefined;
  } while (pageState);
  return keys;
}

/** Epochs of the temperature table. */
export async function temperatureEpochs(cql: Client, keyspace: string): Promise<Set<number>> {
  const rs = await cql.execute(`SELECT epoch FROM ${keyspace}.temperature`, [], {
    fetchSize: 100_000,
    readTimeout: 120_000,
  });
  return new Set(rs.rows.map((r) => Number(r.epoch)));
}

/**
 * How many messages of the stream carry each Nats-Msg-Id (a reading stored twice counts 2): every message up
 * to the stream's last sequence when the scan starts. The scan ends on that sequence. It used to end when a
 * message's `pending` (the server's count of what follows it, carried in its ack subject) read 0, and the
 * swarm suite once saw a scan end short right after nats-2 came back (its cause was not found; callers
 * retried). An ordered consumer delivers every sequence in order, so ended on the last one a scan cannot end
 * short: fewer messages than the stream counted means some were removed while it ran (retention), and
 * fails it. A scan that stalls is closed after `timeoutMs` and fails the same way.
 */
export async function streamIdCounts(
  nc: NatsConnection,
  stream: string,
  timeoutMs = 300_000,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const { messages: total, last_seq: lastSeq } = (await (await nc.jetstreamManager()).streams.info(stream))
    .state;
  if (total === 0) return counts;
  const messages = await (await nc.jetstream().consumers.get(stream)).consume({ max_messages: 5000 });
  const timer = setTimeout(() => void messages.close(), timeoutMs);
  let read = 0;
  try {
    for await (const m of messages) {
      const id = m.headers?.get('Nats-Msg-Id') ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
      read++;
      if (m.seq >= lastSeq) break;
    }
  } finally {
    clearTimeout(timer);
    await messages.close();
  }
  if (read < total)
    throw new Error(
      `stream scan read ${read} of the ${total} messages ${stream} held up to sequence ${lastSeq}`,
    );
  return counts;
}

export interface Verdict {
  /** Readings the broker acknowledged (ledger entries: voltages and temperatures). */
  acknowledged: number;
  /** Of those, stored in Cassandra. */
  stored: number;
  /** Acknowledged and not in Cassandra. */
  lost: number;
  /** Acknowledged and no longer in the raw stream (forecasts and retire notices included). */
  lostInStream: number;
  /** Acknowledged and in the raw stream more than once. */
  storedTwice: number;
  /** A few lost readings' ids, to start from. */
  examples: string[];
}

/**
 * Each ledger entry against the rows and the stream. `idCounts` may be undefined when the stream is not
 * judged (its retention may have dropped acknowledged readings on purpose).
 */
export function judge(
  entries: readonly LedgerEntry[],
  rows: Set<string>,
  temperatures: Set<number>,
  idCounts?: Map<string, number>,
): Verdict {
  const v: Verdict = { acknowledged: 0, stored: 0, lost: 0, lostInStream: 0, storedTwice: 0, examples: [] };
  for (const e of entries) {
    const id = readingId(e.kind, e.key, e.epoch);
    if (idCounts) {
      const n = idCounts.get(id) ?? 0;
      if (n === 0) v.lostInStream++;
      if (n > 1) v.storedTwice++;
    }
    if (e.kind !== 'voltage' && e.kind !== 'temperature') continue; // not stored in Cassandra
    v.acknowledged++;
    const ok = e.kind === 'voltage' ? rows.has(minuteKey(e.key, e.epoch)) : temperatures.has(e.epoch);
    if (ok) v.stored++;
    else {
      v.lost++;
      if (v.examples.length < 5) v.examples.push(id);
    }
  }
  return v;
}
