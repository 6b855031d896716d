// The serving side: the newest model from the registry, applied to every temperature forecast (published
// as JSON on smartmeter.extract.voltage.prediction.12) and to requests on smartmeter.predict, and swapped
// for a new version on smartmeter.model.updated without dropping anything: a prediction runs
// synchronously on the model it started with, and a replaced model is disposed once no prediction holds it.
// Its subscriptions' callbacks run inside nats.js's reader, where an exception would stop the connection
// reading: they never throw, error replies quote a bounded part of the request, and a subscription that
// closes under the service says so (lib/consuming.ts).
import { Client } from 'cassandra-driver';
import { Msg, NatsConnection, NatsError, Subscription } from 'nats';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ConsumeHealth, createConsumerMetrics, SetReady } from '../lib/consuming';
import { createDeadLetterFailures, DeadLetters } from '../lib/deadletter';
import { Logger } from '../lib/log';
import { sleep } from '../lib/retry';
import { EPOCH_S, TEMPERATURE_C, within } from '../wire/bounds';
import { decodeTemperature, WireError } from '../wire/codec';
import { FORECAST_CYCLES } from '../wire/subjects';
import { deserializeModel, OverVoltageModel } from './model';
import { LEVELS, quantileRecord } from './quantiles';
import { latestModel, modelVersion, StoredModel } from './registry';
import { ModelSubjects } from './subjects';
import { ModelUpdatedEvent } from './trainer';
import { zeroed } from '../lib/metrics';

export interface PredictSettings {
  keyspace: string;
  modelName: string;
  subjects: ModelSubjects;
  queueGroup: string;
  /** Seconds between looks at the registry while no model exists. */
  modelRetryS: number;
}

/** What is published for every forecast and returned for every valid request. */
export interface PredictionMessage {
  epoch: number;
  temperature: number;
  /** Probability that the max voltage at `epoch` exceeds `thresholdV`. */
  probability: number;
  /** 1: over-voltage predicted. */
  class: 0 | 1;
  alert: boolean;
  thresholdV: number;
  modelVersion: number;
  /** The epoch's max voltage as a band: quantiles (volts) keyed by level, e.g. {"0.1","0.5","0.9"}. */
  forecast: {
    /** Epochs (stream windows, one simulator cycle each) between the forecast message and `epoch`. */
    horizonSteps: number;
    quantiles: Record<string, number>;
  };
}

export interface PredictRequest {
  epoch: number;
  temperature: number;
}

const SHAPE = 'expected a JSON object {"epoch": <simulated epoch seconds>, "temperature": <°C>}';
/** Characters of a bad value an error message quotes, and of an error reply: a reply always fits. */
const QUOTE_CHARS = 64;
const ERROR_CHARS = 1000;

/** A value as JSON, cut to QUOTE_CHARS: an error message says what was wrong, not the whole request. */
function quote(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length <= QUOTE_CHARS ? text : `${text.slice(0, QUOTE_CHARS)}… (${text.length} characters)`;
}

/**
 * The reply to a request: the prediction, or `{"error"}` with at most ERROR_CHARS characters (at most 6
 * bytes each once escaped), so that it fits any max_payload a server is configured with.
 */
export function replyText(reply: PredictionMessage | { error: string }): string {
  if ('error' in reply) return JSON.stringify({ error: reply.error.slice(0, ERROR_CHARS) });
  return JSON.stringify(reply);
}

