// The MLP on data shaped like the original generator: deterministic under a seed, round-trips through
// the registry's serialised form, and uses the temperature to beat the hour × weekend lookup.
import { evaluate, splitByTime } from '../../src/training/evaluation';
import {
  deserializeModel,
  serializeModel,
  trainModel,
  TrainingSpec,
  DEFAULT_SPEC,
} from '../../src/training/model';
import { syntheticObservations } from './synthetic';

const spec: TrainingSpec = { ...DEFAULT_SPEC, epochs: 25 };
const rows = syntheticObservations(14);
const split = splitByTime(rows, 0.2);

test('same seed, same data → same weights; reports every epoch', async () => {
  const progress: number[] = [];
  const a = await trainModel(split.train, 116, spec, (p) => progress.push(p.epoch));
  const b = await trainModel(split.train, 116, spec);
  try {
    expect(progress).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    const probe = split.heldOut.slice(0, 50);
    expect(a.predict(probe)).toEqual(b.predict(probe));
  } finally {
    a.dispose();
    b.dispose();
  }
}, 60_000);

test('serialised and loaded back, the model predicts exactly the same', async () => {
  const model = await trainModel(split.train, 116, spec);
  const { topology, weights } = await serializeModel(model);
  const loaded = await deserializeModel(topology, weights);
  try {
    expect(loaded.thresholdV).toBe(116);
    expect(loaded.scaler).toEqual(model.scaler);
    expect(loaded.predict(split.heldOut)).toEqual(model.predict(split.heldOut));
    expect(() => JSON.parse(topology)).not.toThrow();
    await expect(deserializeModel(topology.replace('smartmeter-mlp/1', 'other'), weights)).rejects.toThrow(
      /unknown model format/,
    );
  } finally {
    model.dispose();
    loaded.dispose();
  }
}, 60_000);

test('the temperature lets the MLP beat the lookup baseline on a later time range', async () => {
  const model = await trainModel(split.train, 116, { ...DEFAULT_SPEC });
  try {
    const e = evaluate(split, 116, (held) => model.classify(held));
    expect(e.heldOut.positives).toBeGreaterThan(0);
    expect(e.heldOut.accuracy).toBeGreaterThan(e.baselineAccuracy);
    expect(e.heldOut.accuracy).toBeGreaterThan(e.majorityRate);
  } finally {
    model.dispose();
  }
}, 60_000);
