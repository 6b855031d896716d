// How a role says it stopped consuming (its consume loop ended with an error, a handler threw, a
// subscription closed under it): /healthz turns not ready with the reason, so that an orchestrator replaces
// the process, and a gauge and a counter show it on the dashboards. Consuming again clears both.
import { Counter, Gauge, Registry } from 'prom-client';
import { Logger } from './log';

export type SetReady = (ready: boolean, reason?: string) => void;

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>;

export function createConsumerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    stopped: new Gauge({
      name: 'smartmeter_consumer_stopped',
      help: '1 while this process has stopped consuming its input after a failure (/healthz says why)',
      registers,
    }),
    failures: new Counter({
      name: 'smartmeter_consumer_failures_total',
      help: 'Times this process stopped consuming its input: a consume loop ended with an error, a handler threw, a subscription closed',
      registers,
    }),
  };
}

export class ConsumeHealth {
  private stopped = false;

  constructor(
    private readonly metrics: ConsumerMetrics,
    private readonly log: Logger,
    private readonly setReady: SetReady = () => undefined,
  ) {
    metrics.stopped.set(0);
  }

  /** Consumption stopped on a failure: not ready, with `what` and the error as the reason. */
  failed(what: string, err?: unknown): void {
    const detail = err instanceof Error ? err.message : err === undefined ? '' : String(err);
    const reason = `stopped consuming: ${what}${detail ? `: ${detail}` : ''}`.slice(0, 500);
    this.metrics.failures.inc();
    this.metrics.stopped.set(1);
    this.stopped = true;
    this.setReady(false, reason);
    this.log.error(reason, { err });
  }

  /** Consuming again after a failure: ready. */
  consuming(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.metrics.stopped.set(0);
    this.setReady(true);
  }
}
