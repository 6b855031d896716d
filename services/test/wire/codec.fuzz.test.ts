// The wire decoders on hostile input (issue 23): for any bytes and any subject they return a plausible
// reading or throw a WireError, never another error and never an implausible value.
import fc from 'fast-check';
import { fuzz, fuzzTimeoutMs } from '../../../tests/fuzz/support';
import { classify } from '../../src/streaming/job';
import { EPOCH_S, TEMPERATURE_C, VOLTAGE_V, within } from '../../src/wire/bounds';
import {
  decodeTemperature,
  decodeVoltage,
  EXTRA_VALUES,
  parseVoltageSubject,
  TEMPERATURE_BYTES,
  VOLTAGE_BYTES,
  voltageSubject,
  WireError,
} from '../../src/wire/codec';

/** The decoder's result, or the reason of the WireError it threw (any other error fails the property). */
function outcome<T>(decode: () => T): T | string {
  try {
    return decode();
  } catch (err) {
    if (err instanceof WireError) return `refused:${err.reason}`;
    throw err;
  }
}

const isEpoch = (e: number) => Number.isInteger(e) && within(e, EPOCH_S);

/** Bytes of any length, often the two payload sizes, so most reach the value checks. */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.uint8Array({ minLength: VOLTAGE_BYTES, maxLength: VOLTAGE_BYTES }),
  fc.uint8Array({ minLength: TEMPERATURE_BYTES, maxLength: TEMPERATURE_BYTES }),
);

/** Payloads built field by field: any int64 epoch and any float32 (NaN, ±Infinity, ±3.4e38, -0 included). */
const epochs = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.bigInt({ min: -10n, max: BigInt(EPOCH_S.max) + 10n }),
);
const floats = fc.oneof(fc.float(), fc.float({ min: -2000, max: 2000, noNaN: true }));
function bytesOf(epoch: bigint, values: number[]): Uint8Array {
  const out = new Uint8Array(8 + 4 * values.length);
  const dv = new DataView(out.buffer);
  dv.setBigInt64(0, epoch);
  values.forEach((v, i) => dv.setFloat32(8 + 4 * i, v));
  return out;
}

test(
  'any bytes: a plausible reading or a WireError',
  () =>
    fuzz(
      'wire decoders on arbitrary bytes',
      fc.property(payload, (bytes) => {
        const v = outcome(() => decodeVoltage(bytes));
        if (typeof v !== 'string') {
          expect(isEpoch(v.epoch) && within(v.voltage, VOLTAGE_V)).toBe(true);
          expect([v.demand, ...v.values].every(Number.isFinite)).toBe(true);
          expect(v.values).toHaveLength(EXTRA_VALUES);
        }
        const t = outcome(() => decodeTemperature(bytes));
        if (typeof t !== 'string')
          expect(isEpoch(t.epoch) && within(t.temperature, TEMPERATURE_C)).toBe(true);
      }),
    ),
  fuzzTimeoutMs(1),
);

test(
  'any field values: accepted exactly when plausible, else refused with the reason of the first bad field',
  () =>
    fuzz(
      'wire decoders on arbitrary field values',
      fc.property(
        epochs,
        fc.array(floats, { minLength: 2 + EXTRA_VALUES, maxLength: 2 + EXTRA_VALUES }),
        (epoch, fields) => {
          const f32 = fields.map(Math.fround);
          const [voltage, demand, ...values] = f32;
          const epochOk = epoch >= 0n && epoch <= BigInt(EPOCH_S.max);
          const rangeOf = (v: number, r: typeof VOLTAGE_V) =>
            !Number.isFinite(v) ? 'value' : within(v, r) ? undefined : 'range';
          // Decoding order: extra values, epoch, voltage, demand.
          const expected =
            (values.some((v) => !Number.isFinite(v)) && 'value') ||
            (!epochOk && 'epoch') ||
            rangeOf(voltage, VOLTAGE_V) ||
            (!Number.isFinite(demand) && 'value');
          const v = outcome(() => decodeVoltage(bytesOf(epoch, f32)));
          if (expected) expect(v).toBe(`refused:${expected}`);
          else expect(v).toEqual({ epoch: Number(epoch), voltage, demand, values });

          const t = outcome(() => decodeTemperature(bytesOf(epoch, [voltage])));
          const tExpected = (!epochOk && 'epoch') || rangeOf(voltage, TEMPERATURE_C);
          if (tExpected) expect(t).toBe(`refused:${tExpected}`);
          else expect(t).toEqual({ epoch: Number(epoch), temperature: voltage });
        },
      ),
    ),
  fuzzTimeoutMs(1),
);

/** Subjects: anything, and near-misses of valid ones (a token changed, added or dropped). */
const token = fc.oneof(
  fc.nat({ max: 2_000_000_000 }).map(String),
  fc.constantFrom('', '0', '00', '01', '-1', '1e3', ' 1', '*', '>', '1234567890', '٣'),
  fc.string({ maxLength: 4 }),
);
const subject = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc
    .tuple(
      fc.constantFrom('r.raw.voltage.data', 'r.raw.voltagexdata', 'r.raw'),
      fc.array(token, { maxLength: 5 }),
    )
    .map(([prefix, tokens]) => [prefix, ...tokens].join('.')),
  fc.constantFrom('r.raw.temperature.data', 'r.raw.control.retire', 'r.raw.temperature.forecast.12'),
);

test(
  'any subject: the meter it names, exactly, or a WireError',
  () =>
    fuzz(
      'voltage subjects',
      fc.property(subject, (s) => {
        const id = outcome(() => parseVoltageSubject(s, 'r.raw.voltage.data'));
        if (typeof id !== 'string') {
          // Only the canonical spelling parses: the subject is rebuilt from the ids.
          expect(voltageSubject(id).replace('smartmeter.', 'r.')).toBe(s);
        }
        const kind = outcome(() => classify('r', s));
        if (typeof kind !== 'string' && kind.kind === 'voltage')
          expect(id).toMatchObject({ line: kind.line });
        if (typeof kind !== 'string' && kind.kind !== 'voltage')
          expect(['r.raw.temperature.data', 'r.raw.control.retire']).toContain(s);
      }),
    ),
  fuzzTimeoutMs(1),
);
