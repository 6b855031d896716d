// How a model is judged: on a held-out LATER time range (a random split would let the model peek at the
// same days it is tested on), against two baselines a model must beat to be worth serving: always
// answering the majority class, and a lookup table (hour of day × weekday/weekend → majority label)
// fitted on the training range.
import { calendar, label, Observation } from './features';

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

/** Everything the registry stores about a model's quality, all measured on the same held-out range. */
export interface ModelEvaluation {
  thresholdV: number;
  trainRows: number;
  heldOut: ClassificationMetrics & { fromEpoch: number; toEpoch: number };
  majorityRate: number;
  baselineAccuracy: number;
}

export function evaluate(
  split: TimeSplit,
  thresholdV: number,
  predict: (rows: readonly Observation[]) => (0 | 1)[],
): ModelEvaluation {
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
      ...classificationMetrics(actual, predict(heldOut)),
      fromEpoch: heldOut[0].epoch,
      toEpoch: heldOut[heldOut.length - 1].epoch,
    },
    majorityRate: majorityRate(actual),
    baselineAccuracy: baseline.accuracy,
  };
}
