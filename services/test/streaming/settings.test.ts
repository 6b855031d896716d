// The stream job's outage variables: defaults, and errors naming the variable.
import { EnvReader } from '../../src/lib/config';
import { streamSettings } from '../../src/streaming/settings';

const settings = (vars: Record<string, string>) => streamSettings(new EnvReader(vars));

test('outage detection: 3 intervals, half a transformer, stream SMARTMETER_OUTAGES by default', () => {
  expect(settings({})).toMatchObject({
    outageIntervals: 3,
    transformerOutageShare: 0.5,
    outageStream: 'SMARTMETER_OUTAGES',
  });
  expect(settings({ STREAM_OUTAGE_INTERVALS: '2.5', STREAM_TRANSFORMER_OUTAGE_SHARE: '1' })).toMatchObject({
    outageIntervals: 2.5,
    transformerOutageShare: 1,
  });
});

test('a bad outage variable stops the role, naming it', () => {
  expect(() => settings({ STREAM_OUTAGE_INTERVALS: '0' })).toThrow(/STREAM_OUTAGE_INTERVALS/);
  expect(() => settings({ STREAM_TRANSFORMER_OUTAGE_SHARE: '0' })).toThrow(
    /STREAM_TRANSFORMER_OUTAGE_SHARE must be > 0 and <= 1/,
  );
  expect(() => settings({ STREAM_TRANSFORMER_OUTAGE_SHARE: '1.2' })).toThrow(
    /STREAM_TRANSFORMER_OUTAGE_SHARE/,
  );
  expect(() => settings({ STREAM_OUTAGE_STREAM: 'a.b' })).toThrow(/STREAM_OUTAGE_STREAM/);
});
