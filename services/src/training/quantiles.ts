// The forecast band's arithmetic, shared by training (as tensors) and evaluation (as numbers): quantile
// levels, their ordering, the pinball loss, coverage, and the over-voltage probability read off a band.
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { Tf } from './tf';

/** Quantile levels of the band, ascending; the middle one is the median. */
export const LEVELS = [0.1, 0.5, 0.9] as const;
export const MEDIAN = LEVELS.indexOf(0.5);
/** Share of outcomes the outer band [q0.1, q0.9] should hold. */
export const BAND_COVERAGE = LEVELS[LEVELS.length - 1] - LEVELS[0];

/**
 * The network's raw outputs (one column per level) as ordered quantiles: the median column as is, every
 * other one a softplus (never negative) step away from its inner neighbour, so quantiles never cross.
 */
export function orderedQuantiles(tf: Tf, raw: Tensor2D): Tensor2D {
  return tf.tidy(() => {
    const col = (i: number) => raw.slice([0, i], [-1, 1]);
    const out: Tensor2D[] = [];
    out[MEDIAN] = col(MEDIAN);
    for (let i = MEDIAN - 1; i >= 0; i--) out[i] = out[i + 1].sub(tf.softplus(col(i)));
    for (let i = MEDIAN + 1; i < LEVELS.length; i++) out[i] = out[i - 1].add(tf.softplus(col(i)));
    return tf.concat(out, 1);
  });
}

/** Training loss: the mean pinball loss of the ordered quantiles (yTrue repeats the target per level). */
export function pinballLoss(tf: Tf): (yTrue: Tensor, raw: Tensor) => Tensor {
  return (yTrue, raw) =>
    tf.tidy(() => {
      const levels = tf.tensor1d([...LEVELS]);
      const error = yTrue.sub(orderedQuantiles(tf, raw as Tensor2D));
      return tf.maximum(error.mul(levels), error.mul(levels.sub(1))).mean();
    });
}

/** Pinball loss of one band against the outcome, averaged over the levels (volts). */
export function pinball(actual: number, quantiles: readonly number[]): number {
  let sum = 0;
  LEVELS.forEach((level, i) => {
    const error = actual - quantiles[i];
    sum += Math.max(level * error, (level - 1) * error);
  });
  return sum / LEVELS.length;
}

export function inBand(actual: number, quantiles: readonly number[]): boolean {
  return actual >= quantiles[0] && actual <= quantiles[quantiles.length - 1];
}

/**
 * Split-conformal correction: how far to move both ends of the band so that it holds `coverage` of a
 * calibration slice (negative: the band was too wide). Score = distance outside the band (< 0 inside).
 */
export function conformalAdjustment(
  rows: readonly { actual: number; quantiles: readonly number[] }[],
  coverage = BAND_COVERAGE,
): number {
  if (rows.length === 0) return 0;
  const scores = rows
    .map(({ actual, quantiles }) => Math.max(quantiles[0] - actual, actual - quantiles[quantiles.length - 1]))
    .sort((a, b) => a - b);
  const k = Math.min(scores.length - 1, Math.ceil((scores.length + 1) * coverage) - 1);
  return scores[Math.max(0, k)];
}

/**
 * P(value > threshold) for a band, reading it as a logistic distribution centred on the median whose
 * scale on each side puts the outer quantiles where the band has them; alert ⇔ median above threshold.
 */
export function exceedanceProbability(quantiles: readonly number[], threshold: number): number {
  const median = quantiles[MEDIAN];
  const upper = threshold >= median;
  const [level, q] = upper
    ? [LEVELS[LEVELS.length - 1], quantiles[quantiles.length - 1]]
    : [LEVELS[0], quantiles[0]];
  const logit = Math.log(level / (1 - level));
  const scale = (q - median) / logit; // > 0 on both sides
  if (!(scale > 0)) return threshold < median ? 1 : 0;
  return 1 - 1 / (1 + Math.exp(-(threshold - median) / scale));
}

/** A band as the prediction JSON carries it: {"0.1": …, "0.5": …, "0.9": …}. */
export function quantileRecord(quantiles: readonly number[]): Record<string, number> {
  return Object.fromEntries(LEVELS.map((level, i) => [String(level), quantiles[i]]));
}
