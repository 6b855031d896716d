// The one way a role sets a malformed message aside: its original bytes go to `<root>.deadletter.<reason>`
// (root `smartmeter` in production, so `smartmeter.deadletter.size` etc.), with headers saying where it
// came from and why, so that it can be inspected or replayed. Core NATS publish: the dead-letter subject is
// for people and tools, not a delivery guarantee.
//
// Setting a message aside never throws out of a handler: a message close to the server's max_payload is
// malformed too, and its bytes plus the headers would not fit; so the copy is cut to what fits, with
// `Smartmeter-Truncated: <original length>`. Should publishing still fail (connection closed or draining),
// the failure is counted (`smartmeter_<role>_deadletter_failures_total`) and logged, and the caller goes on
// to terminate the message as if it had been published. Counting what was dead-lettered is the caller's.
import { headers, MsgHdrs, NatsConnection } from 'nats';
import { Counter, Registry } from 'prom-client';
import { Logger } from './log';

export interface DeadLetter {
  /** The subject suffix, e.g. a WireError's reason: size | subject | value | epoch | range | future. */
  reason: string;
  /** The subject the message was read from. */
  subject: string;
  /** The original payload (cut to fit the server's max_payload, see above). */
  data: Uint8Array;
  /** A human-readable explanation. */
  error: string;
  /** The JetStream stream sequence, when the message came from a stream. */
  streamSeq?: number;
}

/** What became of a dead letter: published whole, published cut to fit, or not published at all. */
export type DeadLetterOutcome = 'published' | 'truncated' | 'failed';

/** nats-server's default max_payload, used while the connection has no server INFO yet. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Header values are bounded too: the error text is for people, the subject at most a control line. */
const MAX_ERROR_CHARS = 512;
const MAX_SUBJECT_CHARS = 1024;
const REASON = /^[A-Za-z0-9_-]+$/;
const LOG_EVERY_MS = 10_000;

export function deadLetterSubjectUnder(root: string, reason: string): string {
  if (!REASON.test(reason)) throw new Error(`dead-letter reason must be one subject token, got "${reason}"`);
  return `${root}.deadletter.${reason}`;
}

/** A header value nats.js accepts (no CR or LF), at most `max` characters. */
function headerValue(text: string, max: number): string {
  return text.slice(0, max).replace(/[\r\n]+/g, ' ');
}

/**
 * Bytes the headers take on the wire, counted against max_payload with the payload: `NATS/1.0\r\n`, one
 * `Key: value\r\n` per value, and a blank line (the NATS headers format, ADR-4).
 */
export function encodedHeaderBytes(h: MsgHdrs): number {
  let n = 'NATS/1.0\r\n\r\n'.length;
  for (const [key, values] of h) for (const v of values) n += Buffer.byteLength(`${key}: ${v}\r\n`);
  return n;
}

/** The headers and payload of a dead letter whose headers plus payload fit in `maxPayload` bytes. */
export function deadLetterMessage(
  letter: DeadLetter,
  role: string,
  maxPayload: number,
): { headers: MsgHdrs; data: Uint8Array; truncated: boolean } {
  const h = headers();
  h.set('Smartmeter-Subject', headerValue(letter.subject, MAX_SUBJECT_CHARS));
  h.set('Smartmeter-Error', headerValue(letter.error, MAX_ERROR_CHARS));
  h.set('Smartmeter-Role', role);
  if (letter.streamSeq !== undefined) h.set('Smartmeter-Stream-Seq', String(letter.streamSeq));
  if (encodedHeaderBytes(h) + letter.data.byteLength <= maxPayload)
    return { headers: h, data: letter.data, truncated: false };
  h.set('Smartmeter-Truncated', String(letter.data.byteLength));
  const room = Math.max(0, maxPayload - encodedHeaderBytes(h));
  return { headers: h, data: letter.data.subarray(0, room), truncated: true };
}

/** `smartmeter_<role>_deadletter_failures_total`, on the role's registry. */
export function createDeadLetterFailures(registry: Registry, role: string): Counter {
  return new Counter({
    name: `smartmeter_${role}_deadletter_failures_total`,
    help: 'Malformed messages whose dead letter could not be published (the message was set aside all the same)',
    registers: [registry],
  });
}

/** One role's dead letters: published under `root`, failures counted on `failures`. */
export class DeadLetters {
  private lastLog = 0;
  private unlogged = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly root: string,
    private readonly role: string,
    private readonly log: Logger,
    private readonly failures: Counter,
  ) {}

  /** Publishes the dead letter, cut to fit if need be; never throws. */
  send(letter: DeadLetter): DeadLetterOutcome {
    try {
      const subject = deadLetterSubjectUnder(this.root, REASON.test(letter.reason) ? letter.reason : 'value');
      const maxPayload = this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
      const m = deadLetterMessage(letter, this.role, maxPayload);
      this.nc.publish(subject, m.data, { headers: m.headers });
      return m.truncated ? 'truncated' : 'published';
    } catch (err) {
      this.failures.inc();
      this.unlogged++;
      const now = Date.now();
      if (now - this.lastLog >= LOG_EVERY_MS) {
        this.log.error('could not publish a dead letter; the message is set aside all the same', {
          err,
          reason: letter.reason,
          subject: letter.subject.slice(0, MAX_SUBJECT_CHARS),
          failures: this.unlogged,
        });
        this.lastLog = now;
        this.unlogged = 0;
      }
      return 'failed';
    }
  }
}
