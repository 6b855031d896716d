// Any request to predict gets a reply that fits in a NATS message: a valid one its prediction, any other
// an error that says what is wrong quoting at most a short part of the value (the whole request, escaped
// twice, would not fit: a 1 MiB request of quotes made a 4 MiB reply).
import fc from 'fast-check';
import { parsePredictRequest, replyText } from '../../src/training/predictor';
import { fuzz, fuzzTimeoutMs } from '../../../tests/fuzz/support';

const MIB = 1024 * 1024;
/** The largest error reply: ERROR_CHARS (1000) characters of at most 6 bytes each once escaped, and the braces. */
const MAX_ERROR_REPLY = 6 * 1000 + 16;

function errorOf(body: Uint8Array): string {
  try {
    parsePredictRequest(body);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the request to be refused');
}

test('a request of a million quotes is refused quoting 64 characters of it', () => {
  const body = new TextEncoder().encode(JSON.stringify({ epoch: '"'.repeat(MIB / 2 - 16), temperature: 1 }));
  expect(body.byteLength).toBeLessThanOrEqual(MIB);
  const message = errorOf(body);
  expect(message).toMatch(
    /^"epoch" must be an integer number of seconds in \[0, \d+\], got "[\\"]{63}… \(1048546 characters\)$/,
  );
  expect(message.length).toBeLessThan(200);
  expect(Buffer.byteLength(replyText({ error: message }))).toBeLessThan(300);
});

const awkward = fc.constantFrom('"', '\\', '\u0001', 'é', '😀', 'a', '\u2028');
/** A value that is long once quoted: a run of one awkward character, up to half a MiB. */
const longString = fc
  .tuple(awkward, fc.integer({ min: 0, max: MIB / 2 }))
  .map(([c, n]) => c.repeat(Math.ceil(n / c.length)));
const value = fc.oneof(
  fc.jsonValue(),
  longString,
  fc.array(longString, { maxLength: 3 }),
  fc.double(),
  fc.integer(),
);
const requests = fc.oneof(
  fc.record({ epoch: value, temperature: value }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc
    .record({ epoch: fc.nat(), temperature: fc.double({ min: -150, max: 150, noNaN: true }) })
    .map((o) => JSON.stringify(o)),
  value.map((v) => JSON.stringify(v) ?? ''),
  fc.string({ unit: 'binary', maxLength: 4096 }),
);

test(
  'fuzz: any body is a valid request or refused with an error whose reply fits',
  async () => {
    const bodies = fc.oneof(
      requests.map((t) => new TextEncoder().encode(t)),
      fc.uint8Array({ maxLength: 4096 }),
    );
    await fuzz(
      'parsePredictRequest',
      fc.property(bodies, (body) => {
        let message: string;
        try {
          const r = parsePredictRequest(body);
          expect(Number.isInteger(r.epoch) && Number.isFinite(r.temperature)).toBe(true);
          return;
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          message = (e as Error).message;
        }
        const reply = replyText({ error: message });
        expect(Buffer.byteLength(reply)).toBeLessThanOrEqual(MAX_ERROR_REPLY);
        expect((JSON.parse(reply) as { error: string }).error).toBe(message.slice(0, 1000));
      }),
    );
  },
  fuzzTimeoutMs(1),
);
