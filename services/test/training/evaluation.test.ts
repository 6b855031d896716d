import {
  classificationMetrics,
  evaluate,
  LookupBaseline,
  majorityRate,
  splitByTime,
} from '../../src/training/evaluation';
import { calendar, features, fitScaler, label } from '../../src/training/features';

// 2024-01-01 00:00 UTC is a Monday.
const MONDAY = 1_704_067_200;

describe('features', () => {
  test('hour on the unit circle, weekend flag, temperature standardised', () => {
    const scaler = { temperatureMean: 10, temperatureStd: 5 };
    const [sin, cos, weekend, t] = features(MONDAY + 6 * 3600, 20, scaler);
    expect(sin).toBeCloseTo(1);
    expect(cos).toBeCloseTo(0);
    expect(weekend).toBe(0);
    expect(t).toBeCloseTo(2);
    expect(features(MONDAY + 5 * 86400, 10, scaler)[2]).toBe(1); // Saturday
    expect(calendar(MONDAY + 6 * 86400 + 90 * 60)).toEqual({ hour: 1.5, weekend: true }); // Sunday
  });

  test('scaler: mean and standard deviation, and a constant temperature does not divide by zero', () => {
    expect(fitScaler([{ temperature: 1 }, { temperature: 3 }])).toEqual({
      temperatureMean: 2,
      temperatureStd: 1,
    });
    expect(fitScaler([{ temperature: 4 }, { temperature: 4 }]).temperatureStd).toBe(1);
    expect(() => fitScaler([])).toThrow(/zero rows/);
  });

  test('label: strictly above the threshold', () => {
    expect(label(116, 116)).toBe(0);
    expect(label(116.01, 116)).toBe(1);
  });
});

describe('evaluation', () => {
  test('splitByTime holds out the latest rows, whatever the input order', () => {
    const rows = [5, 1, 4, 2, 3].map((i) => ({ epoch: i, voltage: 0, temperature: 0 }));
    const { train, heldOut } = splitByTime(rows, 0.4);
    expect(train.map((r) => r.epoch)).toEqual([1, 2, 3]);
    expect(heldOut.map((r) => r.epoch)).toEqual([4, 5]);
    expect(() => splitByTime(rows, 1)).toThrow(/between 0 and 1/);
  });

  test('accuracy, precision and recall of the alert class', () => {
    const m = classificationMetrics([1, 1, 0, 0, 1], [1, 0, 1, 0, 1]);
    expect(m).toEqual({ rows: 5, positives: 3, accuracy: 3 / 5, precision: 2 / 3, recall: 2 / 3 });
    expect(classificationMetrics([0, 0], [0, 0])).toMatchObject({
      precision: null,
      recall: null,
      accuracy: 1,
    });
    expect(majorityRate([1, 0, 0, 0])).toBe(0.75);
  });

  test('lookup baseline: majority label per hour × weekday/weekend of the training range', () => {
    const at = (day: number, hour: number, voltage: number) => ({
      epoch: MONDAY + day * 86400 + hour * 3600,
      voltage,
      temperature: 0,
    });
    // Weekday 03:xx is mostly high, weekend 03:xx low, weekday 04:xx low.
    const train = [at(0, 3, 117), at(1, 3, 117), at(2, 3, 115), at(5, 3, 115), at(0, 4, 115)];
    const lookup = LookupBaseline.fit(train, 116);
    expect(lookup.predict(MONDAY + 7 * 86400 + 3 * 3600 + 1800)).toBe(1);
    expect(lookup.predict(MONDAY + 6 * 86400 + 3 * 3600)).toBe(0);
    expect(lookup.predict(MONDAY + 4 * 3600)).toBe(0);
    expect(lookup.predict(MONDAY + 12 * 3600)).toBe(0); // never seen
  });

  test('evaluate reports the model, the majority rate and the baseline on the same held-out range', () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({
      epoch: MONDAY + i * 86400,
      voltage: i % 2 ? 117 : 115,
      temperature: 0,
    }));
    const split = splitByTime(rows, 0.2);
    const e = evaluate(split, 116, {
      classify: (held) => held.map((r) => label(r.voltage, 116)),
      forecast: (held) => held.map((r) => [r.voltage - 1, r.voltage, r.voltage + 1]),
    });
    expect(e.trainRows).toBe(8);
    expect(e.heldOut).toMatchObject({
      rows: 2,
      accuracy: 1,
      fromEpoch: rows[8].epoch,
      toEpoch: rows[9].epoch,
    });
    expect(e.majorityRate).toBe(0.5);
    expect(e.baselineAccuracy).toBe(0.5); // midnight weekday: 4 high, 4 low in training → tie → 0
  });
});
