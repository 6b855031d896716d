// A declaration's health check in the form both Docker resources take (docker.Container and the
// docker.Service task spec share it), and how long a replica may take to turn healthy.
import type { HealthCheckSpec } from '../spec';

export function dockerHealthcheck(h: HealthCheckSpec) {
  return {
    tests: ['CMD', ...h.command],
    interval: `${h.intervalSeconds}s`,
    timeout: `${h.timeoutSeconds}s`,
    retries: h.retries,
    startPeriod: `${h.startPeriodSeconds}s`,
  };
}

/** The start period plus every retry: past this a replica that is not healthy has failed its check. */
export function secondsToHealthy(h: HealthCheckSpec): number {
  return h.startPeriodSeconds + (h.intervalSeconds + h.timeoutSeconds) * (h.retries + 1);
}
