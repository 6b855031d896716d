// The train and predict roles' environment, validated (errors name the variable).
import { EnvReader } from '../lib/config';
import { DEFAULT_SPEC } from './model';
import { modelSubjects } from './subjects';
import { PredictSettings } from './predictor';
import { DEFAULT_TRAIN_SETTINGS, TrainSettings } from './trainer';

export function trainSettings(env: EnvReader, keyspace: string): TrainSettings & { once: boolean } {
  return {
    keyspace,
    modelName: env.get('MODEL_NAME'),
    thresholdV: env.get('TRAIN_THRESHOLD_V'),
    heldOutFraction: env.get('TRAIN_HELDOUT_FRACTION'),
    minRows: env.get('TRAIN_MIN_ROWS'),
    minNewRows: env.get('TRAIN_MIN_NEW_ROWS'),
    intervalS: env.get('TRAIN_INTERVAL_S'),
    logEveryEpochs: DEFAULT_TRAIN_SETTINGS.logEveryEpochs,
    modelUpdatedSubject: modelSubjects(env.get('TRAIN_SUBJECT_ROOT')).modelUpdated,
    spec: { ...DEFAULT_SPEC, epochs: env.get('TRAIN_EPOCHS'), seed: env.get('TRAIN_SEED') },
    once: env.get('TRAIN_ONCE'),
  };
}

export function predictSettings(env: EnvReader, keyspace: string): PredictSettings {
  return {
    keyspace,
    modelName: env.get('MODEL_NAME'),
    subjects: modelSubjects(env.get('PREDICT_SUBJECT_ROOT')),
    queueGroup: env.get('PREDICT_QUEUE_GROUP'),
    modelRetryS: env.get('PREDICT_MODEL_RETRY_S'),
  };
}
