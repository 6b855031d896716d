// A declaration's health check in the form both Docker resources take (docker.Container and the
// docker.Service task spec share it), and how long a replica may take to turn healthy.
//
// Durations are declared in the form the provider reads them back from the engine, or every refresh
// plans an update: a container reports Go's time.Duration.String() ("2m0s"), a Swarm service the
// provider's shortened form of it ("2m"; terraform-provider-docker's shortDur). "120s" is neither.
import type { HealthCheckSpec } from '../spec';

/** Go's time.Duration.String() of whole seconds: 0 → "0s", 90 → "1m30s", 3600 → "1h0m0s". */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new RangeError(`a duration must be a whole number of seconds >= 0, got ${seconds}`);
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** How the provider reads back a Swarm service's durations: Go's form without a trailing "0s" or "0m". */
export function swarmDuration(seconds: number): string {
  return goDuration(seconds).replace(/m0s$/, 'm').replace(/h0m$/, 'h');
}

/** Which resource the health check is declared on: they read durations back differently. */
export type DurationForm = 'container' | 'service';

export function dockerHealthcheck(h: HealthCheckSpec, form: DurationForm = 'container') {
  const duration = form === 'container' ? goDuration : swarmDuration;
  return {
    tests: ['CMD', ...h.command],
    interval: duration(h.intervalSeconds),
    timeout: duration(h.timeoutSeconds),
    retries: h.retries,
    startPeriod: duration(h.startPeriodSeconds),
  };
}

/** The start period plus every retry: past this a replica that is not healthy has failed its check. */
export function secondsToHealthy(h: HealthCheckSpec): number {
  return h.startPeriodSeconds + (h.intervalSeconds + h.timeoutSeconds) * (h.retries + 1);
}
