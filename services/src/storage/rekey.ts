// Moves raw_data from the key of earlier versions, ((line, transformer, usagepoint), year, …, minute), to
// the day-bucketed key of schema.ts. Cassandra cannot change a primary key in place, so the rows go through
// a staging table with the new key: copy raw_data → staging, drop raw_data, create it with the new key,
// copy staging → raw_data, drop staging.
//
// Resumable without a progress record: which step comes next is read from the schema itself (which of
// raw_data and the staging table exist, and raw_data's key), every step is idempotent (CREATE/DROP IF
// [NOT] EXISTS, upserts of the same rows with their original write time), and raw_data is dropped only
// right after a complete copy in the same run. A crash anywhere and a re-run finish the job exactly.
//
// No accepted reading is lost to old ingest replicas still writing during an upgrade: before the first
// copy every role that writes raw_data loses MODIFY on it (ingest's role its table grant; the shared role of
// earlier versions its keyspace-wide MODIFY, which becomes per-table MODIFY on the other tables), so their
// raw_data writes fail and are retried with backoff, their messages stay unacknowledged in JetStream, and
// they land in the new raw_data once MODIFY comes back at the end (or, for a retired role, once the new
// ingest takes them over). Without such roles (development, as the superuser) writers cannot be fenced:
// stop ingest first (`npm run dev` runs migrate before the roles, so it never overlaps).
import { Client, types } from 'cassandra-driver';
import { Logger } from '../lib/log';
import { sleep } from '../lib/retry';
import {
  LEGACY_RAW_DATA_PARTITION_KEY,
  RAW_DATA_COLUMNS as COLUMNS,
  RAW_DATA_PARTITION_KEY,
  rawDataStatement,
  TABLES,
} from './schema';
import { roleExists } from './roles';

export const STAGING_TABLE = 'raw_data_rekey';

// Every replica answers: a reading written at ONE to a single replica is still copied; a replica down
// makes the step fail (and a re-run finish it) rather than copy less.
const EXACT = { prepare: true, consistency: types.consistencies.all } as const;
const CONCURRENCY = 64;

export interface RekeyContext {
  client: Client;
  keyspace: string;
  /** TTL of the rows copied back: the raw retention, minus the age of each row (its write time). */
  rawTtlSeconds: number;
  /** Roles with MODIFY on raw_data itself (ingest's): fenced by revoking that grant. */
  writerRoles?: readonly string[];
  /** Roles of earlier versions with MODIFY on the whole keyspace: fenced down to the other tables. */
  legacyRoles?: readonly string[];
  /** How long permission caches may still let a fenced write through (permissions_validity: 2 s). */
  fenceSettleMs: number;
  log: Logger;
}

export type RawDataState = 'current' | 'current+staging' | 'legacy' | 'legacy+staging';

async function partitionKey(client: Client, keyspace: string, table: string): Promise<string[] | undefined> {
  const rs = await client.execute(
    'SELECT column_name, kind, position FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
    [keyspace, table],
    { prepare: true },
  );
  if (!rs.rowLength) return undefined;
  return rs.rows
    .filter((r) => r.kind === 'partition_key')
    .sort((a, b) => (a.position as number) - (b.position as number))
    .map((r) => r.column_name as string);
}

const sameKey = (a: string[], b: string[]) => a.length === b.length && a.every((c, i) => c === b[i]);

/** Where the move stands; raw_data exists (schema.ts creates it when absent). Refuses a key it cannot move. */
export async function rawDataState(client: Client, keyspace: string): Promise<RawDataState> {
  const key = await partitionKey(client, keyspace, 'raw_data');
  const staging = (await partitionKey(client, keyspace, STAGING_TABLE)) !== undefined;
  if (key && sameKey(key, RAW_DATA_PARTITION_KEY)) return staging ? 'current+staging' : 'current';
  if (key && sameKey(key, LEGACY_RAW_DATA_PARTITION_KEY)) return staging ? 'legacy+staging' : 'legacy';
  throw new Error(
    `${keyspace}.raw_data has the partition key (${key?.join(', ') ?? 'none'}), which no version of smart-meter ` +
      `created, so migrate cannot move its rows to the key ((${RAW_DATA_PARTITION_KEY.join(', ')}), hour, minute). ` +
      `Copy what you need out of it, DROP TABLE ${keyspace}.raw_data, then run migrate again (pulumi up).`,
  );
}

const OTHER_TABLES = TABLES.filter((t) => t !== 'raw_data');

async function existing(client: Client, roles: readonly string[] = []): Promise<string[]> {
  const found: string[] = [];
  for (const role of roles) if (await roleExists(client, role)) found.push(role);
  return found;
}

/**
 * Copies every row of `from` younger than the raw retention into `to`, page by page, keeping its write time
 * (and with `ttl`, the rest of its retention); returns the rows written. `maxRows` stops early (tests).
 */
