// A dead letter always fits the server's max_payload: whole when it can, else its payload cut to fit with
// Smartmeter-Truncated saying how long it was; header values nats.js would refuse are made acceptable.
import fc from 'fast-check';
import { MsgHdrs } from 'nats';
import { DeadLetter, deadLetterMessage, encodedHeaderBytes } from '../../src/lib/deadletter';
import { fuzz, fuzzTimeoutMs } from '../../../tests/fuzz/support';

const MIB = 1024 * 1024;

function letter(data: Uint8Array, over: Partial<DeadLetter> = {}): DeadLetter {
  return {
    reason: 'size',
    subject: 'smartmeter.raw.voltage.data.1.2.3',
    data,
    error: 'voltage payload is wrong',
    streamSeq: 42,
    ...over,
  };
}

/** What nats.js puts on the wire for these headers: its own encoding, the one max_payload is checked against. */
const wireBytes = (h: MsgHdrs) => (h as unknown as { encode(): Uint8Array }).encode().byteLength;

test('a small message is dead-lettered whole, with where it came from and why', () => {
  const data = new Uint8Array([1, 2, 3]);
  const m = deadLetterMessage(letter(data), 'ingest', MIB);
  expect(m.truncated).toBe(false);
  expect(m.data).toBe(data);
  expect(m.headers.get('Smartmeter-Subject')).toBe('smartmeter.raw.voltage.data.1.2.3');
  expect(m.headers.get('Smartmeter-Error')).toBe('voltage payload is wrong');
  expect(m.headers.get('Smartmeter-Role')).toBe('ingest');
  expect(m.headers.get('Smartmeter-Stream-Seq')).toBe('42');
  expect(m.headers.has('Smartmeter-Truncated')).toBe(false);
});

test('a message of max_payload bytes is cut to fit exactly, and says how long it was', () => {
  const data = new Uint8Array(MIB).map((_, i) => i % 251);
  const m = deadLetterMessage(letter(data), 'stream', MIB);
  expect(m.truncated).toBe(true);
  expect(m.headers.get('Smartmeter-Truncated')).toBe(String(MIB));
  expect(wireBytes(m.headers) + m.data.byteLength).toBe(MIB);
  expect(Buffer.from(m.data).equals(Buffer.from(data.subarray(0, m.data.byteLength)))).toBe(true);
});

test('header values with line breaks (refused by nats.js) are flattened, long ones cut', () => {
  const m = deadLetterMessage(
    letter(new Uint8Array(1), { error: `bad\r\nvalue ${'x'.repeat(5000)}` }),
    'x',
    MIB,
  );
  expect(m.headers.get('Smartmeter-Error')).toMatch(/^bad value x+$/);
  expect(m.headers.get('Smartmeter-Error').length).toBeLessThanOrEqual(512);
});

test(
  'fuzz: any letter fits max_payload, counted as nats.js counts it, and keeps a prefix of the bytes',
  async () => {
    await fuzz(
      'deadLetterMessage',
      fc.property(
        fc.record({
          subject: fc.string({ unit: 'binary', maxLength: 2000 }),
          error: fc.string({ unit: 'binary', maxLength: 2000 }),
          reason: fc.constantFrom('size', 'subject', 'value', 'epoch', 'control'),
          streamSeq: fc.option(fc.nat(), { nil: undefined }),
        }),
        fc.integer({ min: 4096, max: 8 * MIB }),
        fc.integer({ min: -3000, max: 3000 }),
        (fields, maxPayload, offset) => {
          const data = new Uint8Array(Math.max(0, maxPayload + offset));
          const m = deadLetterMessage({ ...fields, data }, 'ingest', maxPayload);
          const headerBytes = wireBytes(m.headers);
          expect(encodedHeaderBytes(m.headers)).toBe(headerBytes);
          expect(headerBytes + m.data.byteLength).toBeLessThanOrEqual(maxPayload);
          expect(m.data.buffer).toBe(data.buffer); // a view of the original bytes, from the start
          expect(m.data.byteOffset).toBe(0);
          expect(m.truncated).toBe(m.data.byteLength < data.byteLength);
          if (m.truncated) expect(m.headers.get('Smartmeter-Truncated')).toBe(String(data.byteLength));
        },
      ),
    );
  },
  fuzzTimeoutMs(1),
);
