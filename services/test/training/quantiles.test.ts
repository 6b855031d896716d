// The band's arithmetic: the pinball loss (numbers and the training loss on tensors agree), quantiles
// that never cross whatever the network outputs, the conformal correction, the over-voltage probability
// read off a band, and the seasonal-naive baseline.
import {
  bandMetrics,
  evaluateForecast,
  SEASON_SECONDS,
  SeasonalNaive,
  splitByTime,
} from '../../src/training/evaluation';
import {
  conformalAdjustment,
  exceedanceProbability,
  inBand,
  LEVELS,
  orderedQuantiles,
  pinball,
  pinballLoss,
  quantileRecord,
} from '../../src/training/quantiles';
import { tensorflow } from '../../src/training/tf';

const MONDAY = 1_704_067_200; // 2024-01-01 00:00 UTC

describe('pinball loss', () => {
  test('each level weighs an error by its side: τ·e above the quantile, (1 − τ)·|e| below', () => {
    expect(LEVELS).toEqual([0.1, 0.5, 0.9]);
    // actual 10, band 9/10/11: errors +1, 0, −1 → 0.1·1, 0, 0.1·1 → mean 0.2/3
    expect(pinball(10, [9, 10, 11])).toBeCloseTo(0.2 / 3, 12);
    // actual 12 above the whole band: 0.1·3 + 0.5·2 + 0.9·1
    expect(pinball(12, [9, 10, 11])).toBeCloseTo((0.3 + 1 + 0.9) / 3, 12);
    // actual 8 below it: 0.9·1 + 0.5·2 + 0.1·3
    expect(pinball(8, [9, 10, 11])).toBeCloseTo((0.9 + 1 + 0.3) / 3, 12);
    expect(pinball(10, [10, 10, 10])).toBe(0);
  });

  test('the training loss on tensors is the same mean pinball loss over the ordered quantiles', async () => {
    const tf = await tensorflow();
    const raw = [
      [0.3, 1.0, -2],
      [2, -1.5, 0.7],
    ];
    const actual = [1.2, -3];
    const ordered = orderedQuantiles(tf, tf.tensor2d(raw)).arraySync();
    const expected = (pinball(actual[0], ordered[0]) + pinball(actual[1], ordered[1])) / 2;
    const loss = pinballLoss(tf)(
      tf.tensor2d(actual.map((a) => LEVELS.map(() => a))),
      tf.tensor2d(raw),
    ).dataSync()[0];
    expect(loss).toBeCloseTo(expected, 5);
  });
});

test('ordered quantiles: the median column as is, the others softplus steps away, so they never cross', async () => {
  const tf = await tensorflow();
  // Arbitrary raw outputs, including ones that would cross if read as quantiles directly.
  let s = 42;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const raw = Array.from({ length: 500 }, () => LEVELS.map(() => (rand() - 0.5) * 40));
  const out = orderedQuantiles(tf, tf.tensor2d(raw)).arraySync();
  out.forEach((q, i) => {
    expect(q[1]).toBeCloseTo(raw[i][1], 4);
    expect(q[0]).toBeLessThanOrEqual(q[1]);
    expect(q[1]).toBeLessThanOrEqual(q[2]);
    expect(q[1] - q[0]).toBeCloseTo(Math.log1p(Math.exp(raw[i][0])), 3);
  });
});

test('conformal adjustment: the widening (or narrowing) that makes the band hold 80 % of a slice', () => {
  // Ten outcomes at distance 0.1·k outside a band [0, 1] (k = -4 … 5; negative: inside).
  const rows = Array.from({ length: 10 }, (_, i) => ({ actual: 1 + (i - 4) * 0.1, quantiles: [0, 0.5, 1] }));
  const adj = conformalAdjustment(rows);
  expect(adj).toBeCloseTo(0.4, 12); // ceil(11·0.8) = 9th smallest score
  const covered = rows.filter((r) =>
    inBand(r.actual, [r.quantiles[0] - adj, r.quantiles[1], r.quantiles[2] + adj]),
  );
  expect(covered.length / rows.length).toBeGreaterThanOrEqual(0.8);
  // A band far too wide is narrowed (negative adjustment).
  expect(conformalAdjustment(rows.map((r) => ({ actual: 0.5, quantiles: r.quantiles })))).toBeCloseTo(-0.5);
  expect(conformalAdjustment([])).toBe(0);
});

test('exceedance probability: 1 − level at each quantile, 0.5 at the median, monotone', () => {
  const band = [115, 116, 118];
  expect(exceedanceProbability(band, 115)).toBeCloseTo(0.9, 12);
  expect(exceedanceProbability(band, 116)).toBeCloseTo(0.5, 12);
  expect(exceedanceProbability(band, 118)).toBeCloseTo(0.1, 12);
  let last = 1;
  for (let v = 110; v <= 124; v += 0.25) {
    const p = exceedanceProbability(band, v);
    expect(p).toBeLessThanOrEqual(last);
    last = p;
  }
  expect(exceedanceProbability([116, 116, 116], 115)).toBe(1);
  expect(exceedanceProbability([116, 116, 116], 117)).toBe(0);
  expect(quantileRecord(band)).toEqual({ '0.1': 115, '0.5': 116, '0.9': 118 });
});

describe('seasonal naive', () => {
  const row = (i: number, voltage: number) => ({ epoch: MONDAY + i * 900, voltage, temperature: 0 });
  const WEEK = SEASON_SECONDS / 900;

  test('the value a week earlier plus the quantiles of the week-over-week change in training', () => {
    // Three weeks, each 0.5 V above the one before, with a 0/1 wiggle in the changes.
    const rows = Array.from({ length: 3 * WEEK }, (_, i) =>
      row(i, 100 + Math.floor(i / WEEK) * 0.5 + (i % 2)),
    );
    const train = rows.slice(0, 2 * WEEK);
    const naive = SeasonalNaive.fit(train, rows)!;
    // The changes in the second week are all +0.5: every quantile offset is 0.5, added to the value a
    // week earlier (100 + 0.5 + 1 at an odd index of the second week).
    expect(naive.forecast(rows[2 * WEEK + 3].epoch)).toEqual([102, 102, 102]);
    expect(naive.forecast(rows[0].epoch)).toBeUndefined(); // nothing a week earlier
    expect(SeasonalNaive.fit(train.slice(0, WEEK), rows.slice(0, WEEK))).toBeUndefined();
  });

  test('evaluateForecast compares the model and the baseline on the same rows', () => {
    const rows = Array.from({ length: 10 * 96 }, (_, i) => row(i, 116 + Math.sin(i / 7)));
    const split = splitByTime(rows, 0.2);
    const exact = evaluateForecast(split, (held) =>
      held.map((r) => [r.voltage - 0.1, r.voltage, r.voltage + 0.1]),
    );
    expect(exact.band).toEqual({
      rows: 192,
      pinball: expect.closeTo((0.2 * 0.1) / 3, 9),
      coverage: 1,
      medianMae: 0,
    });
    expect(exact.comparable!.model.rows).toBe(192); // every held-out row has a value a week older
    expect(exact.comparable!.seasonalNaive.pinball).toBeGreaterThan(exact.comparable!.model.pinball);
    expect(bandMetrics([{ actual: 2, quantiles: [0, 1, 1.5] }])).toMatchObject({ coverage: 0, medianMae: 1 });
  });
});
