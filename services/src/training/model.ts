// The over-voltage model: a small multilayer perceptron (4 inputs → 16 → 12 → 6 → 1 sigmoid, the
// original's [4,16,12,6,2] with the two-class softmax written as one sigmoid unit) together with the
// temperature scaling it was trained with and the threshold its label means. Training is deterministic
// under a seed: seeded initialisers, and one seeded shuffle of the training rows instead of tfjs's
// Math.random shuffling, on the deterministic CPU backend.
import type { LayersModel, io } from '@tensorflow/tfjs';
import { FEATURE_COUNT, FEATURE_NAMES, features, fitScaler, label, Observation, Scaler } from './features';
import { Tf, tensorflow } from './tf';

export interface TrainingSpec {
  hiddenLayers: number[];
  seed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
}

export const DEFAULT_SPEC: TrainingSpec = {
  hiddenLayers: [16, 12, 6],
  seed: 1234,
  epochs: 60,
  batchSize: 64,
  learningRate: 0.01,
};

export interface ModelInput {
  epoch: number;
  temperature: number;
}

export interface Prediction {
  probability: number;
  alert: 0 | 1;
}

export class OverVoltageModel {
  constructor(
    private readonly tf: Tf,
    readonly net: LayersModel,
    readonly scaler: Scaler,
    readonly thresholdV: number,
  ) {}

  /** Synchronous on the CPU backend, so a prediction never interleaves with a model swap. */
  predict(inputs: readonly ModelInput[]): Prediction[] {
    if (inputs.length === 0) return [];
    const probabilities = this.tf.tidy(() => {
      const x = this.tf.tensor2d(
        inputs.map((i) => features(i.epoch, i.temperature, this.scaler)),
        [inputs.length, FEATURE_COUNT],
      );
      return (this.net.predict(x) as ReturnType<Tf['tensor2d']>).dataSync();
    });
    return Array.from(probabilities, (p) => ({ probability: p, alert: p >= 0.5 ? 1 : 0 }));
  }

  classify(rows: readonly Observation[]): (0 | 1)[] {
    return this.predict(rows).map((p) => p.alert);
  }

  dispose(): void {
    this.net.dispose();
  }
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
  const net = tf.sequential();
  spec.hiddenLayers.forEach((units, i) =>
    net.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        inputShape: i === 0 ? [FEATURE_COUNT] : undefined,
        kernelInitializer: tf.initializers.glorotUniform({ seed: spec.seed + i }),
      }),
    ),
  );
  net.add(
    tf.layers.dense({
      units: 1,
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: spec.seed + spec.hiddenLayers.length }),
    }),
  );
  net.compile({ optimizer: tf.train.adam(spec.learningRate), loss: 'binaryCrossentropy' });
  return net;
}

export interface EpochProgress {
  epoch: number;
  epochs: number;
  loss: number;
}

export async function trainModel(
  rows: readonly Observation[],
  thresholdV: number,
  spec: TrainingSpec = DEFAULT_SPEC,
  onEpoch: (p: EpochProgress) => void = () => undefined,
): Promise<OverVoltageModel> {
  if (rows.length === 0) throw new Error('cannot train on zero rows');
  const tf = await tensorflow();
  const scaler = fitScaler(rows);
  const shuffled = seededShuffle(rows, spec.seed);
  const net = buildNet(tf, spec);
  const x = tf.tensor2d(
    shuffled.map((r) => features(r.epoch, r.temperature, scaler)),
    [shuffled.length, FEATURE_COUNT],
  );
  const y = tf.tensor2d(
    shuffled.map((r) => label(r.voltage, thresholdV)),
    [shuffled.length, 1],
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
    x.dispose();
    y.dispose();
  }
  return new OverVoltageModel(tf, net, scaler, thresholdV);
}

/** The `topology` column: tfjs's model JSON plus what is needed to use it (feature order, scaling, label). */
interface StoredTopology {
  format: 'smartmeter-mlp/1';
  features: readonly string[];
  thresholdV: number;
  scaler: Scaler;
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
    format: 'smartmeter-mlp/1',
    features: FEATURE_NAMES,
    thresholdV: model.thresholdV,
    scaler: model.scaler,
    modelTopology: artifacts.modelTopology,
    weightSpecs: artifacts.weightSpecs,
  };
  const data = artifacts.weightData;
  const bytes = Array.isArray(data) ? Buffer.concat(data.map((b) => Buffer.from(b))) : Buffer.from(data);
  return { topology: JSON.stringify(stored), weights: bytes };
}

export async function deserializeModel(topology: string, weights: Uint8Array): Promise<OverVoltageModel> {
  const stored = JSON.parse(topology) as StoredTopology;
  if (stored.format !== 'smartmeter-mlp/1') throw new Error(`unknown model format "${stored.format}"`);
  if (JSON.stringify(stored.features) !== JSON.stringify(FEATURE_NAMES)) {
    throw new Error(
      `model expects features ${stored.features.join(',')}, this build computes ${FEATURE_NAMES.join(',')}`,
    );
  }
  const tf = await tensorflow();
  // A copy, so the ArrayBuffer holds exactly the weights (a driver Buffer may be a slice of a larger one).
  const weightData = new Uint8Array(weights).buffer;
  const net = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: stored.modelTopology, weightSpecs: stored.weightSpecs, weightData }),
  );
  return new OverVoltageModel(tf, net, stored.scaler, stored.thresholdV);
}
