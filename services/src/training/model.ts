// The over-voltage model: a quantile forecast of the epoch's max voltage (bands at 0.1, 0.5, 0.9) from the
// calendar and the temperature, with the alert read off it (median above the threshold; the probability
// from the band). The network is additive: one branch on the calendar (hour on the circle, weekend) gives
// the three quantiles, one on the temperature shifts them (through the median, so the band's width is the
// calendar's alone), as the voltage is a daily profile plus a temperature effect.
// It regresses the voltage rather than the label because the label throws away how far from the threshold
// an epoch was, and an additive net carries the temperature effect over to hours it was not seen at (the
// seed's [4,16,12,6,2] classifier on labels missed warmer spring nights: see services/README.md). The last
// share of the training range (never the held-out one) calibrates the band (split conformal).
// Training is deterministic under a seed: seeded initialisers, and one seeded shuffle of the training rows
// instead of tfjs's Math.random shuffling, on the deterministic CPU backend.
import { VARIABLES } from '../contract/variables';
import type { LayersModel, SymbolicTensor, Tensor2D, io } from '@tensorflow/tfjs';
import {
  CALENDAR_FEATURE_COUNT,
  FEATURE_COUNT,
  FEATURE_NAMES,
  features,
  fitScaler,
  Observation,
  Scaler,
} from './features';
import {
  conformalAdjustment,
  exceedanceProbability,
  LEVELS,
  MEDIAN,
  orderedQuantiles,
  pinballLoss,
} from './quantiles';
import { Tf, tensorflow } from './tf';

export interface TrainingSpec {
  /** Hidden layers of the calendar branch and of the temperature branch. */
  calendarLayers: number[];
  temperatureLayers: number[];
  seed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Latest share of the training rows kept out of the fit to calibrate the band. */
  calibrationFraction: number;
}

export const DEFAULT_SPEC: TrainingSpec = {
  calendarLayers: [16, 12],
  temperatureLayers: [8],
  seed: VARIABLES.TRAIN_SEED.default,
  epochs: VARIABLES.TRAIN_EPOCHS.default,
  batchSize: 64,
  learningRate: 0.01,
  calibrationFraction: 0.2,
};

export interface ModelInput {
  epoch: number;
  temperature: number;
}

export interface Prediction {
  /** P(max voltage > thresholdV), read off the band. */
  probability: number;
  alert: 0 | 1;
  /** Max voltage quantiles at LEVELS, ascending (volts). */
  quantiles: number[];
}

/** How the network's output maps to volts: standardisation of the target, and the conformal widening. */
export interface Band {
  levels: readonly number[];
  voltageMean: number;
  voltageStd: number;
  /** Volts added to each end of the band (negative: narrowed) so it holds 80 % of the calibration slice. */
  adjustment: number;
}

export class OverVoltageModel {
  constructor(
    private readonly tf: Tf,
    readonly net: LayersModel,
    readonly scaler: Scaler,
    readonly thresholdV: number,
    readonly band: Band,
  ) {}

  /** Quantiles before the conformal adjustment (volts). */
  private raw(inputs: readonly ModelInput[]): number[][] {
    const { voltageMean, voltageStd } = this.band;
    const out = this.tf.tidy(() => {
      const [calendar, temperature] = inputTensors(this.tf, inputs, this.scaler);
      return orderedQuantiles(this.tf, this.net.predict([calendar, temperature]) as Tensor2D).arraySync();
    });
    return out.map((q) => q.map((z) => z * voltageStd + voltageMean));
  }

  /** Synchronous on the CPU backend, so a prediction never interleaves with a model swap. */
  predict(inputs: readonly ModelInput[]): Prediction[] {
    if (inputs.length === 0) return [];
    const { adjustment } = this.band;
    return this.raw(inputs).map((q) => {
      // The adjustment moves the outer ends only, and never past the median (the band stays ordered).
      const quantiles = q.map((v, i) =>
        i < MEDIAN
          ? Math.min(v - adjustment, q[MEDIAN])
          : i > MEDIAN
            ? Math.max(v + adjustment, q[MEDIAN])
            : v,
      );
      const probability = exceedanceProbability(quantiles, this.thresholdV);
      return { probability, alert: quantiles[MEDIAN] > this.thresholdV ? 1 : 0, quantiles };
    });
  }

