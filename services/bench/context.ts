// What every phase of `npm run bench` works with: the backing services' connections (made again when the
// bench restarts them with other durability settings), the simulator, and the keyspaces, streams and role
// processes a phase creates, all removed at the end.
import { ChildProcess } from 'node:child_process';
import { Client } from 'cassandra-driver';
import { JetStreamManager, NatsConnection } from 'nats';
import { createCassandraClient } from '../src/lib/cassandra';
import { ensureRawStream } from '../src/lib/jetstream';
import { createLogger } from '../src/lib/log';
import { createSimulator, topologyFromRate } from '../src/simulator';
import { migrate } from '../src/storage/migrate';
import { underRoot } from '../src/wire/subjects';
import { BackingEnv, cassandraSettingsFor, natsConnect } from '../harness/backing';
import { backingPid, Durability, setDurability } from './machine';
import { delivery, makeReadings } from './readings';
import { stopAll } from './roles';
import { RUN_ID, STREAM_MAX_BYTES } from './settings';

const log = createLogger({ role: 'bench' }, 'warn');

/** A backlog of readings in a JetStream stream, for a keyspace of its own. */
export interface Backlog {
  root: string;
  stream: string;
  keyspace: string;
  count: number;
  /** Of `count`, the first readings an ingest drain does not measure (INGEST_WARMUP). */
  warmup: number;
  /** JetStream's bytes for the backlog, over its messages. */
  bytesPerMessage: number;
}

export class Bench {
  readonly sim = createSimulator({ seed: 7, topology: topologyFromRate(10_000) });
  /** The run's own keyspace (the warm-up's rows). */
  readonly keyspace = `bench_${RUN_ID}`;
  cassandra!: Client;
  nc!: NatsConnection;
  jsm!: JetStreamManager;
  cassandraPid: number | undefined;
  /** As the bench last set it; undefined while the backing services run as they were found. */
  durability: Durability | undefined;
  /** Figures that could not be measured: the run fails and saves nothing. */
  readonly failures: string[] = [];
  /** Role processes still to stop at the end. */
  readonly procs: ChildProcess[] = [];
  /** The warm-up's rows take fresh simulated minutes, so each pass inserts new rows. */
  minute = 0;
  private readonly keyspaces = [this.keyspace];
  private readonly streams: string[] = [];

  private constructor(readonly env: BackingEnv) {}

  static async open(env: BackingEnv): Promise<Bench> {
    const bench = new Bench(env);
    await bench.connect();
    await migrate(bench.cassandra, cassandraSettingsFor(env, bench.keyspace), { replicationFactor: 1 }, log);
    return bench;
  }

  private async connect() {
    this.cassandra = createCassandraClient(cassandraSettingsFor(this.env, this.keyspace));
    await this.cassandra.connect();
    this.nc = await natsConnect(this.env, 'bench');
    this.jsm = await this.nc.jetstreamManager();
    this.cassandraPid = backingPid(this.env, 'cassandra');
  }

  /** Restarts the backing NATS and Cassandra with `mode` and connects again. */
  async restartWith(mode: Durability): Promise<void> {
    await this.cassandra.shutdown();
    await this.nc.close();
    this.durability = mode;
    await setDurability(this.env, mode);
    await this.connect();
  }

  /** A fresh keyspace with the smartmeter schema, dropped at the end. */
  async createKeyspace(name: string): Promise<string> {
    this.keyspaces.push(name);
    await migrate(this.cassandra, cassandraSettingsFor(this.env, name), { replicationFactor: 1 }, log);
    return name;
  }

  /** A stream (e.g. a role's KV bucket) to delete at the end. */
  removeStreamAtEnd(stream: string): void {
    this.streams.push(stream);
  }

  /** A fresh subject root with its stream and its keyspace (both named after it), removed at the end. */
  async freshRoot(tag: string): Promise<{ root: string; stream: string }> {
    const root = await this.createKeyspace(`bench_${RUN_ID}_${tag}`);
    const stream = root.toUpperCase();
    this.streams.push(stream);
    await ensureRawStream(this.jsm, {
      name: stream,
      subjects: [`${root}.raw.>`],
      maxAgeSeconds: 3600,
      maxBytes: STREAM_MAX_BYTES,
    });
    return { root, stream };
  }

  /**
   * A backlog in a fresh stream, for a fresh keyspace: `warmup` readings from the minutes before minute 0,
   * then `measured` from minute 0 on (the rows of (b)); waits until all are stored.
   */
  async backlog(tag: string, measured: number, warmup = 0): Promise<Backlog> {
    const { root, stream } = await this.freshRoot(tag);
    const warmupMinutes = Math.ceil(warmup / this.sim.meters.length);
    const readings = [
      ...makeReadings(this.sim, warmup, -warmupMinutes),
      ...makeReadings(this.sim, measured, 0),
    ];
    const count = readings.length;
    const sink = delivery(this.nc, count);
    for (const r of readings) sink.send({ subject: underRoot(root, r.subject), payload: r.data, id: r.id });
    const left = await sink.drain(120_000);
    const state = (await this.jsm.streams.info(stream)).state;
    if (left || state.messages !== count)
      throw new Error(`${stream}: ${state.messages} of ${count} acknowledged and stored`);
    return { root, stream, keyspace: root, count, warmup, bytesPerMessage: state.bytes / state.messages };
  }

  /**
   * Stops the role processes, leaves the backing services as the stack runs them (also after a failure in
   * the relaxed part), removes every stream and keyspace of the run and disconnects.
   */
  async close(): Promise<void> {
    await stopAll(this.procs, 5);
    if (this.durability === 'relaxed') await this.restartWith('synced').catch((err) => console.error(err));
    for (const stream of this.streams) await this.jsm.streams.delete(stream).catch(() => undefined);
    for (const ks of this.keyspaces)
      await this.cassandra
        .execute(`DROP KEYSPACE IF EXISTS ${ks}`, [], { readTimeout: 60_000 })
        .catch(() => undefined);
    await this.cassandra.shutdown();
    await this.nc.close();
  }
}
