// ML benchmark: the over-voltage model on 30 simulated days from the simulator (15-minute cycles, 2,880
// rows), written to a fresh keyspace as the stream role writes them. Prints the training time of one
// train run (load from Cassandra, fit, evaluate, save; goal: under 20 s on a 2-core machine), the
// request/reply latency of the predict service over NATS, the held-out figures against the baselines
// (the alert against the lookup, the max-voltage band's coverage and pinball loss against the seasonal
// naive), a no-temperature ablation, and the same figures for 30 days starting in each season, with
// what sets them apart (temperature range and alert share, train against held-out).
//
// Standalone: npm run bench:model --workspace services   (needs the backing services running)
// From the main bench: import { runModelBench } from './model'.
import { Registry } from 'prom-client';
import { createCassandraClient } from '../src/lib/cassandra';
import { createLogger } from '../src/lib/log';
import { migrate } from '../src/storage/migrate';
import { evaluate, ModelEvaluation, splitByTime, TimeSplit } from '../src/training/evaluation';
import { label, Observation } from '../src/training/features';
import { DEFAULT_SPEC, trainModel } from '../src/training/model';
import { startPredictor } from '../src/training/predictor';
import { simulatedObservations, writeObservations } from '../harness/simulated-observations';
import { modelSubjects } from '../src/training/subjects';
import { DEFAULT_TRAIN_SETTINGS, trainOnce } from '../src/training/trainer';
import { backingEnv, cassandraSettingsFor, natsConnect } from '../harness/backing';

export interface ModelBenchOptions {
  /**
   * First simulated day (default 2024-10-01: autumn, when the temperature falls through the range where
   * it decides the label). Every season is printed below it.
   */
  start?: Date;
  days?: number;
  /** Request/reply round trips measured (after 100 warm-up ones). */
  requests?: number;
  /** Also compare 30 days starting in each season (in memory, two fits of ~5 s each on 2 cores). */
  seasons?: boolean;
  print?: (line: string) => void;
}

export interface ModelBenchResult {
  rows: number;
  trainSeconds: number;
  heldOutAccuracy: number;
  baselineAccuracy: number;
  bandCoverage: number;
  pinball: number;
  seasonalNaivePinball: number | null;
  requestP50Ms: number;
  requestP99Ms: number;
}

const f4 = (x: number | null) => (x === null ? 'n/a' : x.toFixed(4));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const COVERAGE_GOAL = [0.75, 0.85] as const;

/** Held-out evaluation of the model trained on rows, and of the same model fed a constant temperature. */
async function inMemory(rows: Observation[], thresholdV: number) {
  const run = async (data: Observation[]) => {
    const split = splitByTime(data, DEFAULT_TRAIN_SETTINGS.heldOutFraction);
    const model = await trainModel(split.train, thresholdV, DEFAULT_SPEC);
    try {
      return { split, evaluation: evaluate(split, thresholdV, model) };
    } finally {
      model.dispose();
    }
  };
  const full = await run(rows);
  const blind = await run(rows.map((r) => ({ ...r, temperature: 0 })));
  return { ...full, blind: blind.evaluation };
}

/** The alert's line: held-out accuracy against the lookup, and whether the goal is met. */
function alertLine(e: ModelEvaluation): string {
  const margin = e.heldOut.accuracy - e.baselineAccuracy;
  const met = e.heldOut.accuracy >= 0.96 && margin >= 0.02;
  return (
    `accuracy ${f4(e.heldOut.accuracy)} lookup ${f4(e.baselineAccuracy)} (margin ${(margin * 100).toFixed(1)} points, ` +
    `at most ${((1 - e.baselineAccuracy) * 100).toFixed(1)}) majority ${f4(e.majorityRate)} ` +
    `precision ${f4(e.heldOut.precision)} recall ${f4(e.heldOut.recall)} goal ${met ? 'met' : 'NOT met'}`
  );
}

/** The band's line: coverage of [q0.1, q0.9] and pinball loss, against the seasonal naive on the same rows. */
function bandLine(e: ModelEvaluation): string {
  const { band, comparable } = e.forecast;
  const covered = band.coverage >= COVERAGE_GOAL[0] && band.coverage <= COVERAGE_GOAL[1];
  const against = comparable
    ? `on the ${comparable.model.rows} rows a week old: pinball ${f4(comparable.model.pinball)} V against ` +
      `seasonal-naive ${f4(comparable.seasonalNaive.pinball)} V (coverage ${f4(comparable.seasonalNaive.coverage)}), ` +
      `median MAE ${f4(comparable.model.medianMae)} V against ${f4(comparable.seasonalNaive.medianMae)} V, ` +
      `${comparable.model.pinball < comparable.seasonalNaive.pinball ? 'lower' : 'NOT lower'}`
    : 'no row a week old to compare';
  return (
    `band coverage ${f4(band.coverage)} (goal ${COVERAGE_GOAL.join('–')} ${covered ? 'met' : 'NOT met'}) ` +
    `pinball ${f4(band.pinball)} V; ${against}`
  );
}

/** What differs between the training and the held-out ranges: temperatures and the share of alerts. */
function rangesLine(split: TimeSplit, thresholdV: number): string {
  const describe = (rows: Observation[]) => {
    const t = rows.map((r) => r.temperature);
    const alerts = rows.filter((r) => label(r.voltage, thresholdV)).length / rows.length;
    return `${Math.min(...t).toFixed(1)}..${Math.max(...t).toFixed(1)} °C, alerts ${(alerts * 100).toFixed(1)} %`;
  };
  return `train ${describe(split.train)}; held-out ${describe(split.heldOut)}`;
}

