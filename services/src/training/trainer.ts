// One training run and the schedule around it: load max_voltage ⋈ temperature, split off the latest
// rows as the held-out range, train the model on the rest, evaluate it and the model currently served on
// the same held-out rows, and publish the new model only if it does no worse on either question: the
// alert's accuracy and the band's pinball loss. Progress (epochs, loss) goes to the logs and to metrics a
// Grafana panel can show.
import { VARIABLES } from '../contract/variables';
import { Client } from 'cassandra-driver';
import { NatsConnection } from 'nats';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Logger } from '../lib/log';
import { SUBJECTS } from '../wire/subjects';
import { loadObservations } from './dataset';
import { evaluate, ModelEvaluation, splitByTime } from './evaluation';
import { Observation } from './features';
import {
  DEFAULT_SPEC,
  deserializeModel,
  IncompatibleModelError,
  serializeModel,
  trainModel,
  TrainingSpec,
} from './model';
import { DEFAULT_MODEL_NAME, latestModel, ModelMetrics, saveModel } from './registry';
import { zeroed } from '../lib/metrics';

export interface TrainSettings {
  keyspace: string;
  modelName: string;
  thresholdV: number;
  heldOutFraction: number;
  /** Fewer joined rows than this: too little data to train. */
  minRows: number;
  /** Retrain only when at least this many rows arrived since the current model was trained. */
  minNewRows: number;
  intervalS: number;
  spec: TrainingSpec;
  /** Where a new version is announced (smartmeter.model.updated). */
  modelUpdatedSubject: string;
  /** Log the loss every this many epochs (and at the last one). */
  logEveryEpochs: number;
}

export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  keyspace: VARIABLES.CASSANDRA_KEYSPACE.default,
  modelName: DEFAULT_MODEL_NAME,
  thresholdV: VARIABLES.TRAIN_THRESHOLD_V.default,
  heldOutFraction: VARIABLES.TRAIN_HELDOUT_FRACTION.default,
  minRows: VARIABLES.TRAIN_MIN_ROWS.default,
  minNewRows: VARIABLES.TRAIN_MIN_NEW_ROWS.default,
  intervalS: VARIABLES.TRAIN_INTERVAL_S.default,
  spec: DEFAULT_SPEC,
  modelUpdatedSubject: SUBJECTS.modelUpdated,
  logEveryEpochs: 10,
};

export class TooLittleDataError extends Error {
  override name = 'TooLittleDataError';
}

export interface ModelUpdatedEvent {
  name: string;
  version: number;
}

export type TrainOutcome =
  | { status: 'accepted'; version: number; metrics: ModelMetrics }
  | {
      status: 'rejected';
      currentVersion: number;
      metrics: ModelMetrics;
      currentAccuracy: number;
      currentPinball: number;
    };

export class TrainMetrics {
  readonly runs: Counter<'outcome'>;
  readonly epochs: Counter;
  readonly loss: Gauge;
  readonly accuracy: Gauge;
  readonly precision: Gauge;
  readonly recall: Gauge;
  readonly baselineAccuracy: Gauge;
  readonly majorityRate: Gauge;
  readonly bandCoverage: Gauge;
  readonly pinball: Gauge;
  readonly baselinePinball: Gauge;
  readonly version: Gauge;
  readonly rows: Gauge;
  readonly waiting: Gauge;
  readonly duration: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.runs = zeroed(
      new Counter({
        name: 'smartmeter_training_runs_total',
        help: 'Training runs by outcome: accepted (new model served), rejected (worse than current), failed',
        labelNames: ['outcome'],
        registers,
      }),
      { outcome: ['accepted', 'rejected', 'failed'] },
    );
    this.epochs = new Counter({
      name: 'smartmeter_training_epochs_total',
      help: 'Training epochs completed',
      registers,
    });
    this.loss = new Gauge({ name: 'smartmeter_training_loss', help: 'Loss after the last epoch', registers });
    const g = (name: string, help: string) => new Gauge({ name, help, registers });
    this.accuracy = g('smartmeter_model_heldout_accuracy', 'Held-out accuracy of the last trained model');
    this.precision = g(
      'smartmeter_model_heldout_precision',
      'Held-out precision (alert class) of the last trained model',
    );
    this.recall = g(
      'smartmeter_model_heldout_recall',
      'Held-out recall (alert class) of the last trained model',
    );
    this.baselineAccuracy = g(
      'smartmeter_model_baseline_accuracy',
      'Held-out accuracy of the hour × weekday/weekend lookup baseline',
    );
    this.majorityRate = g(
      'smartmeter_model_majority_rate',
      'Share of the majority class in the held-out range',
    );
    this.bandCoverage = g(
      'smartmeter_model_heldout_band_coverage',
      "Share of held-out epochs whose max voltage fell inside the last trained model's 0.1–0.9 band (goal 0.8)",
    );
    this.pinball = g(
      'smartmeter_model_heldout_pinball_volts',
      "Held-out pinball loss of the last trained model's max-voltage band (mean over the 0.1, 0.5, 0.9 quantiles)",
    );
    this.baselinePinball = g(
      'smartmeter_model_baseline_pinball_volts',
      'Held-out pinball loss of the seasonal-naive band (same time a week earlier), on the epochs it can forecast',
    );
    this.version = g('smartmeter_model_version', 'Version of the model currently served (0: none)');
    this.rows = g('smartmeter_training_rows', 'Joined max_voltage ⋈ temperature rows available for training');
    this.waiting = g(
      'smartmeter_training_waiting_for_data',
      '1 while there are fewer rows than TRAIN_MIN_ROWS',
    );
    this.duration = new Histogram({
      name: 'smartmeter_training_duration_seconds',
      help: 'Duration of a training run (load, fit, evaluate, save)',
      buckets: [1, 2, 5, 10, 20, 40, 80, 160],
      registers,
    });
  }
}