/** Validates a request body; throws an Error whose message says what is wrong. */
export function parsePredictRequest(data: Uint8Array): PredictRequest {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new Error(`request is not valid JSON; ${SHAPE}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`${SHAPE}`);
  const { epoch, temperature } = body as Record<string, unknown>;
  // The bounds the wire codec applies to readings (wire/bounds.ts).
  if (typeof epoch !== 'number' || !Number.isInteger(epoch) || !within(epoch, EPOCH_S)) {
    throw new Error(
      `"epoch" must be an integer number of seconds in [${EPOCH_S.min}, ${EPOCH_S.max}], got ${quote(epoch)}`,
    );
  }
  if (
    typeof temperature !== 'number' ||
    !Number.isFinite(temperature) ||
    !within(temperature, TEMPERATURE_C)
  ) {
    throw new Error(
      `"temperature" must be a number of °C in [${TEMPERATURE_C.min}, ${TEMPERATURE_C.max}], got ${quote(temperature)}`,
    );
  }
  return { epoch, temperature };
}

interface Loaded {
  model: OverVoltageModel;
  version: number;
  leases: number;
  retired: boolean;
}

/** The served model: replaced atomically, disposed when the last prediction using it is done. */
class ModelSlot {
  private current: Loaded | undefined;

  get version(): number | undefined {
    return this.current?.version;
  }

  use<T>(fn: (model: OverVoltageModel, version: number) => T): T {
    const loaded = this.current;
    if (!loaded) throw new Error('no model loaded');
    loaded.leases++;
    try {
      return fn(loaded.model, loaded.version);
    } finally {
      loaded.leases--;
      if (loaded.retired && loaded.leases === 0) loaded.model.dispose();
    }
  }

  swap(model: OverVoltageModel, version: number): void {
    const old = this.current;
    this.current = { model, version, leases: 0, retired: false };
    if (old) {
      old.retired = true;
      if (old.leases === 0) old.model.dispose();
    }
  }

  dispose(): void {
    this.current?.model.dispose();
    this.current = undefined;
  }
}

/** predict's metrics; exported so the dashboards test can build them without connecting. */
export class PredictMetrics {
  readonly predictions: Counter<'source' | 'outcome'>;
  readonly requestSeconds: Histogram;
  readonly version: Gauge;
  readonly reloads: Counter<'outcome'>;
  readonly waiting: Gauge;
  readonly forecastProbability: Gauge;
  readonly forecastVoltage: Gauge<'quantile'>;
  readonly deadLetterFailures: Counter;
  readonly consumer: ReturnType<typeof createConsumerMetrics>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.deadLetterFailures = createDeadLetterFailures(registry, 'predict');
    this.consumer = createConsumerMetrics(registry);
    this.predictions = zeroed(
      new Counter({
        name: 'smartmeter_predictions_total',
        help: 'Predictions by source (forecast, request) and outcome (alert, normal, bad_request, dead_letter)',
        labelNames: ['source', 'outcome'],
        registers,
      }),
      { source: ['forecast', 'request'], outcome: ['alert', 'normal', 'bad_request', 'dead_letter'] },
    );
    this.requestSeconds = new Histogram({
      name: 'smartmeter_predict_request_duration_seconds',
      help: 'Time to answer a request on smartmeter.predict (parse, predict, reply)',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.version = new Gauge({
      name: 'smartmeter_model_version',
      help: 'Version of the model currently served (0: none)',
      registers,
    });
    this.reloads = zeroed(
      new Counter({
        name: 'smartmeter_model_reloads_total',
        help: 'Model loads by outcome: loaded, stale (not newer than the served one), failed',
        labelNames: ['outcome'],
        registers,
      }),
      { outcome: ['loaded', 'stale', 'failed'] },
    );
    this.waiting = new Gauge({
      name: 'smartmeter_predict_waiting_for_model',
      help: '1 while no model exists in the registry',
      registers,
    });
    this.forecastProbability = new Gauge({
      name: 'smartmeter_predict_alert_probability',
      help: 'Over-voltage probability predicted for the latest temperature forecast (12 steps ahead)',
      registers,
    });
    this.forecastVoltage = new Gauge({
      name: 'smartmeter_predict_max_voltage_volts',
      help: 'Max voltage band (quantile 0.1, 0.5, 0.9) predicted for the latest temperature forecast (12 steps ahead)',
      labelNames: ['quantile'],
      registers,
    });
  }
}

export interface PredictorDeps {
  nc: NatsConnection;
  client: Client;
  log: Logger;
  registry: Registry;
  /** True once the service is shutting down: stops the wait for a first model. */
  aborted?: () => boolean;
  /** Resolves when the service shuts down: ends a retry pause early. */
  stopped?: Promise<void>;
  /** Called while waiting for a first model, so /healthz can say so. */
  onWaiting?: (reason: string) => void;
  /** Marks the role not ready (/healthz) should a subscription close under it. */
  setReady?: SetReady;
}

export interface Predictor {
  /** The version being served. */
  version(): number | undefined;
  /** Stops taking messages, finishes those received, frees the model. */
  stop(): Promise<void>;
}

/** Waits for a first model (visibly), then serves. Returns undefined if aborted while waiting. */
export async function startPredictor(
  deps: PredictorDeps,
  settings: PredictSettings,
): Promise<Predictor | undefined> {
  const { nc, client, log, aborted = () => false } = deps;
  const { subjects } = settings;
  const metrics = new PredictMetrics(deps.registry);
  const slot = new ModelSlot();

  // Resolved when a first model is installed, so the wait below ends as soon as one is announced.
  let firstModel!: () => void;
  const arrived = new Promise<void>((resolve) => (firstModel = resolve));
  const install = async (stored: StoredModel) => {
    const model = await deserializeModel(stored.topology, stored.weights);
    const served = slot.version;
    if (served !== undefined && stored.version <= served) {
      model.dispose();
      metrics.reloads.inc({ outcome: 'stale' });
      return;
    }
    slot.swap(model, stored.version);
    firstModel();
    metrics.version.set(stored.version);
    metrics.reloads.inc({ outcome: 'loaded' });
    log.info('model loaded', {
      name: stored.name,
      version: stored.version,
      heldOutAccuracy: stored.metrics.heldOut.accuracy,
    });
  };

  // Listen for updates before looking for the first model, so none is missed in between; reloads are
  // applied one after another, in the order announced.
  let reloads = Promise.resolve();
  const updates = nc.subscribe(subjects.modelUpdated, {
    callback: (err, msg) => {
      if (err) return;
      reloads = reloads.then(() => reload(msg));
    },
  });
  const reload = async (msg: Msg) => {
    try {
      const event = JSON.parse(new TextDecoder().decode(msg.data)) as Partial<ModelUpdatedEvent>;
      if (event.name !== settings.modelName) return;
      if (!Number.isInteger(event.version))
        throw new Error(`model.updated without an integer version: ${JSON.stringify(event)}`);
      const stored = await modelVersion(
        client,
        settings.keyspace,
        settings.modelName,
        event.version as number,
      );
      if (!stored)
        throw new Error(`model ${settings.modelName} version ${event.version} is not in the registry`);
      await install(stored);
    } catch (err) {
      metrics.reloads.inc({ outcome: 'failed' });
      log.error('model reload failed; still serving the previous version', { err, served: slot.version });
    }
  };

  // Wait, visibly, for a first model.
  for (let attempt = 1; slot.version === undefined; attempt++) {
    if (aborted()) {
      updates.unsubscribe();
      return undefined;
    }
    const stored = await latestModel(client, settings.keyspace, settings.modelName).catch((err: unknown) => {
      log.warn('cannot read the model registry; retrying', { err });
      return undefined;
    });
    if (stored) {
      const installed = await install(stored).then(
        () => true,
        (err: unknown) => {
          // e.g. a model of an older format, until train (of this build) replaces it
          metrics.reloads.inc({ outcome: 'failed' });
          log.warn('cannot load the newest model; waiting for a new version', {
            err,
            version: stored.version,
          });
          return false;
        },
      );
      if (installed) break;
    }
    await reloads; // an update may have arrived meanwhile
    if (slot.version !== undefined) break;
    metrics.waiting.set(1);
    const reason = `waiting for a model "${settings.modelName}" in ${settings.keyspace}.models (run train)`;
    deps.onWaiting?.(reason);
    log.info(reason, { attempt, retryInS: settings.modelRetryS });
    await Promise.race([sleep(settings.modelRetryS * 1000), arrived, deps.stopped ?? arrived]);
  }
  metrics.waiting.set(0);

  const predict = (input: PredictRequest): PredictionMessage =>
    slot.use((model, version) => {
      const [p] = model.predict([input]);
      return {
        epoch: input.epoch,
        temperature: input.temperature,
        probability: p.probability,
        class: p.alert,
        alert: p.alert === 1,
        thresholdV: model.thresholdV,
        modelVersion: version,
        forecast: { horizonSteps: FORECAST_CYCLES, quantiles: quantileRecord(p.quantiles) },
      };
    });
  const outcome = (m: PredictionMessage) => (m.alert ? 'alert' : 'normal');

  const deadLetters = new DeadLetters(nc, subjects.root, 'predict', log, metrics.deadLetterFailures);
  /** A callback that never throws into nats.js's reader (which would stop reading the connection). */
  const guarded =
    (what: string, handle: (msg: Msg) => void) =>
    (err: NatsError | null, msg: Msg): void => {
      if (err) return; // the subscription closes: watched below
      try {
        handle(msg);
      } catch (e) {
        log.error(`unexpected error handling a ${what}; dropped`, { err: e, subject: msg.subject });
      }
    };

  const forecasts = nc.subscribe(subjects.forecast, {
    queue: settings.queueGroup,
    callback: guarded('forecast', (msg) => {
      let reading;
      try {
        reading = decodeTemperature(msg.data);
      } catch (e) {
        metrics.predictions.inc({ source: 'forecast', outcome: 'dead_letter' });
        deadLetters.send({
          reason: e instanceof WireError ? e.reason : 'value',
          subject: msg.subject,
          data: msg.data,
          error: (e as Error).message,
        });
        return;
      }
      try {
        const prediction = predict(reading);
        metrics.predictions.inc({ source: 'forecast', outcome: outcome(prediction) });
        metrics.forecastProbability.set(prediction.probability);
        for (const level of LEVELS) {
          metrics.forecastVoltage.set(
            { quantile: String(level) },
            prediction.forecast.quantiles[String(level)],
          );
        }
        nc.publish(subjects.prediction, JSON.stringify(prediction));
      } catch (e) {
        log.error('prediction failed', { err: e, epoch: reading.epoch });
      }
    }),
  });

  const requests = nc.subscribe(subjects.predict, {
    queue: settings.queueGroup,
    callback: guarded('request', (msg) => {
      const end = metrics.requestSeconds.startTimer();
      let reply: PredictionMessage | { error: string };
      try {
        reply = predict(parsePredictRequest(msg.data));
        metrics.predictions.inc({ source: 'request', outcome: outcome(reply) });
      } catch (e) {
        reply = { error: (e as Error).message };
        metrics.predictions.inc({ source: 'request', outcome: 'bad_request' });
      }
      try {
        if (msg.reply) msg.respond(replyText(reply));
      } catch (e) {
        log.warn('could not reply to a request', { err: e, reply: msg.reply?.slice(0, 256) });
      }
      end();
    }),
  });

  // The subscriptions end only with stop(); one closed before (by the server, or the connection) is a
  // predictor that no longer serves.
  let stopping = false;
  const health = new ConsumeHealth(metrics.consumer, log, deps.setReady);
  for (const [name, sub] of [
    ['forecasts', forecasts],
    ['requests', requests],
  ] as const) {
    void sub.closed.then(() => {
      if (!stopping) health.failed(`the ${name} subscription on ${sub.getSubject()} closed`);
    });
  }

  // The server knows the subscriptions once this returns: a request sent right after (on another
  // connection) finds a responder instead of failing with 503.
  await nc.flush();
  log.info('serving predictions', {
    version: slot.version,
    forecasts: subjects.forecast,
    predictions: subjects.prediction,
    requests: subjects.predict,
    queueGroup: settings.queueGroup,
  });

  return {
    version: () => slot.version,
    stop: async () => {
      stopping = true;
      const subs: Subscription[] = [forecasts, requests, updates];
      await Promise.all(subs.map((s) => (s.isClosed() ? undefined : s.drain())));
      await reloads;
      slot.dispose();
    },
  };
}
