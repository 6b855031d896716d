// NATS connection shared by the roles: credentials from the environment (or *_FILE secrets), retried with
// backoff until the server is reachable, reconnecting forever afterwards, with every status change logged
// and counted so an outage is visible.
import { connect, ConnectionOptions, NatsConnection } from 'nats';
import { Counter, Registry } from 'prom-client';
import { EnvReader } from './config';
import { Logger } from './log';
import { retryWithBackoff } from './retry';
import { zeroed } from './metrics';
import type { SetReady } from './consuming';

export interface NatsSettings {
  servers: string[];
  user?: string;
  pass?: string;
  name: string;
  /** The CA to verify the servers against: TLS required when set (NATS_TLS_CA_FILE). */
  tlsCaFile?: string;
}

export function natsSettings(env: EnvReader, name: string): NatsSettings {
  const user = env.get('NATS_USER');
  return {
    servers: env.get('NATS_URL'),
    user,
    pass: user ? env.required('NATS_PASSWORD', 'with NATS_USER') : undefined,
    name,
    tlsCaFile: env.get('NATS_TLS_CA_FILE'),
  };
}

/** The connection's metric, on the role's registry (a factory so it can be built without connecting). */
export function createNatsConnectionMetrics(registry: Registry): Counter<'event'> {
  const events = new Counter({
    name: 'smartmeter_nats_connection_events_total',
    help: 'NATS connection status changes (connect retries, disconnects, reconnects, closes) seen by this process',
    labelNames: ['event'],
    registers: [registry],
  });
  return zeroed(events, { event: ['connect_retry', 'disconnect', 'reconnect', 'closed'] });
}

/**
 * The client options of a role's connection. A logged-in user gets its replies on `_INBOX.<user>.…`:
 * the server lets each role subscribe to its own inboxes only (components/tiers/nats-auth.ts natsInbox).
 */
export function natsConnectionOptions(settings: NatsSettings): ConnectionOptions {
  return {
    servers: settings.servers,
    user: settings.user,
    pass: settings.pass,
    name: settings.name,
    inboxPrefix: settings.user ? `_INBOX.${settings.user}` : undefined,
    // TLS only, trusting the stack's CA alone; the server's name is checked against its certificate.
    tls: settings.tlsCaFile ? { caFile: settings.tlsCaFile } : undefined,
    maxReconnectAttempts: -1,
    // Keep trying after the server refuses the password: during a rotation a member may still run the
    // old config (Swarm's rolling update) or this container may be the one still to be replaced.
    ignoreAuthErrorAbort: true,
    reconnectTimeWait: 1000,
    pingInterval: 10_000,
  };
}

/**
 * Connects, retrying until the server answers. A connection that closes while the role is not stopping
 * (`aborted` false) cannot come back (nats.js only reconnects an open one): the close is counted, logged as
 * an error and, with `setReady`, turns /healthz not ready, so the orchestrator replaces the process instead
 * of leaving it up and green while it publishes nothing.
 */
export async function connectNats(
  settings: NatsSettings,
  log: Logger,
  registry: Registry,
  aborted: () => boolean = () => false,
  setReady?: SetReady,
): Promise<NatsConnection> {
  const events = createNatsConnectionMetrics(registry);
  const options = natsConnectionOptions(settings);
  const nc = await retryWithBackoff(() => connect(options), {
    initialMs: 250,
    maxMs: 5000,
    aborted,
    onRetry: (err, attempt, delayMs) => {
      events.inc({ event: 'connect_retry' });
      log.warn('NATS not reachable; retrying', { servers: settings.servers, attempt, delayMs, err });
    },
  });
  log.info('connected to NATS', { server: nc.getServer() });
  void nc.closed().then((err) => {
    if (aborted()) return; // this role's own shutdown closed it
    events.inc({ event: 'closed' });
    const reason = `NATS connection closed${err ? `: ${err.message}` : ''}`;
    log.error(reason, { err });
    setReady?.(false, reason);
  });
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'pingTimer') continue;
      events.inc({ event: String(status.type) });
      const level = status.type === 'reconnect' ? 'info' : 'warn';
      log[level]('NATS connection status', { type: status.type, data: String(status.data) });
    }
  })().catch(() => undefined);
  return nc;
}
