// Arbitrary raw and control messages for the handlers' fuzz suites (fast-check): subjects under a test's
// root, well-formed or not, and payloads from a few bytes to the server's max_payload, encoded readings with
// any field values among them.
import fc from 'fast-check';
import { encodeTemperature, encodeVoltage, MAX_CONTROL_BYTES } from '../../src/wire/codec';

export interface RawInput {
  subject: string;
  data: Uint8Array;
}

const idToken = fc.oneof(
  fc.nat(30).map(String),
  fc.constantFrom('0', '007', '999999999', '1000000000', '-1', '1e3', 'x'),
);
const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);

export function rawSubject(root: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(idToken, idToken, idToken).map((ids) => `${root}.raw.voltage.data.${ids.join('.')}`),
    fc.constantFrom(
      `${root}.raw.temperature.data`,
      `${root}.raw.temperature.forecast.12`,
      `${root}.raw.control.retire`,
      `${root}.raw.voltage.data`,
    ),
    fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => `${root}.raw.${t.join('.')}`),
  );
}

const anyFloat = fc.oneof(fc.float(), fc.float({ min: 100, max: 130, noNaN: true }));
const anyEpoch = fc.oneof(fc.integer({ min: 1_704_067_200, max: 1_704_067_200 + 86_400 }), fc.maxSafeNat());
const count = fc.oneof(fc.nat(20), fc.maxSafeNat());

/** Payloads; `maxPayload` bounds the largest (the server's, so that a test can publish it). */
export function rawPayload(maxPayload: number): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 80 }) },
    {
      weight: 3,
      arbitrary: fc
        .record({
          epoch: anyEpoch,
          voltage: anyFloat,
          demand: anyFloat,
          values: fc.array(anyFloat, { minLength: 10, maxLength: 10 }),
        })
        .map((r) => encodeVoltage(r)),
    },
    {
      weight: 2,
      arbitrary: fc.record({ epoch: anyEpoch, temperature: anyFloat }).map((r) => encodeTemperature(r)),
    },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.record({
            lines: fc.tuple(count, count),
            transformers: count,
            usagepoints: count,
            epoch: anyEpoch,
          }),
          fc.jsonValue(),
        )
        .map((v) => new TextEncoder().encode(JSON.stringify(v) ?? 'null').subarray(0, 2 * MAX_CONTROL_BYTES)),
    },
    // Close to max_payload: too big for a dead letter with its headers unless cut.
    { weight: 1, arbitrary: fc.nat(400).map((k) => new Uint8Array(maxPayload - k).fill(k % 256)) },
  );
}

export function rawInput(root: string, maxPayload: number): fc.Arbitrary<RawInput> {
  return fc.record({ subject: rawSubject(root), data: rawPayload(maxPayload) });
}
