// The lifecycle every role shares: logger, metrics registry with default process metrics, the HTTP
// endpoint, readiness, and graceful shutdown on SIGTERM/SIGINT (stop taking work, finish what is in
// flight, close connections in reverse order, exit 0).
import { Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError, EnvReader } from './config';
import { startHttpServer } from './http';
import { createLogger, Logger } from './log';
import type { RoleName } from '../role-args';

export interface ServiceContext {
  readonly role: RoleName;
  readonly env: EnvReader;
  readonly log: Logger;
  readonly registry: Registry;
  /** Marks the role ready (or not, with a reason) for /healthz. */
  setReady(ready: boolean, reason?: string): void;
  /** Registers cleanup; run in reverse order of registration on shutdown. */
  onShutdown(fn: () => Promise<void> | void): void;
  /** True once shutdown has begun: loops should stop taking new work. */
  readonly stopping: boolean;
  /** Resolves when shutdown begins. */
  readonly stopped: Promise<void>;
}

export interface StartedService {
  context: ServiceContext;
  server: Server;
  shutdown(): Promise<void>;
}

const SHUTDOWN_TIMEOUT_MS = 25_000;

/** What every role reads for the lifecycle: the log level and the port of /metrics and /healthz. */
export function lifecycleSettings(env: EnvReader) {
  return { logLevel: env.get('LOG_LEVEL'), metricsPort: env.get('METRICS_PORT') };
}

/** Sets up the shared lifecycle. Used by `runRole` in production and directly by tests. */
export async function startService(role: RoleName, env = new EnvReader()): Promise<StartedService> {
  env.checkKnown(role);
  const { logLevel, metricsPort } = lifecycleSettings(env);
  const log = createLogger({ role }, logLevel);
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  let health = { ready: false, reason: 'starting' };
  const cleanups: (() => Promise<void> | void)[] = [];
  let stopping = false;
  let signalStop!: () => void;
  const stopped = new Promise<void>((resolve) => (signalStop = resolve));
  const server = await startHttpServer(metricsPort, registry, () => health);

  const context: ServiceContext = {
    role,
    env,
    log,
    registry,
    setReady: (ready, reason = ready ? 'ready' : 'not ready') => (health = { ready, reason }),
    onShutdown: (fn) => cleanups.push(fn),
    get stopping() {
      return stopping;
    },
    stopped,
  };

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = () =>
    (shutdownPromise ??= (async () => {
      stopping = true;
      health = { ready: false, reason: 'shutting down' };
      signalStop();
      log.info('shutting down');
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch (err) {
          log.error('cleanup failed', { err });
        }
      }
      await new Promise((resolve) => server.close(resolve));
      log.info('stopped');
    })());
  return { context, server, shutdown };
}

/** Runs a role as a process: exits 0 after a graceful shutdown, 1 on a fatal error. */
export async function runRole(role: RoleName, body: (ctx: ServiceContext) => Promise<void>): Promise<void> {
  let started: StartedService;
  try {
    started = await startService(role);
  } catch (err) {
    process.stderr.write(JSON.stringify({ level: 'error', role, msg: (err as Error).message }) + '\n');
    process.exit(1);
  }
  const { context, shutdown } = started;
  const stop = (signal: string) => {
    context.log.info('signal received', { signal });
    const timer = setTimeout(() => {
      context.log.error('shutdown timed out; exiting', { timeoutMs: SHUTDOWN_TIMEOUT_MS });
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    shutdown().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    // Long-running roles resolve once `context.stopped` does; one-shot roles when their job is done.
    await body(context);
    await shutdown();
    process.exit(0);
  } catch (err) {
    // A configuration error is the operator's to fix: say which variable, without a stack trace.
    if (err instanceof ConfigError) context.log.error('invalid configuration', { error: err.message });
    else context.log.error('fatal', { err, stack: (err as Error).stack });
    await shutdown().catch(() => undefined);
    process.exit(1);
  }
}