export async function copyRows(
  ctx: RekeyContext,
  from: string,
  to: string,
  opts: { ttl?: boolean; maxRows?: number } = {},
): Promise<number> {
  const { client, keyspace, log } = ctx;
  const using = opts.ttl ? 'USING TIMESTAMP ? AND TTL ?' : 'USING TIMESTAMP ?';
  const insert =
    `INSERT INTO ${keyspace}.${to} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')}) ` +
    using;
  const select = `SELECT ${COLUMNS.join(', ')}, WRITETIME(voltage) AS written FROM ${keyspace}.${from}`;
  const maxRows = opts.maxRows ?? Infinity;
  let copied = 0;
  let expired = 0;
  let pageState: string | undefined;
  do {
    // Whole pages with execute: cassandra-driver 4.10's row streaming fails on pages crossing 64 KiB.
    const rs = await client.execute(select, [], {
      ...EXACT,
      fetchSize: 1000,
      pageState,
      readTimeout: 60_000,
    });
    const params: unknown[][] = [];
    for (const row of rs.rows) {
      if (copied + params.length >= maxRows) break;
      const written = row.written as types.Long; // µs since the epoch, kept so TWCS files the row by age
      const ttl = ctx.rawTtlSeconds - Math.floor((Date.now() * 1000 - Number(written)) / 1e6);
      if (ttl <= 0) {
        expired++; // older than the retention: not carried over, it would expire the moment it is written
        continue;
      }
      const values = [...COLUMNS.map((c) => row[c] as unknown), written];
      params.push(opts.ttl ? [...values, ttl] : values);
    }
    for (let i = 0; i < params.length; i += CONCURRENCY) {
      await Promise.all(params.slice(i, i + CONCURRENCY).map((p) => client.execute(insert, p, EXACT)));
    }
    copied += params.length;
    pageState = rs.pageState ?? undefined;
  } while (pageState && copied < maxRows);
  log.info('raw_data rows copied', { from, to, copied, expired });
  return copied;
}

interface Step {
  readonly name: string;
  run(ctx: RekeyContext): Promise<unknown>;
}

/** The steps, in order. Each is idempotent; the tests run prefixes of them to simulate a crash. */
export const REKEY_STEPS: readonly Step[] = [
  {
    name: 'fence raw_data writes',
    async run({ client, keyspace, fenceSettleMs, log, ...ctx }) {
      const writers = await existing(client, ctx.writerRoles);
      const legacy = await existing(client, ctx.legacyRoles);
      if (!writers.length && !legacy.length) {
        log.warn('no role to fence: make sure nothing writes raw_data during the move', { keyspace });
        return;
      }
      for (const role of writers)
        await client.execute(`REVOKE MODIFY ON TABLE ${keyspace}.raw_data FROM ${role}`);
      for (const role of legacy) {
        for (const t of OTHER_TABLES)
          await client.execute(`GRANT MODIFY ON TABLE ${keyspace}.${t} TO ${role}`);
        await client.execute(`REVOKE MODIFY ON KEYSPACE ${keyspace} FROM ${role}`);
      }
      log.info('raw_data writes fenced', { roles: [...writers, ...legacy] });
      await sleep(fenceSettleMs);
    },
  },
  {
    name: 'create staging',
    run: ({ client, keyspace }) => client.execute(rawDataStatement(keyspace, STAGING_TABLE)),
  },
  { name: 'copy raw_data to staging', run: (ctx) => copyRows(ctx, 'raw_data', STAGING_TABLE) },
  {
    name: 'drop the old raw_data',
    run: ({ client, keyspace }) => client.execute(`DROP TABLE IF EXISTS ${keyspace}.raw_data`),
  },
  { name: 'create raw_data', run: ({ client, keyspace }) => client.execute(rawDataStatement(keyspace)) },
  { name: 'copy staging to raw_data', run: (ctx) => copyRows(ctx, STAGING_TABLE, 'raw_data', { ttl: true }) },
  {
    name: 'drop staging',
    run: ({ client, keyspace }) => client.execute(`DROP TABLE IF EXISTS ${keyspace}.${STAGING_TABLE}`),
  },
  {
    name: 'unfence',
    async run({ client, keyspace, ...ctx }) {
      for (const role of await existing(client, ctx.writerRoles))
        await client.execute(`GRANT MODIFY ON TABLE ${keyspace}.raw_data TO ${role}`);
      for (const role of await existing(client, ctx.legacyRoles)) {
        await client.execute(`GRANT MODIFY ON KEYSPACE ${keyspace} TO ${role}`);
        for (const t of OTHER_TABLES)
          await client.execute(`REVOKE MODIFY ON TABLE ${keyspace}.${t} FROM ${role}`);
      }
    },
  },
];

/** The steps still to run from a state: all of them from the old key, from "create raw_data" after the drop. */
export function remainingSteps(state: RawDataState): readonly Step[] {
  if (state === 'current') return [];
  if (state === 'current+staging') return REKEY_STEPS.filter((_, i) => i === 0 || i >= 4);
  return REKEY_STEPS;
}

/** Brings raw_data to the current key if it is not there yet; a no-op on an up-to-date keyspace. */
export async function rekeyRawData(ctx: RekeyContext): Promise<void> {
  const state = await rawDataState(ctx.client, ctx.keyspace);
  const steps = remainingSteps(state);
  if (!steps.length) return;
  ctx.log.info('moving raw_data to the day-bucketed key', { keyspace: ctx.keyspace, state });
  for (const step of steps) {
    ctx.log.info('raw_data move', { step: step.name });
    await step.run(ctx);
  }
  ctx.log.info('raw_data moved to the day-bucketed key', { keyspace: ctx.keyspace });
}