export async function runModelBench(opts: ModelBenchOptions = {}): Promise<ModelBenchResult> {
  const print = opts.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const start = opts.start ?? new Date(Date.UTC(2024, 9, 1));
  const days = opts.days ?? 30;
  const requests = opts.requests ?? 2000;
  const env = backingEnv();
  const log = createLogger({ role: 'bench' }, 'warn');
  const id = Date.now().toString(36);
  const keyspace = `bench_model_${id}`;
  const subjects = modelSubjects(`benchmodel${id}`);
  const settings = cassandraSettingsFor(env, keyspace);
  const rows = simulatedObservations({ startEpoch: start.getTime() / 1000, days });
  const alerts = rows.filter((r) => r.voltage > DEFAULT_TRAIN_SETTINGS.thresholdV).length;
  print(
    `== model: ${days} simulated days from ${start.toISOString().slice(0, 10)} (simulator seed 1, 500 meters), ${rows.length} rows, ${alerts} above ${DEFAULT_TRAIN_SETTINGS.thresholdV} V`,
  );

  const client = createCassandraClient(settings);
  await client.connect();
  const nc = await natsConnect(env, 'bench-model');
  const caller = await natsConnect(env, 'bench-model-caller');
  try {
    await migrate(client, settings, { replicationFactor: 1 }, log);
    await writeObservations(client, keyspace, rows);

    const outcome = await trainOnce(
      { client, nc, log },
      { ...DEFAULT_TRAIN_SETTINGS, keyspace, modelUpdatedSubject: subjects.modelUpdated },
    );
    const m = outcome.metrics;
    const trainSeconds = m.trainingSeconds;
    print(
      `model training time: ${trainSeconds.toFixed(2)} s (load ${rows.length} rows from Cassandra, ` +
        `${m.spec.epochs} epochs of calendar [3,${m.spec.calendarLayers.join(',')},3] + temperature ` +
        `[1,${m.spec.temperatureLayers.join(',')},1] (median) quantile net, evaluate; goal < 20 s)`,
    );
    print(`model held-out accuracy: ${f4(m.heldOut.accuracy)} lookup-baseline: ${f4(m.baselineAccuracy)}`);
    print(`model max-voltage band (0.1/0.5/0.9, held-out): ${bandLine(m)}`);
    print(
      `model held-out range: ${m.heldOut.rows} rows (last 20 %), ${m.heldOut.positives} alerts; ` +
        `precision ${f4(m.heldOut.precision)} recall ${f4(m.heldOut.recall)} majority-class rate ${f4(m.majorityRate)} ` +
        `margin over lookup ${((m.heldOut.accuracy - m.baselineAccuracy) * 100).toFixed(1)} points`,
    );

    const predictor = await startPredictor(
      { nc, client, log, registry: new Registry() },
      {
        keyspace,
        modelName: DEFAULT_TRAIN_SETTINGS.modelName,
        subjects,
        queueGroup: `bench${id}`,
        modelRetryS: 1,
      },
    );
    const latencies: number[] = [];
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < requests + 100 && Date.now() < deadline; i++) {
      const r = rows[i % rows.length];
      const t0 = process.hrtime.bigint();
      await caller.request(subjects.predict, JSON.stringify({ epoch: r.epoch, temperature: r.temperature }), {
        timeout: 5000,
      });
      if (i >= 100) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    await predictor?.stop();
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    print(
      `predict request/reply latency: p50 ${p50.toFixed(3)} ms p99 ${p99.toFixed(3)} ms ` +
        `(${latencies.length} sequential requests over NATS, one in flight)`,
    );

    const { blind } = await inMemory(rows, DEFAULT_TRAIN_SETTINGS.thresholdV);
    print(`model without temperature (ablation): held-out accuracy ${f4(blind.heldOut.accuracy)}`);

    if (opts.seasons ?? true) {
      print(
        `model in every season (${days} days each, trained on the first 80 %, held out the last 20 %; ` +
          `goals: accuracy >= 0.96 and >= 2 points over lookup, band coverage 0.75–0.85, pinball below seasonal-naive):`,
      );
      for (const from of ['2024-01-01', '2024-03-15', '2024-06-01', '2024-10-01']) {
        const seasonRows = simulatedObservations({ startEpoch: Date.parse(from) / 1000, days });
        const {
          split,
          evaluation,
          blind: noTemp,
        } = await inMemory(seasonRows, DEFAULT_TRAIN_SETTINGS.thresholdV);
        print(`  ${from}: ${alertLine(evaluation)} no-temperature ${f4(noTemp.heldOut.accuracy)}`);
        print(`  ${' '.repeat(from.length)}  ${bandLine(evaluation)}`);
        print(`  ${' '.repeat(from.length)}  ${rangesLine(split, DEFAULT_TRAIN_SETTINGS.thresholdV)}`);
      }
    }
    return {
      rows: rows.length,
      trainSeconds,
      heldOutAccuracy: m.heldOut.accuracy,
      baselineAccuracy: m.baselineAccuracy,
      bandCoverage: m.forecast.band.coverage,
      pinball: m.forecast.band.pinball,
      seasonalNaivePinball: m.forecast.comparable?.seasonalNaive.pinball ?? null,
      requestP50Ms: p50,
      requestP99Ms: p99,
    };
  } finally {
    await caller.drain();
    await nc.drain();
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
    await client.shutdown();
  }
}

if (require.main === module) {
  runModelBench().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`model bench failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}
