// The MLP on data shaped like the original generator: deterministic under a seed, round-trips through
// the registry's serialised form, uses the temperature to beat the hour × weekend lookup, and its bands
// never cross, trained or not.
import { evaluate, splitByTime } from '../../src/training/evaluation';
import {
  deserializeModel,
  IncompatibleModelError,
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
    // A model stored by an older build (the label-trained MLP) is refused with a reason train acts on.
    const older = topology.replace('smartmeter-quantile/1', 'smartmeter-mlp/1');
    await expect(deserializeModel(older, weights)).rejects.toThrow(IncompatibleModelError);
    await expect(deserializeModel(older, weights)).rejects.toThrow(/model format "smartmeter-mlp\/1"/);
  } finally {
    model.dispose();
    loaded.dispose();
  }
}, 60_000);

test('the temperature lets the MLP beat the lookup baseline on a later time range', async () => {
  const model = await trainModel(split.train, 116, { ...DEFAULT_SPEC });
  try {
    const e = evaluate(split, 116, model);
    expect(e.heldOut.positives).toBeGreaterThan(0);
    expect(e.heldOut.accuracy).toBeGreaterThan(e.baselineAccuracy);
    expect(e.heldOut.accuracy).toBeGreaterThan(e.majorityRate);
  } finally {
    model.dispose();
  }
}, 60_000);

test('the band is ordered for every input, even from an untrained network', async () => {
  const untrained = await trainModel(split.train, 116, { ...spec, epochs: 1, learningRate: 0 });
  const model = await trainModel(split.train, 116, spec);
  try {
    // Far outside the training range as well: -60 °C and +60 °C.
    const inputs = [
      ...split.heldOut,
      ...split.heldOut.slice(0, 20).map((r, i) => ({ ...r, temperature: i % 2 ? 60 : -60 })),
    ];
    for (const m of [untrained, model]) {
      for (const p of m.predict(inputs)) {
        const [low, median, high] = p.quantiles;
        expect(low).toBeLessThanOrEqual(median);
        expect(median).toBeLessThanOrEqual(high);
        expect(p.alert).toBe(median > 116 ? 1 : 0);
        expect(p.probability > 0.5).toBe(p.alert === 1);
      }
    }
  } finally {
    untrained.dispose();
    model.dispose();
  }
}, 60_000);
