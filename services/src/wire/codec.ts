// The original's binary payloads (big-endian, as Java's ByteBuffer writes them):
//   voltage      56 bytes: int64 epoch seconds, float32 voltage, float32 demand, 10 x float32 (val3..val12)
//   temperature  12 bytes: int64 epoch seconds, float32 degrees Celsius
// on subjects smartmeter.raw.voltage.data.<line>.<transformer>.<usagepoint> and
// smartmeter.raw.temperature.{data,forecast.12}; and an injector's retire notice (JSON, see RetireNotice) on
// smartmeter.raw.control.retire. Decoding validates, plausibility included (bounds.ts), and throws a
// WireError whose `reason` names the dead-letter subject suffix.
import { checkEpoch, plausible, TEMPERATURE_C, VOLTAGE_V } from './bounds';
import { MAX_LINES_PER_SLOT } from '../simulator/topology';
import { SUBJECTS } from './subjects';
import { WireError } from './errors';

export { WireError } from './errors';
export type { WireErrorReason } from './errors';

export const VOLTAGE_BYTES = 56;
export const TEMPERATURE_BYTES = 12;
export const EXTRA_VALUES = 10;

export interface MeterId {
  line: number;
  transformer: number;
  usagePoint: number;
}

export interface VoltageReading {
  epoch: number;
  voltage: number;
  demand: number;
  /** val3..val12 */
  values: number[];
}

export interface TemperatureReading {
  epoch: number;
  temperature: number;
}

/** The int64 at offset 0, read as two 32-bit halves: exact in range, and no BigInt per message. */
function readEpoch(dv: DataView): number {
  const high = dv.getInt32(0);
  if (high < 0) throw new WireError('epoch', `epoch ${dv.getBigInt64(0)} out of range`);
  return checkEpoch(high * 2 ** 32 + dv.getUint32(4));
}

function checkValue(name: string, v: number): number {
  if (!Number.isFinite(v)) throw new WireError('value', `${name} is not a finite number`);
  return v;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeVoltage(r: VoltageReading): Uint8Array {
  if (r.values.length !== EXTRA_VALUES) throw new RangeError(`expected ${EXTRA_VALUES} extra values`);
  const out = new Uint8Array(VOLTAGE_BYTES);
  const dv = view(out);
  dv.setBigInt64(0, BigInt(Math.floor(r.epoch)));
  dv.setFloat32(8, r.voltage);
  dv.setFloat32(12, r.demand);
  r.values.forEach((v, i) => dv.setFloat32(16 + 4 * i, v));
  return out;
}

export function decodeVoltage(bytes: Uint8Array): VoltageReading {
  if (bytes.byteLength !== VOLTAGE_BYTES) {
    throw new WireError('size', `voltage payload is ${bytes.byteLength} bytes, expected ${VOLTAGE_BYTES}`);
  }
  const dv = view(bytes);
  const values: number[] = new Array<number>(EXTRA_VALUES);
  for (let i = 0; i < EXTRA_VALUES; i++) values[i] = checkValue(`val${i + 3}`, dv.getFloat32(16 + 4 * i));
  return {
    epoch: readEpoch(dv),
    voltage: plausible('voltage', dv.getFloat32(8), VOLTAGE_V, 'V'),
    demand: checkValue('demand', dv.getFloat32(12)),
    values,
  };
}

export function encodeTemperature(r: TemperatureReading): Uint8Array {
  const out = new Uint8Array(TEMPERATURE_BYTES);
  const dv = view(out);
  dv.setBigInt64(0, BigInt(Math.floor(r.epoch)));
  dv.setFloat32(8, r.temperature);
  return out;
}

export function decodeTemperature(bytes: Uint8Array): TemperatureReading {
  if (bytes.byteLength !== TEMPERATURE_BYTES) {
    throw new WireError(
      'size',
      `temperature payload is ${bytes.byteLength} bytes, expected ${TEMPERATURE_BYTES}`,
    );
  }
  const dv = view(bytes);
  return {
    epoch: readEpoch(dv),
    temperature: plausible('temperature', dv.getFloat32(8), TEMPERATURE_C, '°C'),
  };
}

export function voltageSubject(id: MeterId): string {
  return `${SUBJECTS.voltagePrefix}.${id.line}.${id.transformer}.${id.usagePoint}`;
}

const DOT = 46;
const ZERO = 48;
const NINE = 57;
/** Digits of one meter id token: 0, or 1 to 9 digits without a leading zero. */
const MAX_ID_DIGITS = 9;

/**
 * The meter of a voltage subject; throws WireError('subject') for anything else. A reader under another
 * subject root passes its own `<root>.raw.voltage.data` prefix instead of rewriting every subject.
 * Scanned character by character: it runs once per reading (no slice, split or regex).
 */
export function parseVoltageSubject(subject: string, prefix: string = SUBJECTS.voltagePrefix): MeterId {
  const ids = [0, 0, 0];
  let at = prefix.length;
  let ok = subject.startsWith(prefix) && subject.charCodeAt(at) === DOT;
  for (let k = 0; ok && k < 3; k++) {
    const start = ++at; // past the dot
    let n = 0;
    for (let c = subject.charCodeAt(at); c >= ZERO && c <= NINE; c = subject.charCodeAt(++at)) {
      n = n * 10 + (c - ZERO);
    }
    const digits = at - start;
    const end = k < 2 ? subject.charCodeAt(at) === DOT : at === subject.length;
    ok =
      end && digits >= 1 && digits <= MAX_ID_DIGITS && (digits === 1 || subject.charCodeAt(start) !== ZERO);
    ids[k] = n;
  }
  if (!ok) {
    throw new WireError(
      'subject',
      `not a voltage subject <prefix>.<line>.<transformer>.<usagepoint>: ${subject}`,
    );
  }
  return { line: ids[0], transformer: ids[1], usagePoint: ids[2] };
}

/**
 * An injector stops: the meters on lines `lines[0]`…`lines[1]`, transformers 1…`transformers`, usage points
 * 1…`usagepoints` (its topology) publish nothing after `epoch`, its last cycle.
 */
export interface RetireNotice {
  lines: [number, number];
  transformers: number;
  usagepoints: number;
  epoch: number;
}

export function encodeRetire(n: RetireNotice): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(n));
}

