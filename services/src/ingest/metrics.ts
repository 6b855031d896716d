// ingest's metrics (all on the role's registry, so they carry role="ingest"):
//   smartmeter_ingest_messages_total{outcome}        stored | deadlettered | ignored (forecasts, retire notices)
//   smartmeter_ingest_deadletters_total{reason}      size | subject | value | epoch | range (wire/errors.ts)
//   smartmeter_ingest_write_retries_total            failed Cassandra writes that will be retried
//   smartmeter_ingest_redeliveries_total             messages the server delivered more than once
//   smartmeter_ingest_write_seconds                  Cassandra write latency (successful attempts)
//   smartmeter_ingest_inflight_writes                messages fetched and not yet acknowledged
//   smartmeter_ingest_consumer_pending               consumer lag: messages in the stream not yet delivered
//   smartmeter_ingest_consumer_ack_pending           delivered to some replica, not yet acknowledged
//   smartmeter_ingest_rows_per_second                rows stored per second by this replica, last poll interval
//   smartmeter_ingest_deadletter_failures_total      dead letters that could not be published (lib/deadletter.ts)
//   smartmeter_consumer_stopped, smartmeter_consumer_failures_total  lib/consuming.ts
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createConsumerMetrics } from '../lib/consuming';
import { createDeadLetterFailures } from '../lib/deadletter';
import { zeroed } from '../lib/metrics';

/** What ingest counts once per message as plain numbers: a metric call per message costs more. */
export interface IngestTally {
  stored: number;
  ignored: number;
  inFlight: number;
}

export function createIngestMetrics(
  registry: Registry,
  tally: IngestTally = { stored: 0, ignored: 0, inFlight: 0 },
) {
  const registers = [registry];
  // Counted so far into smartmeter_ingest_messages_total, per tallied outcome.
  const counted = { stored: 0, ignored: 0 };
  return {
    messages: zeroed(
      new Counter({
        name: 'smartmeter_ingest_messages_total',
        help: 'Messages handled by ingest, by outcome',
        labelNames: ['outcome'] as const,
        registers,
        collect() {
          for (const outcome of ['stored', 'ignored'] as const) {
            this.inc({ outcome }, tally[outcome] - counted[outcome]);
            counted[outcome] = tally[outcome];
          }
        },
      }),
      { outcome: ['stored', 'deadlettered', 'ignored'] },
    ),
    deadLetters: zeroed(
      new Counter({
        name: 'smartmeter_ingest_deadletters_total',
        help: 'Malformed messages sent to smartmeter.deadletter.<reason>, by reason',
        labelNames: ['reason'] as const,
        registers,
      }),
      { reason: ['size', 'subject', 'value', 'epoch', 'range'] },
    ),
    retries: new Counter({
      name: 'smartmeter_ingest_write_retries_total',
      help: 'Failed Cassandra writes that ingest retries with backoff',
      registers,
    }),
    redeliveries: new Counter({
      name: 'smartmeter_ingest_redeliveries_total',
      help: 'Messages delivered again by the server (an earlier delivery was not acknowledged in time)',
      registers,
    }),
    writeSeconds: new Histogram({
      name: 'smartmeter_ingest_write_seconds',
      help: 'Latency of successful Cassandra writes',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    inFlight: new Gauge({
      name: 'smartmeter_ingest_inflight_writes',
      help: 'Messages fetched by this replica and not yet acknowledged',
      registers,
      collect() {
        this.set(tally.inFlight);
      },
    }),
    pending: new Gauge({
      name: 'smartmeter_ingest_consumer_pending',
      help: 'Consumer lag: messages in the stream not yet delivered to any ingest replica',
      registers,
    }),
    ackPending: new Gauge({
      name: 'smartmeter_ingest_consumer_ack_pending',
      help: 'Messages delivered to ingest replicas and not yet acknowledged',
      registers,
    }),
    rate: new Gauge({
      name: 'smartmeter_ingest_rows_per_second',
      help: 'Rows stored per second by this replica over the last poll interval',
      registers,
    }),
    deadLetterFailures: createDeadLetterFailures(registry, 'ingest'),
    consumer: createConsumerMetrics(registry),
  };
}