export interface TrainerDeps {
  client: Client;
  /** Where `smartmeter.model.updated` is announced; none in tools that only fill the registry. */
  nc?: NatsConnection;
  log: Logger;
  metrics?: TrainMetrics;
}

function summary(e: ModelEvaluation) {
  return {
    accuracy: e.heldOut.accuracy,
    bandCoverage: e.forecast.band.coverage,
    pinball: e.forecast.band.pinball,
    seasonalNaivePinball: e.forecast.comparable?.seasonalNaive.pinball ?? null,
    precision: e.heldOut.precision,
    recall: e.heldOut.recall,
    baselineAccuracy: e.baselineAccuracy,
    majorityRate: e.majorityRate,
    heldOutRows: e.heldOut.rows,
    heldOutAlerts: e.heldOut.positives,
  };
}

/** Trains one model on the rows in Cassandra now. Throws TooLittleDataError below `minRows`. */
export async function trainOnce(
  deps: TrainerDeps,
  settings: TrainSettings,
  preloaded?: Observation[],
): Promise<TrainOutcome> {
  const { client, nc, log, metrics } = deps;
  const started = process.hrtime.bigint();
  const rows = preloaded ?? (await loadObservations(client, settings.keyspace));
  metrics?.rows.set(rows.length);
  if (rows.length < settings.minRows) {
    throw new TooLittleDataError(
      `too little data to train: ${rows.length} joined max_voltage ⋈ temperature rows in keyspace ` +
        `"${settings.keyspace}", TRAIN_MIN_ROWS is ${settings.minRows} (run inject and stream longer)`,
    );
  }
  const split = splitByTime(rows, settings.heldOutFraction);
  log.info('training started', {
    rows: rows.length,
    trainRows: split.train.length,
    heldOutRows: split.heldOut.length,
    epochs: settings.spec.epochs,
    thresholdV: settings.thresholdV,
  });
  let finalLoss = NaN;
  const model = await trainModel(split.train, settings.thresholdV, settings.spec, (p) => {
    finalLoss = p.loss;
    metrics?.epochs.inc();
    metrics?.loss.set(p.loss);
    if (p.epoch % settings.logEveryEpochs === 0 || p.epoch === p.epochs) {
      log.info('training progress', { epoch: p.epoch, epochs: p.epochs, loss: p.loss });
    }
  });
  try {
    const evaluation = evaluate(split, settings.thresholdV, model);
    const trainingSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const modelMetrics: ModelMetrics = {
      ...evaluation,
      totalRows: rows.length,
      trainingSeconds,
      finalLoss,
      spec: settings.spec,
    };
    metrics?.accuracy.set(evaluation.heldOut.accuracy);
    metrics?.precision.set(evaluation.heldOut.precision ?? 0);
    metrics?.recall.set(evaluation.heldOut.recall ?? 0);
    metrics?.baselineAccuracy.set(evaluation.baselineAccuracy);
    metrics?.majorityRate.set(evaluation.majorityRate);
    metrics?.bandCoverage.set(evaluation.forecast.band.coverage);
    metrics?.pinball.set(evaluation.forecast.band.pinball);
    // NaN (a gap) until the held-out range reaches a week past the first row.
    metrics?.baselinePinball.set(evaluation.forecast.comparable?.seasonalNaive.pinball ?? NaN);

    // The current model is judged on the same held-out rows; one trained for another threshold answers
    // another question, and one this build cannot load (an older format) cannot be served: both are replaced.
    const current = await latestModel(client, settings.keyspace, settings.modelName);
    const old =
      current && current.metrics.thresholdV === settings.thresholdV
        ? await deserializeModel(current.topology, current.weights).catch((err: unknown) => {
            if (!(err instanceof IncompatibleModelError)) throw err;
            log.info('the served model cannot be loaded by this build; replacing it', {
              currentVersion: current.version,
              reason: err.message,
            });
            return undefined;
          })
        : undefined;
    if (current && old) {
      let served: ModelEvaluation;
      try {
        served = evaluate(split, settings.thresholdV, old);
      } finally {
        old.dispose();
      }
      const currentAccuracy = served.heldOut.accuracy;
      const currentPinball = served.forecast.band.pinball;
      if (
        evaluation.heldOut.accuracy < currentAccuracy ||
        evaluation.forecast.band.pinball > currentPinball
      ) {
        metrics?.runs.inc({ outcome: 'rejected' });
        metrics?.duration.observe(trainingSeconds);
        log.info(
          'new model is worse than the current one on the same held-out rows; keeping the current one',
          { currentVersion: current.version, currentAccuracy, currentPinball, ...summary(evaluation) },
        );
        return {
          status: 'rejected',
          currentVersion: current.version,
          metrics: modelMetrics,
          currentAccuracy,
          currentPinball,
        };
      }
    }

    const { topology, weights } = await serializeModel(model);
    const version = await saveModel(client, settings.keyspace, {
      name: settings.modelName,
      topology,
      weights,
      metrics: modelMetrics,
      trainingRows: split.train.length,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics?.runs.inc({ outcome: 'accepted' });
    metrics?.duration.observe(seconds);
    metrics?.version.set(version);
    log.info('new model saved', {
      name: settings.modelName,
      version,
      trainingSeconds: seconds,
      ...summary(evaluation),
    });
    if (nc) {
      const event: ModelUpdatedEvent = { name: settings.modelName, version };
      nc.publish(settings.modelUpdatedSubject, JSON.stringify(event));
      await nc.flush();
    }
    return { status: 'accepted', version, metrics: modelMetrics };
  } finally {
    model.dispose();
  }
}

/**
 * Retrains every `intervalS` when at least `minNewRows` rows arrived since the served model was trained;
 * below `minRows` it waits, visibly (log, gauge, not-ready reason). Returns when `stopped` resolves.
 */
export async function runSchedule(
  deps: TrainerDeps & { setWaiting?: (reason: string | undefined) => void },
  settings: TrainSettings,
  stopped: Promise<void>,
): Promise<void> {
  const { client, log, metrics } = deps;
  let stopping = false;
  void stopped.then(() => (stopping = true));
  const pause = () =>
    Promise.race([stopped, new Promise<void>((r) => setTimeout(r, settings.intervalS * 1000).unref())]);
  const current = await latestModel(client, settings.keyspace, settings.modelName);
  metrics?.version.set(current?.version ?? 0);
  let trainedOnRows = current?.metrics.totalRows ?? 0;
  while (!stopping) {
    try {
      const observations = await loadObservations(client, settings.keyspace);
      const rows = observations.length;
      metrics?.rows.set(rows);
      if (rows < settings.minRows) {
        metrics?.waiting.set(1);
        deps.setWaiting?.(`waiting for data: ${rows} of ${settings.minRows} rows`);
        log.info('waiting for data to train', {
          rows,
          minRows: settings.minRows,
          retryInS: settings.intervalS,
        });
      } else if (rows - trainedOnRows < settings.minNewRows) {
        metrics?.waiting.set(0);
        deps.setWaiting?.(undefined);
        log.debug('not enough new rows to retrain', { rows, trainedOnRows, minNewRows: settings.minNewRows });
      } else {
        metrics?.waiting.set(0);
        deps.setWaiting?.(undefined);
        const outcome = await trainOnce(deps, settings, observations);
        trainedOnRows = outcome.metrics.totalRows;
      }
    } catch (err) {
      metrics?.runs.inc({ outcome: 'failed' });
      log.error('training run failed; retrying at the next interval', { err });
    }
    if (!stopping) await pause();
  }
}
