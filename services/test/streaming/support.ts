// Shared pieces of the stream job's integration tests: a fresh keyspace, unique stream/subjects/buckets per
// test, readings made with the codec and published through JetStream (so the stream order is known), the
// JSON extracts collected from NATS, and bounded polling.
import { Client } from 'cassandra-driver';
import { JetStreamClient, NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { sleep } from '../../src/lib/retry';
import { StreamJob } from '../../src/streaming/job';
import { createStreamMetrics } from '../../src/streaming/metrics';
import { jetStreamStreamsOf, StreamSettings } from '../../src/streaming/settings';
import { encodeTemperature, encodeVoltage, MeterId } from '../../src/wire/codec';
import {
  BackingEnv,
  backingEnv,
  freshKeyspace,
  natsConnect,
  quietLog,
  requireService,
  uniqueName,
} from '../support/backing';

export { cassandraSettingsFor, freshKeyspace, natsConnect, quietLog, uniqueName } from '../support/backing';

/** Settings for one test: its own stream, subject root and state buckets; short real-time intervals. */
export function testSettings(root: string, overrides: Partial<StreamSettings> = {}): StreamSettings {
  return {
    stream: root.toUpperCase(),
    streamMaxBytes: 16 * 1024 ** 2,
    subjectRoot: root,
    statePrefix: `${root}-state`,
    allowedLatenessS: 900,
    flushIntervalMs: 200,
    idleTimeoutMs: 1500,
    leaseTtlMs: 1500,
    instanceId: 'a',
    alertThresholdV: 120,
    alertMinCount: 2,
    alertWindowS: 0,
    maxAheadS: 14_400,
    outageStream: `${root.toUpperCase()}_OUTAGES`,
    outageIntervals: 3,
    transformerOutageShare: 0.5,
    ...overrides,
  };
}

export interface RunningJob {
  job: StreamJob;
  nc: NatsConnection;
  registry: Registry;
}

export async function startJob(
  env: BackingEnv,
  settings: StreamSettings,
  cassandra: Client,
  keyspace: string,
): Promise<RunningJob> {
  const nc = await natsConnect(env, `stream-test-${settings.instanceId}`);
  const registry = new Registry();
  const job = new StreamJob(settings, {
    nc,
    cassandra,
    keyspace,
    log: quietLog,
    metrics: createStreamMetrics(registry),
  });
  await job.start();
  return { job, nc, registry };
}

/**
 * A test file's backing services: a fresh keyspace and a NATS connection (set in beforeAll, so read the
 * fields inside tests), and the jobs and JetStream state its tests start, all removed after the file.
 */
export interface StreamBacking {
  env: BackingEnv;
  keyspace: string;
  cassandra: Client;
  nc: NatsConnection;
  js: JetStreamClient;
  running: RunningJob[];
  roots: Set<string>;
  /** Starts a job; its root's stream and buckets are deleted after the file. */
  start(settings: StreamSettings, keyspace?: string, client?: Client): Promise<RunningJob>;
}

export function useStreamBacking(keyspacePrefix: string): StreamBacking {
  const b: StreamBacking = {
    env: backingEnv(),
    keyspace: uniqueName(keyspacePrefix),
    cassandra: undefined as unknown as Client,
    nc: undefined as unknown as NatsConnection,
    js: undefined as unknown as JetStreamClient,
    running: [] as RunningJob[],
    roots: new Set<string>(),
    async start(settings: StreamSettings, keyspace = b.keyspace, client = b.cassandra): Promise<RunningJob> {
      b.roots.add(settings.subjectRoot);
      const r = await startJob(b.env, settings, client, keyspace);
      b.running.push(r);
      return r;
    },
  };
  beforeAll(async () => {
    await requireService('nats', b.env.natsUrl);
    await requireService('cassandra', b.env.cassandraContactPoints[0]);
    b.cassandra = await freshKeyspace(b.env, b.keyspace);
    b.nc = await natsConnect(b.env, `${keyspacePrefix}test`);
    b.js = b.nc.jetstream();
  }, 120_000);
  afterAll(async () => {
    for (const r of b.running) await stopJob(r, false).catch(() => undefined);
    for (const root of b.roots) await deleteJetStreamState(b.nc, root).catch(() => undefined);
    await b.nc?.close();
    await b.cassandra?.execute(`DROP KEYSPACE IF EXISTS ${b.keyspace}`);
    await b.cassandra?.shutdown();
  }, 60_000);
  return b;
}

export async function stopJob(running: RunningJob, graceful = true): Promise<void> {
  if (graceful) await running.job.stop();
  else await running.job.halt();
  await running.nc.close();
}

/** Deletes what a test created in JetStream: its raw and outage streams and its two KV buckets. */
export async function deleteJetStreamState(nc: NatsConnection, root: string): Promise<void> {
  const jsm = await nc.jetstreamManager();
  for (const name of jetStreamStreamsOf(testSettings(root)))
    await jsm.streams.delete(name).catch(() => undefined);
}

export interface RawMessage {
  subject: string;
  data: Uint8Array;
}

export function voltage(root: string, meter: MeterId, epoch: number, volts: number): RawMessage {
  return {
    subject: `${root}.raw.voltage.data.${meter.line}.${meter.transformer}.${meter.usagePoint}`,
    data: encodeVoltage({
      epoch,
      voltage: volts,
      demand: 100.5,
      values: Array.from({ length: 10 }, (_, i) => i),
    }),
  };
}

export function temperature(root: string, epoch: number, celsius: number): RawMessage {
  return {
    subject: `${root}.raw.temperature.data`,
    data: encodeTemperature({ epoch, temperature: celsius }),
  };
}

/** Publishes in order through JetStream; resolves with the stream sequence of the last one. */
export async function publishAll(js: JetStreamClient, messages: RawMessage[]): Promise<number> {
  let last = 0;
  for (let i = 0; i < messages.length; i += 200) {
    const acks = await Promise.all(messages.slice(i, i + 200).map((m) => js.publish(m.subject, m.data)));
    last = acks[acks.length - 1].seq;
  }
  return last;
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** JSON bodies received on `<root>.extract.>`, by subject suffix, in arrival order. */
export function collectExtracts(nc: NatsConnection, root: string): Map<string, Record<string, number>[]> {
  const got = new Map<string, Record<string, number>[]>();
  const sub = nc.subscribe(`${root}.extract.>`);
  void (async () => {
    for await (const m of sub) {
      const key = m.subject.slice(root.length + 1);
      got.set(key, [...(got.get(key) ?? []), m.json<Record<string, number>>()]);
    }
  })();
  return got;
}

export async function counterValues(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric(name)?.get();
  const out: Record<string, number> = {};
  for (const v of metric?.values ?? []) out[Object.values(v.labels).join(',') || 'value'] = v.value;
  return out;
}

/** A label-less metric's value (a gauge, or a counter without labels); undefined if the registry has none. */
export async function gaugeValue(registry: Registry, name: string): Promise<number | undefined> {
  return (await counterValues(registry, name)).value;
}

/** The max_voltage row of `epoch` in the backing's keyspace, undefined until the job wrote it. */
export async function storedMaxVoltage(backing: StreamBacking, epoch: number): Promise<number | undefined> {
  const { rows } = await backing.cassandra.execute(
    `SELECT voltage FROM ${backing.keyspace}.max_voltage WHERE epoch = ?`,
    [epoch],
    { prepare: true },
  );
  return rows[0]?.voltage as number | undefined;
}
