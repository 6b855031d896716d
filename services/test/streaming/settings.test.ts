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
    /STREAM_TRANSFORMER_OUTAGE_SHARE must be a number > 0 and <= 1/,
  );
  expect(() => settings({ STREAM_TRANSFORMER_OUTAGE_SHARE: '1.2' })).toThrow(
    /STREAM_TRANSFORMER_OUTAGE_SHARE/,
  );
  expect(() => settings({ STREAM_OUTAGE_STREAM: 'a.b' })).toThrow(/STREAM_OUTAGE_STREAM/);
});

test('STREAM_MAX_AHEAD_S: 4 simulated hours by default, whole seconds from a minute to a year', () => {
  expect(settings({}).maxAheadS).toBe(14_400);
  expect(settings({ STREAM_MAX_AHEAD_S: '3600' }).maxAheadS).toBe(3600);
  for (const bad of ['59', '1.5', '-1', 'soon', String(367 * 86_400)]) {
    expect(() => settings({ STREAM_MAX_AHEAD_S: bad })).toThrow(/STREAM_MAX_AHEAD_S must be an integer/);
  }
});