/** A control message's bounds: a notice is some 80 bytes and names at most one injector's lines. */
export const MAX_CONTROL_BYTES = 1024;
/** The largest line, transformer or usage point a voltage subject can name (MAX_ID_DIGITS digits). */
export const MAX_METER_ID = 10 ** MAX_ID_DIGITS - 1;

export function decodeRetire(bytes: Uint8Array): RetireNotice {
  if (bytes.byteLength > MAX_CONTROL_BYTES)
    throw new WireError(
      'control',
      `retire notice is ${bytes.byteLength} bytes, at most ${MAX_CONTROL_BYTES}`,
    );
  let n: Partial<RetireNotice>;
  try {
    n = JSON.parse(new TextDecoder().decode(bytes)) as Partial<RetireNotice>;
  } catch {
    throw new WireError('value', 'retire notice is not JSON');
  }
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const ok =
    Array.isArray(n?.lines) &&
    n.lines.length === 2 &&
    n.lines.every(count) &&
    count(n.transformers) &&
    count(n.usagepoints);
  if (!ok || !Number.isInteger(n.epoch)) {
    throw new WireError('value', 'retire notice needs lines [first, last], transformers, usagepoints, epoch');
  }
  const [first, last] = n.lines as [number, number];
  const nameable = (v: number) => v <= MAX_METER_ID; // by a subject token
  if (first > last || last - first >= MAX_LINES_PER_SLOT || !nameable(last))
    throw new WireError(
      'control',
      `retire notice lines [${first}, ${last}]: at most ${MAX_LINES_PER_SLOT}, in order`,
    );
  if (!nameable(n.transformers as number) || !nameable(n.usagepoints as number))
    throw new WireError('control', `retire notice counts must be at most ${MAX_METER_ID}`);
  return {
    lines: n.lines as [number, number],
    transformers: n.transformers as number,
    usagepoints: n.usagepoints as number,
    epoch: checkEpoch(n.epoch as number),
  };
}
