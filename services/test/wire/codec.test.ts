import {
  decodeRetire,
  encodeRetire,
  decodeTemperature,
  decodeVoltage,
  encodeTemperature,
  encodeVoltage,
  parseVoltageSubject,
  TEMPERATURE_BYTES,
  VOLTAGE_BYTES,
  voltageSubject,
  WireError,
} from '../../src/wire/codec';

const reading = {
  epoch: 1_552_824_780,
  voltage: 114.76842,
  demand: 100.25,
  values: [3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, 10.5, 11.5, 12.5],
};

test('voltage round-trips through the 56-byte big-endian layout', () => {
  const bytes = encodeVoltage(reading);
  expect(bytes.byteLength).toBe(VOLTAGE_BYTES);
  const back = decodeVoltage(bytes);
  expect(back.epoch).toBe(reading.epoch);
  expect(back.voltage).toBeCloseTo(reading.voltage, 4);
  expect(back.demand).toBe(100.25);
  expect(back.values).toEqual(reading.values);
});

test('voltage bytes are what Java ByteBuffer (big-endian) writes', () => {
  const bytes = encodeVoltage({ ...reading, epoch: 1, voltage: 1, demand: 2 });
  expect(Array.from(bytes.slice(0, 16))).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0x3f, 0x80, 0, 0, 0x40, 0, 0, 0]);
});

test('temperature round-trips through the 12-byte layout', () => {
  const bytes = encodeTemperature({ epoch: 1_700_000_000, temperature: -12.5 });
  expect(bytes.byteLength).toBe(TEMPERATURE_BYTES);
  expect(decodeTemperature(bytes)).toEqual({ epoch: 1_700_000_000, temperature: -12.5 });
});

test('decoding rejects wrong sizes, non-finite values and negative epochs with a dead-letter reason', () => {
  const reason = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(WireError);
      return (err as WireError).reason;
    }
    throw new Error('expected a WireError');
  };
  expect(reason(() => decodeVoltage(new Uint8Array(55)))).toBe('size');
  expect(reason(() => decodeTemperature(new Uint8Array(56)))).toBe('size');
  expect(reason(() => decodeVoltage(encodeVoltage({ ...reading, voltage: NaN })))).toBe('value');
  expect(reason(() => decodeTemperature(encodeTemperature({ epoch: -5, temperature: 1 })))).toBe('epoch');
});

test('voltage subjects carry line, transformer and usage point', () => {
  const id = { line: 11, transformer: 2, usagePoint: 5 };
  expect(voltageSubject(id)).toBe('smartmeter.raw.voltage.data.11.2.5');
  expect(parseVoltageSubject('smartmeter.raw.voltage.data.11.2.5')).toEqual(id);
  for (const bad of [
    'smartmeter.raw.voltage.data.11.2',
    'smartmeter.raw.voltage.data.a.2.5',
    'x.11.2.5',
    'smartmeter.raw.voltage.data.01.2.5',
    'smartmeter.raw.voltage.data.11.2.5.9',
    'smartmeter.raw.voltage.data.11.2.5x',
    'smartmeter.raw.voltage.data.11..5',
    'smartmeter.raw.voltage.data.11.2.',
    'smartmeter.raw.voltage.data.11.2.1234567890', // 10 digits
    'smartmeter.raw.voltage.datax11.2.5',
    'smartmeter.raw.voltage.data',
    'smartmeter.raw.voltage.data.-1.2.5',
  ]) {
    expect(() => parseVoltageSubject(bad)).toThrow(WireError);
  }
});

test('meter ids are 0 or up to 9 digits without a leading zero', () => {
  expect(parseVoltageSubject('smartmeter.raw.voltage.data.0.0.0')).toEqual({
    line: 0,
    transformer: 0,
    usagePoint: 0,
  });
  expect(parseVoltageSubject('smartmeter.raw.voltage.data.127.999999999.10').usagePoint).toBe(10);
  expect(parseVoltageSubject('smartmeter.raw.voltage.data.127.999999999.10').transformer).toBe(999_999_999);
});

test('epochs decode exactly across the 32-bit boundary and up to year 9999, and no further', () => {
  for (const epoch of [0, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 253_402_300_799]) {
    expect(decodeTemperature(encodeTemperature({ epoch, temperature: 1 })).epoch).toBe(epoch);
  }
  expect(() => decodeVoltage(encodeVoltage({ ...reading, epoch: 253_402_300_800 }))).toThrow(/out of range/);
});

test('a voltage subject under another root parses with that root prefix', () => {
  expect(parseVoltageSubject('bench_1.raw.voltage.data.3.0.7', 'bench_1.raw.voltage.data')).toEqual({
    line: 3,
    transformer: 0,
    usagePoint: 7,
  });
  expect(() => parseVoltageSubject('smartmeter.raw.voltage.data.3.0.7', 'bench_1.raw.voltage.data')).toThrow(
    WireError,
  );
});

test('an injector retire notice round-trips as JSON; a malformed one is a value error', () => {
  const notice = {
    lines: [21, 22] as [number, number],
    transformers: 4,
    usagepoints: 75,
    epoch: 1_710_000_000,
  };
  expect(decodeRetire(encodeRetire(notice))).toEqual(notice);
  const reason = (bytes: string) => {
    try {
      decodeRetire(new TextEncoder().encode(bytes));
    } catch (err) {
      return (err as WireError).reason;
    }
    return 'accepted';
  };
  expect(reason('not json')).toBe('value');
  expect(reason('{"lines":[21],"transformers":4,"usagepoints":75,"epoch":1}')).toBe('value');
  expect(reason('{"lines":[21,22],"transformers":-1,"usagepoints":75,"epoch":1}')).toBe('value');
  expect(reason('{"lines":[21,22],"transformers":4,"usagepoints":75}')).toBe('value');
  expect(reason('{"lines":[21,22],"transformers":4,"usagepoints":75,"epoch":-60}')).toBe('epoch');
  expect(reason('null')).toBe('value');
});

/** The dead-letter reason a decoder throws, or 'accepted'. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    return err.reason;
  }
  return 'accepted';
}

test('physically impossible voltages are refused as `range` (regression, issue 23)', () => {
  for (const voltage of [-0.5, -230, 1000.5, 3.4e38, -3.4e38]) {
    expect([voltage, refusal(() => decodeVoltage(encodeVoltage({ ...reading, voltage })))]).toEqual([
      voltage,
      'range',
    ]);
  }
  for (const voltage of [0, 0.5, 120, 999.5, 1000]) {
    expect(refusal(() => decodeVoltage(encodeVoltage({ ...reading, voltage })))).toBe('accepted');
  }
  // Not a number at all stays a `value` error.
  expect(refusal(() => decodeVoltage(encodeVoltage({ ...reading, voltage: Infinity })))).toBe('value');
});

test('temperatures outside what predict accepts are refused as `range` (regression, issue 23)', () => {
  const at = (temperature: number) =>
    refusal(() => decodeTemperature(encodeTemperature({ epoch: 1_700_000_000, temperature })));
  for (const t of [-100.5, 100.5, 150, 3.4e38, -3.4e38]) expect([t, at(t)]).toEqual([t, 'range']);
  for (const t of [-100, -89.2, 0, 56.7, 100]) expect([t, at(t)]).toEqual([t, 'accepted']);
  expect(at(NaN)).toBe('value');
});