  classify(rows: readonly Observation[]): (0 | 1)[] {
    return this.predict(rows).map((p) => p.alert);
  }

  forecast(rows: readonly ModelInput[]): number[][] {
    return this.predict(rows).map((p) => p.quantiles);
  }

  dispose(): void {
    this.net.dispose();
  }
}

function inputTensors(tf: Tf, inputs: readonly ModelInput[], scaler: Scaler): [Tensor2D, Tensor2D] {
  const rows = inputs.map((i) => features(i.epoch, i.temperature, scaler));
  return [
    tf.tensor2d(
      rows.map((r) => r.slice(0, CALENDAR_FEATURE_COUNT)),
      [rows.length, CALENDAR_FEATURE_COUNT],
    ),
    tf.tensor2d(
      rows.map((r) => r.slice(CALENDAR_FEATURE_COUNT)),
      [rows.length, FEATURE_COUNT - CALENDAR_FEATURE_COUNT],
    ),
  ];
}

/** Deterministic PRNG (mulberry32) for the shuffle. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = random(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function buildNet(tf: Tf, spec: TrainingSpec): LayersModel {
  let seed = spec.seed;
  const branch = (width: number, layers: number[], outputs: number) => {
    const input = tf.input({ shape: [width] });
    let x: SymbolicTensor = input;
    const units = [...layers, outputs];
    for (let i = 0; i < units.length; i++) {
      x = tf.layers
        .dense({
          units: units[i],
          activation: i < layers.length ? 'relu' : 'linear',
          kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
        })
        .apply(x) as SymbolicTensor;
    }
    return { input, out: x };
  };
  const calendar = branch(CALENDAR_FEATURE_COUNT, spec.calendarLayers, LEVELS.length);
  // The temperature moves the median only (the band's width is the calendar's): placed in the median's
  // column by a fixed, untrained one-hot projection.
  const temperature = branch(FEATURE_COUNT - CALENDAR_FEATURE_COUNT, spec.temperatureLayers, 1);
  const shift = tf.layers
    .dense({
      units: LEVELS.length,
      useBias: false,
      trainable: false,
      weights: [tf.tensor2d([LEVELS.map((_, i) => (i === MEDIAN ? 1 : 0))])],
    })
    .apply(temperature.out) as SymbolicTensor;
  const sum = tf.layers.add().apply([calendar.out, shift]) as SymbolicTensor;
  const net = tf.model({ inputs: [calendar.input, temperature.input], outputs: sum });
  net.compile({ optimizer: tf.train.adam(spec.learningRate), loss: pinballLoss(tf) });
  return net;
}

export interface EpochProgress {
  epoch: number;
  epochs: number;
  loss: number;
}

/** Fits a network on rows (scaling fitted on them too): the band as the pinball loss left it. */
async function fit(
  tf: Tf,
  rows: readonly Observation[],
  thresholdV: number,
  spec: TrainingSpec,
  onEpoch: (p: EpochProgress) => void,
): Promise<OverVoltageModel> {
  const scaler = fitScaler(rows);
  const voltageMean = rows.reduce((s, r) => s + r.voltage, 0) / rows.length;
  const voltageStd =
    Math.sqrt(rows.reduce((s, r) => s + (r.voltage - voltageMean) ** 2, 0) / rows.length) || 1;
  const shuffled = seededShuffle(rows, spec.seed);
  const net = buildNet(tf, spec);
  const x = inputTensors(tf, shuffled, scaler);
  const y = tf.tensor2d(
    shuffled.map((r) => LEVELS.map(() => (r.voltage - voltageMean) / voltageStd)),
    [shuffled.length, LEVELS.length],
  );
  try {
    await net.fit(x, y, {
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      shuffle: false,
      verbose: 0,
      callbacks: {
        onEpochEnd: async (epoch, logs) =>
          onEpoch({ epoch: epoch + 1, epochs: spec.epochs, loss: logs?.loss ?? NaN }),
      },
    });
  } catch (err) {
    net.dispose();
    throw err;
  } finally {
    x.forEach((t) => t.dispose());
    y.dispose();
  }
  return new OverVoltageModel(tf, net, scaler, thresholdV, {
    levels: LEVELS,
    voltageMean,
    voltageStd,
    adjustment: 0,
  });
}

