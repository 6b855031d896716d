// How a model is judged: on a held-out LATER time range (a random split would let the model peek at the
// same days it is tested on), against two baselines a model must beat to be worth serving: always
// answering the majority class, and a lookup table (hour of day × weekday/weekend → majority label)
// fitted on the training range.
import { calendar, label, Observation } from './features';
import { inBand, LEVELS, pinball } from './quantiles';

export interface TimeSplit {
  train: Observation[];
  heldOut: Observation[];
}

/** Rows sorted by epoch; the last `heldOutFraction` of them is the held-out range. */
export function splitByTime(rows: readonly Observation[], heldOutFraction: number): TimeSplit {
  if (!(heldOutFraction > 0 && heldOutFraction < 1)) {
    throw new RangeError(`held-out fraction must be between 0 and 1, got ${heldOutFraction}`);
  }
  const sorted = [...rows].sort((a, b) => a.epoch - b.epoch);
  const cut = Math.round(sorted.length * (1 - heldOutFraction));
  return { train: sorted.slice(0, cut), heldOut: sorted.slice(cut) };
}

export interface ClassificationMetrics {
  rows: number;
  positives: number;
  accuracy: number;
  /** Of the predicted alerts, the share that were real; null when nothing was predicted as an alert. */
  precision: number | null;
  /** Of the real alerts, the share predicted; null when there was no real alert. */
  recall: number | null;
}

export function classificationMetrics(
  actual: readonly (0 | 1)[],
  predicted: readonly (0 | 1)[],
): ClassificationMetrics {
  if (actual.length !== predicted.length) throw new RangeError('actual and predicted differ in length');
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let correct = 0;
  actual.forEach((a, i) => {
    const p = predicted[i];
    if (a === p) correct++;
    if (p === 1 && a === 1) tp++;
    else if (p === 1) fp++;
    else if (a === 1) fn++;
  });
  return {
    rows: actual.length,
    positives: tp + fn,
    accuracy: actual.length ? correct / actual.length : 0,
    precision: tp + fp ? tp / (tp + fp) : null,
    recall: tp + fn ? tp / (tp + fn) : null,
  };
}

/** Share of the most frequent class: the accuracy of a model that always says the same thing. */
export function majorityRate(labels: readonly (0 | 1)[]): number {
  if (labels.length === 0) return 0;
  const positives = labels.filter((l) => l === 1).length;
  return Math.max(positives, labels.length - positives) / labels.length;
}

/** hour of day × weekday/weekend → the majority label seen in training (ties and unseen cells: 0). */
export class LookupBaseline {
  private constructor(private readonly table: ReadonlyMap<string, 0 | 1>) {}

  private static key(epoch: number): string {
    const { hour, weekend } = calendar(epoch);
    return `${Math.floor(hour)}:${weekend ? 'we' : 'wd'}`;
  }

  static fit(rows: readonly Observation[], thresholdV: number): LookupBaseline {
    const votes = new Map<string, number>();
    for (const r of rows) {
      const k = LookupBaseline.key(r.epoch);
      votes.set(k, (votes.get(k) ?? 0) + (label(r.voltage, thresholdV) ? 1 : -1));
    }
    return new LookupBaseline(new Map([...votes].map(([k, v]) => [k, v > 0 ? 1 : 0])));
  }

  predict(epoch: number): 0 | 1 {
    return this.table.get(LookupBaseline.key(epoch)) ?? 0;
  }
}

/** The seasonal-naive forecast's season: the same time a week earlier (weekdays and weekends line up). */
export const SEASON_SECONDS = 7 * 86_400;

/** How a forecast band did on rows: mean pinball loss, share inside [q0.1, q0.9], median's MAE (volts). */
export interface BandMetrics {
  rows: number;
  pinball: number;
  coverage: number;
  medianMae: number;
}

export function bandMetrics(rows: readonly { actual: number; quantiles: readonly number[] }[]): BandMetrics {
  const n = rows.length;
  const mean = (f: (r: (typeof rows)[number]) => number) =>
    n ? rows.reduce((s, r) => s + f(r), 0) / n : NaN;
  return {
    rows: n,
    pinball: mean((r) => pinball(r.actual, r.quantiles)),
    coverage: mean((r) => (inBand(r.actual, r.quantiles) ? 1 : 0)),
    medianMae: mean((r) => Math.abs(r.actual - r.quantiles[Math.floor(r.quantiles.length / 2)])),
  };
}

