import { counterSum } from '../../bench/roles';
import { fmtSpread, percentile, spread } from '../../bench/stats';

test('spread: median of odd and even counts, min and max, samples kept in run order', () => {
  expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, samples: [3, 1, 2] });
  expect(spread([4, 1, 3, 2]).median).toBe(2.5);
  expect(() => spread([])).toThrow(/no samples/);
});

test('percentile: nearest rank', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  expect(percentile(xs, 50)).toBe(50);
  expect(percentile(xs, 99)).toBe(99);
  expect(percentile([7], 99)).toBe(7);
});

test('fmtSpread prints the median and, for several samples, the range', () => {
  expect(fmtSpread(spread([1000, 3000, 2000]), 'rows/s')).toBe('2,000 rows/s (1,000 … 3,000)');
  expect(fmtSpread(spread([0.5]), '', 3)).toBe('0.500');
});

test('counterSum adds every series of one counter and nothing else', () => {
  const text = [
    '# HELP smartmeter_stream_messages_total Readings',
    '# TYPE smartmeter_stream_messages_total counter',
    'smartmeter_stream_messages_total{outcome="on_time",role="stream"} 120',
    'smartmeter_stream_messages_total{outcome="late",role="stream"} 3',
    'smartmeter_stream_messages_total_other 1000',
    'smartmeter_stream_windows_emitted_total{kind="max"} 9',
  ].join('\n');
  expect(counterSum(text, 'smartmeter_stream_messages_total')).toBe(123);
});
