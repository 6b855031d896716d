// The train and predict roles' environment, validated (errors name the variable).
import { EnvReader } from '../lib/config';
import { DEFAULT_SPEC } from './model';
import { modelSubjects } from './subjects';
import { PredictSettings } from './predictor';
import { DEFAULT_TRAIN_SETTINGS, TrainSettings } from './trainer';

export function trainSettings(env: EnvReader, keyspace: string): TrainSettings & { once: boolean } {
  const d = DEFAULT_TRAIN_SETTINGS;
  return {
    keyspace,
    modelName: env.string('MODEL_NAME', d.modelName),
    thresholdV: env.number('TRAIN_THRESHOLD_V', d.thresholdV, { min: 0, max: 1000 }),
    heldOutFraction: env.number('TRAIN_HELDOUT_FRACTION', d.heldOutFraction, { min: 0.05, max: 0.5 }),
    minRows: env.integer('TRAIN_MIN_ROWS', d.minRows, { min: 20 }),
    minNewRows: env.integer('TRAIN_MIN_NEW_ROWS', d.minNewRows, { min: 1 }),
    intervalS: env.number('TRAIN_INTERVAL_S', d.intervalS, { min: 1 }),
    logEveryEpochs: d.logEveryEpochs,
    modelUpdatedSubject: modelSubjects(env.string('TRAIN_SUBJECT_ROOT', 'smartmeter')).modelUpdated,
    spec: {
      ...DEFAULT_SPEC,
      epochs: env.integer('TRAIN_EPOCHS', DEFAULT_SPEC.epochs, { min: 1, max: 10_000 }),
      seed: env.integer('TRAIN_SEED', DEFAULT_SPEC.seed, { min: 0 }),
    },
    once: env.boolean('TRAIN_ONCE', false),
  };
}

export function predictSettings(env: EnvReader, keyspace: string): PredictSettings {
  return {
    keyspace,
    modelName: env.string('MODEL_NAME', DEFAULT_TRAIN_SETTINGS.modelName),
    subjects: modelSubjects(env.string('PREDICT_SUBJECT_ROOT', 'smartmeter')),
    queueGroup: env.string('PREDICT_QUEUE_GROUP', 'smartmeter_predict'),
    modelRetryS: env.number('PREDICT_MODEL_RETRY_S', 5, { min: 0.1 }),
  };
}
