// The stream job's metrics (on the role's registry, so they carry role="stream"):
//   smartmeter_stream_messages_total{outcome}      on_time | late | amended (behind the watermark: its closed
//                                                  windows read back and rewritten) | deadlettered
//   smartmeter_stream_windows_emitted_total{kind}  window results written (and published), re-emissions included
//   smartmeter_stream_max_voltage_volts            max voltage of the newest emitted epoch
//   smartmeter_stream_temperature_celsius          temperature of the newest emitted epoch
//   smartmeter_stream_alerts_total                 alerts published (a late update re-publishes)
//   smartmeter_stream_write_seconds{table}         Cassandra write latency (successful attempts)
//   smartmeter_stream_write_retries_total          failed flushes retried with backoff
//   smartmeter_stream_consumer_lag_messages        readings (voltage, temperature) in the stream after the last one processed
//   smartmeter_stream_event_time_seconds           newest event time folded in (simulated epoch seconds)
//   smartmeter_stream_held_readings                readings more than STREAM_MAX_AHEAD_S ahead, waiting for another to agree
//   smartmeter_stream_checkpoint_event_time_implausible_total{reason}  restored event times dropped as
//                                                  invalid, or found ahead of the input (windows.ts, job.ts)
//   smartmeter_stream_open_windows                 windows held in memory
//   smartmeter_stream_active                       1 on the instance holding the lease, 0 on standbys
//   smartmeter_stream_outages_open{kind}           open outages: meter (= meters out now) | transformer
//   smartmeter_stream_outages_total{kind}          outages detected (a replay after a takeover counts again)
//   smartmeter_stream_checkpoint_gaps_total{reason}  takeovers that found the raw stream without the checkpoint's last
//                                                  message: stream_behind (it lost its tail) | retention (resume.ts)
//   smartmeter_stream_outages_withdrawn_total{kind}  outages withdrawn: the readings taken for missed arrived after all
//   smartmeter_stream_meters_watched               meters the outage detector watches (reporting, not retired)
//   smartmeter_stream_outage_detection_delay_simulated_seconds  event time from a meter's first missed
//                                                  reading to its outage's detection
//   smartmeter_stream_deadletter_failures_total    dead letters that could not be published (lib/deadletter.ts)
//   smartmeter_consumer_stopped, smartmeter_consumer_failures_total  lib/consuming.ts: the active instance
//                                                  stopped consuming (and gave its lease up)
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createConsumerMetrics } from '../lib/consuming';
import { createDeadLetterFailures } from '../lib/deadletter';
import { zeroed } from '../lib/metrics';

const OUTAGE_KINDS = ['meter', 'transformer'] as const;

export type StreamMetrics = ReturnType<typeof createStreamMetrics>;

export function createStreamMetrics(registry: Registry) {
  const registers = [registry];
  const outagesOpen = new Gauge({
    name: 'smartmeter_stream_outages_open',
    help: 'Open outages, by kind: meter (meters out now) or transformer',
    labelNames: ['kind'] as const,
    registers,
  });
  for (const kind of OUTAGE_KINDS) outagesOpen.set({ kind }, 0);
  return {
    messages: zeroed(
      new Counter({
        name: 'smartmeter_stream_messages_total',
        help: 'Readings handled by the stream job, by outcome',
        labelNames: ['outcome'] as const,
        registers,
      }),
      { outcome: ['on_time', 'late', 'amended', 'deadlettered'] },
    ),
    windows: zeroed(
      new Counter({
        name: 'smartmeter_stream_windows_emitted_total',
        help: 'Window results written to Cassandra (and published), by kind; late updates emit again',
        labelNames: ['kind'] as const,
        registers,
      }),
      { kind: ['max_voltage', 'max_voltage_by_line', 'temperature', 'avg_voltage', 'alert'] },
    ),
    maxVoltage: new Gauge({
      name: 'smartmeter_stream_max_voltage_volts',
      help: 'Max voltage of the newest emitted epoch',
      registers,
    }),
    temperature: new Gauge({
      name: 'smartmeter_stream_temperature_celsius',
      help: 'Temperature of the newest emitted epoch',
      registers,
    }),
    alerts: new Counter({
      name: 'smartmeter_stream_alerts_total',
      help: 'Over-voltage alerts published',
      registers,
    }),
    writeSeconds: new Histogram({
      name: 'smartmeter_stream_write_seconds',
      help: 'Latency of successful Cassandra writes of window results',
      labelNames: ['table'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    retries: new Counter({
      name: 'smartmeter_stream_write_retries_total',
      help: 'Failed flushes (Cassandra or checkpoint writes) retried with backoff',
      registers,
    }),
    lag: new Gauge({
      name: 'smartmeter_stream_consumer_lag_messages',
      help: 'Readings (voltage, temperature) in the stream after the last one the stream job processed',
      registers,
    }),
    eventTime: new Gauge({
      name: 'smartmeter_stream_event_time_seconds',
      help: 'Newest event time seen, in simulated epoch seconds',
      registers,
    }),
    openWindows: new Gauge({
      name: 'smartmeter_stream_open_windows',
      help: 'Windows held in memory (open, or closed and not yet written)',
      registers,
    }),
    outagesOpen,
    outages: zeroed(
      new Counter({
        name: 'smartmeter_stream_outages_total',
        help: 'Outages detected, by kind (meter, transformer)',
        labelNames: ['kind'] as const,
        registers,
      }),
      { kind: OUTAGE_KINDS },
    ),
    heldReadings: new Gauge({
      name: 'smartmeter_stream_held_readings',
      help: 'Readings more than STREAM_MAX_AHEAD_S ahead of the event time, waiting for another reading to agree',
      registers,
    }),
    implausibleCheckpoints: zeroed(
      new Counter({
        name: 'smartmeter_stream_checkpoint_event_time_implausible_total',
        help: 'Checkpoints restored with an event time that is not an epoch (dropped) or ahead of the readings that follow',
        labelNames: ['reason'] as const,
        registers,
      }),
      { reason: ['invalid', 'ahead'] },
    ),
    checkpointGaps: zeroed(
      new Counter({
        name: 'smartmeter_stream_checkpoint_gaps_total',
        help: "Takeovers that found the raw stream without the checkpoint's last message, by reason (stream_behind, retention)",
        labelNames: ['reason'] as const,
        registers,
      }),
      { reason: ['stream_behind', 'retention'] },
    ),
    outagesWithdrawn: zeroed(
      new Counter({
        name: 'smartmeter_stream_outages_withdrawn_total',
        help: 'Outages withdrawn, by kind: the readings taken for missed arrived after all (an injector behind or flushing its backlog)',
        labelNames: ['kind'] as const,
        registers,
      }),
      { kind: OUTAGE_KINDS },
    ),
    metersWatched: new Gauge({
      name: 'smartmeter_stream_meters_watched',
      help: 'Meters the outage detector watches (reporting, their injector not retired)',
      registers,
    }),
    detectionDelay: new Histogram({
      name: 'smartmeter_stream_outage_detection_delay_simulated_seconds',
      help: "Simulated seconds from a meter's first missed reading to the detection of its outage",
      buckets: [900, 1800, 2700, 3600, 4500, 5400, 7200, 10800, 14400, 21600],
      registers,
    }),
    active: new Gauge({
      name: 'smartmeter_stream_active',
      help: '1 on the stream instance holding the lease, 0 on hot standbys',
      registers,
    }),
    deadLetterFailures: createDeadLetterFailures(registry, 'stream'),
    consumer: createConsumerMetrics(registry),
  };
}
