// The injector's delivery ledger: one line per reading the broker acknowledged, appended as the PubAck
// arrives. It is what the producer was told, kept outside the broker and the stores, so that a test (or an
// operator auditing a fault) can judge every acknowledged reading against what Cassandra holds: stored,
// lost, or stored twice. Off unless INJECT_LEDGER_DIR is set.
//
// A line is `<reading id> <stream sequence>`: the id is the reading's Nats-Msg-Id (readingId: kind, key,
// epoch), the sequence is where the stream stored it (`-` when the server answered "duplicate" without
// one). Each process writes its own file, `<slot>-<start>-<pid>.ledger`, with plain write(2) calls and no
// fsync: a killed injector loses nothing written, and the ledger never sits on a store's fault filesystem.
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** What an injector sends: its readings, and the retire notice when it stops. */
export type MessageKind = 'voltage' | 'temperature' | 'forecast' | 'retire';

const KIND_CODE: Record<MessageKind, string> = { voltage: 'v', temperature: 't', forecast: 'f', retire: 'r' };
const CODE_KIND: Record<string, MessageKind> = { v: 'voltage', t: 'temperature', f: 'forecast', r: 'retire' };

/**
 * A reading's identity, its Nats-Msg-Id: `v<line>.<transformer>.<usagepoint>.<epoch>` for a voltage (the
 * raw_data key), `t<slot>.<epoch>`, `f<slot>.<epoch>` and `r<slot>.<epoch>` for an injector's temperature,
 * forecast and retire notice (per slot: every injector publishes the same weather, and one atomic batch
 * holding another injector's id would be refused whole as a duplicate).
 */
export function readingId(kind: MessageKind, key: string, epoch: number): string {
  return `${KIND_CODE[kind]}${key}.${epoch}`;
}

export interface LedgerEntry {
  kind: MessageKind;
  /** `line.transformer.usagepoint` for a voltage, the slot otherwise. */
  key: string;
  epoch: number;
  /** Stream sequence, or undefined when the broker reported a duplicate of an earlier send. */
  seq?: number;
}

export function parseReadingId(id: string): Omit<LedgerEntry, 'seq'> {
  const kind = CODE_KIND[id[0]];
  const dot = id.lastIndexOf('.');
  const epoch = Number(id.slice(dot + 1));
  if (!kind || dot < 1 || !Number.isInteger(epoch)) throw new Error(`not a reading id: ${id}`);
  return { kind, key: id.slice(1, dot), epoch };
}

/** What a delivery tells about each acknowledged reading: its id and stream sequence (bench: a recorder). */
export interface LedgerWriter {
  record(ids: readonly string[], seqs: readonly (number | undefined)[]): void;
}

export class Ledger implements LedgerWriter {
  private readonly fd: number;

  constructor(
    dir: string,
    slot: number,
    readonly path = join(dir, `${slot}-${Date.now()}-${process.pid}.ledger`),
  ) {
    this.fd = openSync(path, 'a');
  }

  /** Appends the acknowledged readings, `seqs[i]` the stream sequence of `ids[i]`. */
  record(ids: readonly string[], seqs: readonly (number | undefined)[]): void {
    let text = '';
    for (let i = 0; i < ids.length; i++) text += `${ids[i]} ${seqs[i] ?? '-'}\n`;
    writeSync(this.fd, text);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Every entry of every ledger file in `dir` (all injectors, all their processes). */
export function readLedgers(dir: string): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ledger'))) {
    // Not push(...): a ledger of some 100,000 entries overflows the call stack as arguments.
    for (const entry of parseLedger(readFileSync(join(dir, file), 'utf8'))) entries.push(entry);
  }
  return entries;
}

/** Whole lines only: a line without its newline (a write cut short) was never complete. */
export function parseLedger(text: string): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  for (const line of text.split('\n').slice(0, -1)) {
    const [id, seq] = line.split(' ');
    entries.push({ ...parseReadingId(id), seq: seq === '-' ? undefined : Number(seq) });
  }
  return entries;
}
