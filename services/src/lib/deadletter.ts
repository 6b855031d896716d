// The one way a role sets a malformed message aside: its original bytes, unchanged, go to
// `<root>.deadletter.<reason>` (root `smartmeter` in production, so `smartmeter.deadletter.size` etc.),
// with headers saying where it came from and why, so that it can be inspected or replayed. Core NATS
// publish: the dead-letter subject is for people and tools, not a delivery guarantee. Counting is the
// caller's (each role has its own metric names).
import { headers, NatsConnection } from 'nats';

export interface DeadLetter {
  /** The subject suffix, e.g. a WireError's reason: size | subject | value | epoch | range | future. */
  reason: string;
  /** The subject the message was read from. */
  subject: string;
  /** The original payload, unchanged. */
  data: Uint8Array;
  /** A human-readable explanation. */
  error: string;
  /** The role that rejected it (several roles read the same raw stream). */
  role: string;
  /** The JetStream stream sequence, when the message came from a stream. */
  streamSeq?: number;
}

const REASON = /^[A-Za-z0-9_-]+$/;

export function deadLetterSubjectUnder(root: string, reason: string): string {
  if (!REASON.test(reason)) throw new Error(`dead-letter reason must be one subject token, got "${reason}"`);
  return `${root}.deadletter.${reason}`;
}

export function publishDeadLetter(nc: NatsConnection, root: string, letter: DeadLetter): void {
  const h = headers();
  h.set('Smartmeter-Subject', letter.subject);
  h.set('Smartmeter-Error', letter.error.slice(0, 512));
  h.set('Smartmeter-Role', letter.role);
  if (letter.streamSeq !== undefined) h.set('Smartmeter-Stream-Seq', String(letter.streamSeq));
  nc.publish(deadLetterSubjectUnder(root, letter.reason), letter.data, { headers: h });
}