/**
 * Split-conformal band: the network is fitted on the training rows but their latest
 * `calibrationFraction`, which then measure how far the band is off on rows beyond the fit (as the
 * held-out ones, and tomorrow's, are) and set the correction.
 */
export async function trainModel(
  rows: readonly Observation[],
  thresholdV: number,
  spec: TrainingSpec = DEFAULT_SPEC,
  onEpoch: (p: EpochProgress) => void = () => undefined,
): Promise<OverVoltageModel> {
  if (rows.length === 0) throw new Error('cannot train on zero rows');
  const tf = await tensorflow();
  const sorted = [...rows].sort((a, b) => a.epoch - b.epoch);
  const cut = Math.max(1, Math.round(sorted.length * (1 - spec.calibrationFraction)));
  const calibration = sorted.slice(cut);
  const model = await fit(tf, sorted.slice(0, cut), thresholdV, spec, onEpoch);
  const adjustment = conformalAdjustment(
    model.forecast(calibration).map((quantiles, i) => ({ actual: calibration[i].voltage, quantiles })),
  );
  return new OverVoltageModel(tf, model.net, model.scaler, thresholdV, { ...model.band, adjustment });
}

const FORMAT = 'smartmeter-quantile/1';

/** A stored model this build cannot load (an older format or other features): train replaces it. */
export class IncompatibleModelError extends Error {
  override name = 'IncompatibleModelError';
}

/** The `topology` column: tfjs's model JSON plus what is needed to use it (feature order, scaling, label). */
interface StoredTopology {
  format: typeof FORMAT;
  features: readonly string[];
  thresholdV: number;
  scaler: Scaler;
  band: Band;
  modelTopology: io.ModelArtifacts['modelTopology'];
  weightSpecs: io.WeightsManifestEntry[];
}

export async function serializeModel(
  model: OverVoltageModel,
): Promise<{ topology: string; weights: Buffer }> {
  const tf = await tensorflow();
  let artifacts: io.ModelArtifacts | undefined;
  await model.net.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.weightSpecs || !artifacts.weightData) throw new Error('tfjs saved no weights');
  const stored: StoredTopology = {
    format: FORMAT,
    features: FEATURE_NAMES,
    thresholdV: model.thresholdV,
    scaler: model.scaler,
    band: model.band,
    modelTopology: artifacts.modelTopology,
    weightSpecs: artifacts.weightSpecs,
  };
  const data = artifacts.weightData;
  const bytes = Array.isArray(data) ? Buffer.concat(data.map((b) => Buffer.from(b))) : Buffer.from(data);
  return { topology: JSON.stringify(stored), weights: bytes };
}

export async function deserializeModel(topology: string, weights: Uint8Array): Promise<OverVoltageModel> {
  const stored = JSON.parse(topology) as StoredTopology;
  if (stored.format !== FORMAT) {
    throw new IncompatibleModelError(`model format "${stored.format}" is not this build's "${FORMAT}"`);
  }
  if (JSON.stringify(stored.features) !== JSON.stringify(FEATURE_NAMES)) {
    throw new IncompatibleModelError(
      `model expects features ${stored.features.join(',')}, this build computes ${FEATURE_NAMES.join(',')}`,
    );
  }
  const tf = await tensorflow();
  // A copy, so the ArrayBuffer holds exactly the weights (a driver Buffer may be a slice of a larger one).
  const weightData = new Uint8Array(weights).buffer;
  const net = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: stored.modelTopology, weightSpecs: stored.weightSpecs, weightData }),
  );
  return new OverVoltageModel(tf, net, stored.scaler, stored.thresholdV, stored.band);
}