/**
 * Seasonal naive with a band: the value one season earlier, plus the quantiles of the season-over-season
 * change seen in the training range. Predicts only where the value a season earlier is known.
 */
export class SeasonalNaive {
  private constructor(
    private readonly history: ReadonlyMap<number, number>,
    private readonly offsets: readonly number[],
  ) {}

  /** `history`: every row known (train and held-out: a value a week old is known at forecast time). */
  static fit(train: readonly Observation[], history: readonly Observation[]): SeasonalNaive | undefined {
    const byEpoch = new Map(history.map((r) => [r.epoch, r.voltage]));
    const changes = train
      .filter((r) => byEpoch.has(r.epoch - SEASON_SECONDS))
      .map((r) => r.voltage - (byEpoch.get(r.epoch - SEASON_SECONDS) as number))
      .sort((a, b) => a - b);
    if (changes.length === 0) return undefined;
    const at = (level: number) => changes[Math.min(changes.length - 1, Math.floor(level * changes.length))];
    return new SeasonalNaive(byEpoch, LEVELS.map(at));
  }

  forecast(epoch: number): number[] | undefined {
    const last = this.history.get(epoch - SEASON_SECONDS);
    return last === undefined ? undefined : this.offsets.map((o) => last + o);
  }
}

/** The band on the held-out rows, beside the seasonal-naive band on those of them it can forecast. */
export interface ForecastEvaluation {
  band: BandMetrics;
  /** The model on the rows the baseline forecasts, and the baseline there; undefined: no row a season old. */
  comparable?: { model: BandMetrics; seasonalNaive: BandMetrics };
}

export function evaluateForecast(
  split: TimeSplit,
  forecast: (rows: readonly Observation[]) => number[][],
): ForecastEvaluation {
  const { train, heldOut } = split;
  const bands = forecast(heldOut).map((quantiles, i) => ({ actual: heldOut[i].voltage, quantiles }));
  const naive = SeasonalNaive.fit(train, [...train, ...heldOut]);
  const pairs = naive
    ? heldOut.flatMap((r, i) => {
        const quantiles = naive.forecast(r.epoch);
        return quantiles ? [{ model: bands[i], naive: { actual: r.voltage, quantiles } }] : [];
      })
    : [];
  return {
    band: bandMetrics(bands),
    comparable: pairs.length
      ? {
          model: bandMetrics(pairs.map((p) => p.model)),
          seasonalNaive: bandMetrics(pairs.map((p) => p.naive)),
        }
      : undefined,
  };
}

/** Everything the registry stores about a model's quality, all measured on the same held-out range. */
export interface ModelEvaluation {
  thresholdV: number;
  trainRows: number;
  heldOut: ClassificationMetrics & { fromEpoch: number; toEpoch: number };
  majorityRate: number;
  baselineAccuracy: number;
  /** The max-voltage band on the same held-out rows. */
  forecast: ForecastEvaluation;
}

export interface Evaluated {
  classify: (rows: readonly Observation[]) => (0 | 1)[];
  forecast: (rows: readonly Observation[]) => number[][];
}

export function evaluate(split: TimeSplit, thresholdV: number, model: Evaluated): ModelEvaluation {
  const { train, heldOut } = split;
  if (heldOut.length === 0) throw new Error('the held-out range is empty');
  const actual = heldOut.map((r) => label(r.voltage, thresholdV));
  const lookup = LookupBaseline.fit(train, thresholdV);
  const baseline = classificationMetrics(
    actual,
    heldOut.map((r) => lookup.predict(r.epoch)),
  );
  return {
    thresholdV,
    trainRows: train.length,
    heldOut: {
      ...classificationMetrics(actual, model.classify(heldOut)),
      fromEpoch: heldOut[0].epoch,
      toEpoch: heldOut[heldOut.length - 1].epoch,
    },
    majorityRate: majorityRate(actual),
    baselineAccuracy: baseline.accuracy,
    forecast: evaluateForecast(split, (rows) => model.forecast(rows)),
  };
}
