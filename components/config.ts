// The stack configuration: every `smartmeter:*` key the program reads, typed and validated in one place.
// A bad value throws a ConfigError that names the key and says what is allowed, before any resource is
// declared. Defaults suit a laptop (the `local` stack); Pulumi.<stack>.yaml overrides them.
// Platform-specific keys (AWS) are read by their platform with the same ConfigReader.
// A key that becomes a services variable (injectRate → INJECT_RATE) takes its default and limits from that
// variable's one declaration (services/src/contract/variables.ts), read by the same rules (values.ts).
import * as pulumi from '@pulumi/pulumi';

import { parseText, Setting, ValueOf } from '../services/src/contract/values';
import { MINUTES_PER_DAY, VariableName, VARIABLES, Variables } from '../services/src/contract/variables';

import { duplicatePort } from './formats/host-ports';
import { parseJvmMemorySize } from './formats/jvm-memory-size';
import { PROMETHEUS_MAX_DURATION, parsePrometheusDuration } from './formats/prometheus-duration';
import { parsePrometheusSize } from './formats/prometheus-size';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const NAMESPACE = 'smartmeter';
export const PLATFORMS = ['local', 'aws'] as const;
export type PlatformName = (typeof PLATFORMS)[number];
export const TIERS = ['messaging', 'storage', 'streaming', 'training', 'metrics'] as const;
export type TierName = (typeof TIERS)[number];
export const LOG_LEVELS = VARIABLES.LOG_LEVEL.values;
export type LogLevel = (typeof LOG_LEVELS)[number];
/**
 * `synced` (the default): JetStream and Cassandra write an acknowledged reading to disk (fsync) before they
 * acknowledge it, so it survives a power cut. `relaxed`: they acknowledge from memory and sync periodically
 * (JetStream every 2 min, Cassandra every 10 s, both engines' defaults): faster, and a power cut loses what
 * was acknowledged since the last sync (README, "What survives what").
 */
export const DURABILITY_MODES = ['synced', 'relaxed'] as const;
export type Durability = (typeof DURABILITY_MODES)[number];

/** Third-party images, each overridable (mirrors, air-gapped hosts) with `smartmeter:<name>Image`. */
export interface Images {
  readonly nats: string;
  readonly natsExporter: string;
  readonly cassandra: string;
  readonly prometheus: string;
  readonly grafana: string;
  /** Base of the services image (services/Dockerfile `NODE_IMAGE`). */
  readonly nodeBase: string;
}

export const DEFAULT_IMAGES: Images = {
  nats: 'nats:2.15-alpine',
  natsExporter: 'natsio/prometheus-nats-exporter:0.17.3',
  cassandra: 'cassandra:5.0',
  prometheus: 'prom/prometheus:v3.5.0',
  grafana: 'grafana/grafana:12.1.1',
  nodeBase: 'node:24-bookworm-slim',
};

/** Host ports published on `bindAddress` (`smartmeter:<name>Port`); 0 keeps a port inside the network. */
export interface PublishedPorts {
  readonly grafana: number;
  readonly prometheus: number;
  readonly nats: number;
  readonly natsMonitoring: number;
  readonly cassandra: number;
}

export const DEFAULT_PORTS: PublishedPorts = {
  grafana: 3000,
  prometheus: 9090,
  nats: 4222,
  natsMonitoring: 8222,
  cassandra: 9042,
};

/** How long data is kept, and how much of it (README, "Running it for weeks"). */
export interface Retention {
  /** Real days a raw_data row lives (its TTL); `smartmeter:rawRetentionDays`. */
  readonly rawDays: number;
  /** Real days the stream job's tables keep a row; `smartmeter:aggregateRetentionDays`. */
  readonly aggregateDays: number;
  /** How long the raw JetStream stream keeps a reading, stored or not; `smartmeter:rawStreamMaxAge`. */
  readonly rawStreamMaxAgeSeconds: number;
  /** The raw stream's disk budget; `smartmeter:rawStreamMaxBytes`. */
  readonly rawStreamMaxBytes: number;
  /** Prometheus `--storage.tsdb.retention.time`; `smartmeter:prometheusRetention`. */
  readonly prometheusTime: string;
  /** Prometheus `--storage.tsdb.retention.size` (`0`: no size limit); `smartmeter:prometheusRetentionSize`. */
  readonly prometheusSize: string;
  /**
   * How long the raw stream drops a reading sent again (its Nats-Msg-Id); `smartmeter:rawStreamDuplicateWindow`.
   * It covers an injector's resends after a lost acknowledgement (a broker restart included).
   */
  readonly rawStreamDuplicateWindowSeconds: number;
}

/** Prometheus's own retention (the rest of `Retention` defaults to the services' variables). */
export const DEFAULT_PROMETHEUS_RETENTION = { time: '7d', size: '1GB' } as const;

/**
 * The largest values the stack accepts for its sizes (the capacity planner, planner/, plans within them).
 * `injectors`: each injector is a slot of the simulator, and slots 1…12 are all the meter lines a
 * Cassandra tinyint holds (services/src/simulator/topology.ts: lines 10·slot+1 … ≤ 127).
 */
export const LIMITS = {
  injectors: VARIABLES.INJECT_SLOT.max,
  injectRate: VARIABLES.INJECT_RATE.max,
  ingestReplicas: 50,
  natsNodes: 5,
  cassandraNodes: 9,
} as const;

/** Recorded households the injectors replay instead of simulating meters (README, "Replay recorded meter data"). */
export interface Replay {
  /** Absolute paths of UCI-format files, one per household, on the host (local) or on every worker (aws). */
  readonly files: readonly string[];
  /** Meters each household is replayed as (`smartmeter:replayMetersPerHousehold`). */
  readonly metersPerHousehold: number;
  /** The recording's nominal voltage (230 V for the UCI set) and the stack's (120 V, as `alertThreshold`). */
  readonly recordedNominalVoltage: number;
  readonly nominalVoltage: number;
}

export interface Outages {
  /** Outages per meter per simulated day; `smartmeter:injectOutageRate`. */
  readonly meterRate: number;
  /** Outages of a whole transformer per transformer per simulated day; `smartmeter:injectTransformerOutageRate`. */
  readonly transformerRate: number;
  /** Length of an injected outage in simulated minutes; `smartmeter:injectOutageMinutes`. */
  readonly minutes: number;
  /** A meter silent for more than this many of its reporting intervals is out; `smartmeter:outageIntervals`. */
  readonly intervals: number;
  /** Share of a transformer's meters out together that is a transformer outage; `smartmeter:transformerOutageShare`. */
  readonly transformerShare: number;
}

export interface StackConfig {
  readonly platform: PlatformName;
  /** Which tiers run; streaming and training need messaging and storage. */
  readonly tiers: ReadonlySet<TierName>;
  readonly injectors: number;
  /** Readings per second per injector. */
  readonly injectRate: number;
  readonly injectSeed: number;
  /** Readings an injector holds while the broker does not acknowledge (store-and-forward); `smartmeter:injectBufferReadings`. */
  readonly injectBufferReadings: number;
  /** Whether the stores sync before they acknowledge; `smartmeter:durability`. */
  readonly durability: Durability;
  /** Injected outages (off by default) and how the stream job detects them (README, "Outages"). */
  readonly outages: Outages;
  /**
   * The injectors' simulated clock (components/simulation-clock.ts), epoch seconds. `anchor`
   * (`smartmeter:clockAnchor`) replaces the anchor the stack keeps in its state; `simulationStart`
   * (`smartmeter:simulationStart`) is the simulated time at the anchor (default: the anchor itself).
   */
  readonly clock: { readonly anchor?: number; readonly simulationStart?: number };
  readonly ingestReplicas: number;
  readonly natsNodes: number;
  readonly cassandraNodes: number;
  readonly cassandraReplicationFactor: number;
  /** Cassandra JVM heap (MAX_HEAP_SIZE, its -Xms and -Xmx) as given, e.g. 1G, and in bytes. */
  readonly cassandraHeap: string;
  readonly cassandraHeapBytes: number;
  /** Max-voltage alert threshold in volts (the original's 120 V rule). */
  readonly alertThreshold: number;
  readonly logLevel: LogLevel;
  readonly images: Images;
  /** Name (repository:tag) given to the services image built from services/. */
  readonly servicesImage: string;
  /** Address published ports bind to (127.0.0.1 by default: nothing is exposed to the LAN). */
  readonly bindAddress: string;
  readonly ports: PublishedPorts;
  readonly retention: Retention;
  /** Set when the injectors replay recorded data (`smartmeter:replayFiles`); unset: they simulate. */
  readonly replay?: Replay;
  /**
   * A directory of the host (local) or of every worker (aws), writable by the services' user (uid 1000),
   * where each injector appends the readings the broker acknowledged to it (`smartmeter:injectLedgerDir`);
   * unset: no ledger.
   */
  readonly injectLedgerDir?: string;
}

/** Reads `smartmeter:<key>` values as strings (pulumi.Config by default; tests pass a map). */
export type ConfigSource = (key: string) => string | undefined;

export function pulumiConfigSource(namespace = NAMESPACE): ConfigSource {
  const config = new pulumi.Config(namespace);
  return (key) => config.get(key);
}

// Docker image references (distribution/reference grammar): [host[:port]/]path[:tag][@digest].
const DOMAIN = String.raw`(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?`;
const PATH_COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
const IMAGE_REF = new RegExp(
  String.raw`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);

export function isImageReference(value: string): boolean {
  return value.length <= 255 && IMAGE_REF.test(value);
}

/** Typed, validating reads of `smartmeter:*` keys; every error names the full key. */
export class ConfigReader {
  constructor(
    private readonly source: ConfigSource = pulumiConfigSource(),
    private readonly namespace = NAMESPACE,
  ) {}

  private key(name: string): string {
    return `${this.namespace}:${name}`;
  }

  private raw(name: string): string | undefined {
    const value = this.source(name);
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  fail(name: string, allowed: string, got: string | undefined): never {
    throw new ConfigError(`${this.key(name)} must be ${allowed}, got ${JSON.stringify(got)}`);
  }

  /** The key's text, or undefined when it is not set. */
  optional(name: string): string | undefined {
    return this.raw(name);
  }

  string(name: string, fallback?: string): string {
    const value = this.raw(name) ?? fallback;
    if (value === undefined) throw new ConfigError(`${this.key(name)} is required`);
    return value;
  }

  /** A string accepted by `accept` (a pattern or a predicate); `allowed` says what is accepted. */
  matching(
    name: string,
    accept: RegExp | ((value: string) => boolean),
    allowed: string,
    fallback?: string,
  ): string {
    const value = this.string(name, fallback);
    const ok = typeof accept === 'function' ? accept(value) : accept.test(value);
    if (!ok) this.fail(name, allowed, value);
    return value;
  }

  number(
    name: string,
    fallback: number,
    opts: { min?: number; max?: number; integer?: boolean } = {},
  ): number {
    const text = this.raw(name);
    const value = text === undefined ? fallback : Number(text);
    const { min = -Infinity, max = Infinity, integer = false } = opts;
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      const range = [min > -Infinity ? `>= ${min}` : '', max < Infinity ? `<= ${max}` : ''].filter(Boolean);
      this.fail(name, `${integer ? 'an integer' : 'a number'} ${range.join(' and ')}`.trim(), text);
    }
    return value;
  }

  integer(name: string, fallback: number, opts: { min?: number; max?: number } = {}): number {
    return this.number(name, fallback, { ...opts, integer: true });
  }

  boolean(name: string, fallback: boolean): boolean {
    return this.parsed(name, { kind: 'boolean', default: fallback, doc: '' }) as boolean;
  }

  /**
   * A key that becomes the services variable `variable`: read with its declared rule, default and limits.
   * `narrower` only narrows them, where another key bounds this one (replication ≤ nodes).
   */
  setting<N extends VariableName>(
    name: string,
    variable: N,
    narrower: { readonly default?: number; readonly max?: number } = {},
  ): NonNullable<ValueOf<Variables[N]>> {
    const declared: Setting = VARIABLES[variable];
    const max = Math.min(('max' in declared && declared.max) || Infinity, narrower.max ?? Infinity);
    const setting =
      declared.kind === 'integer' || declared.kind === 'number'
        ? {
            ...declared,
            default: narrower.default ?? declared.default,
            max: max < Infinity ? max : undefined,
          }
        : declared;
    const value = this.parsed(name, setting);
    if (value === undefined) throw new ConfigError(`${this.key(name)} is required`);
    return value as NonNullable<ValueOf<Variables[N]>>;
  }

  private parsed(name: string, setting: Setting): unknown {
    const text = this.raw(name);
    const parsed = parseText(setting, text);
    return 'allowed' in parsed ? this.fail(name, parsed.allowed, text) : parsed.value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback?: T): T {
    const value = this.raw(name) ?? fallback;
    if (value === undefined)
      throw new ConfigError(`${this.key(name)} is required (one of ${allowed.join(', ')})`);
    if (!allowed.includes(value as T)) this.fail(name, `one of ${allowed.join(', ')}`, value);
    return value as T;
  }

  /** A list given as YAML/JSON array (`pulumi config set --path 'tiers[0]' …`) or comma-separated. */
  list<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
    const text = this.raw(name);
    if (text === undefined) return [...fallback];
    let items: unknown;
    try {
      items = text.startsWith('[') ? JSON.parse(text) : text.split(',').map((s) => s.trim());
    } catch {
      return this.fail(name, `a list of ${allowed.join(', ')}`, text);
    }
    if (!Array.isArray(items) || items.some((i) => typeof i !== 'string' || !allowed.includes(i as T))) {
      return this.fail(name, `a list of ${allowed.join(', ')}`, text);
    }
    return [...new Set(items as T[])];
  }

  /**
   * An optional instant, as epoch seconds: whole seconds since 1970, or an ISO-8601 date (UTC) or date-time
   * with its zone (`Z` or `±hh:mm`; a date-time without one would be read in the local zone).
   */
  instant(name: string): number | undefined {
    const text = this.raw(name);
    if (text === undefined) return undefined;
    const iso = ISO_INSTANT.exec(text);
    // Date.parse takes 2024-02-30 for March 1st: the calendar date must exist.
    const day = iso && new Date(Date.UTC(Number(iso[1]), Number(iso[2]) - 1, Number(iso[3])));
    const realDay = day && day.getUTCDate() === Number(iso[3]) && day.getUTCMonth() === Number(iso[2]) - 1;
    const seconds = /^\d+$/.test(text) ? Number(text) : realDay ? Math.floor(Date.parse(text) / 1000) : NaN;
    if (!(seconds >= 0 && seconds <= MAX_INSTANT)) {
      this.fail(
        name,
        'epoch seconds or an ISO-8601 date or date-time with its zone, such as 2024-05-01T00:00:00Z, ' +
          'between 1970 and 9999',
        text,
      );
    }
    return seconds;
  }

  image(name: string, fallback: string): string {
    return this.matching(
      name,
      isImageReference,
      'a Docker image reference such as "registry.example.com:5000/library/nats:2.15-alpine"',
      fallback,
    );
  }
}

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
/** 9999-12-31T23:59:59Z, the last instant the wire codec can carry. */
const MAX_INSTANT = 253_402_300_799;

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const BYTE_UNITS: Record<string, number> = { MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };
/** The smallest Cassandra heap the stack starts (the JVM's own floor is 2 MiB; Cassandra needs far more). */
const MIN_CASSANDRA_HEAP_BYTES = 256 * 1024 ** 2;

/** Seconds variables given as `90m`, `24h`, `7d`; the variable's default and limits. */
type SecondsVariable = 'RAW_STREAM_MAX_AGE_S' | 'RAW_STREAM_DUPLICATE_WINDOW_S';

/** `90m`, `24h`, `7d` → seconds, within the variable's limits. */
function durationSeconds(read: ConfigReader, name: string, variable: SecondsVariable): number {
  const { default: fallback, min, max } = VARIABLES[variable];
  const text = read.optional(name);
  if (text === undefined) return fallback;
  const m = /^([1-9][0-9]*)([smhd])$/.exec(text);
  const seconds = m ? Number(m[1]) * DURATION_UNITS[m[2]] : NaN;
  if (!(seconds >= min && seconds <= max)) {
    read.fail(name, `a duration such as 90m, 24h or 7d, at least ${min} s and at most ${max} s`, text);
  }
  return seconds;
}

/** `512MiB`, `4GiB` → bytes, within RAW_STREAM_MAX_BYTES's limits (1 MiB … 1024 TiB). */
function byteSize(read: ConfigReader, name: string): number {
  const { default: fallback, min, max } = VARIABLES.RAW_STREAM_MAX_BYTES;
  const text = read.optional(name);
  if (text === undefined) return fallback;
  const m = /^([1-9][0-9]*)(MiB|GiB|TiB)$/.exec(text);
  const bytes = m ? Number(m[1]) * BYTE_UNITS[m[2]] : NaN;
  if (!(bytes >= min && bytes <= max))
    read.fail(name, 'a size such as 512MiB, 4GiB or 1TiB, at most 1024TiB', text);
  return bytes;
}

/** The raw stream's duplicate window, which JetStream refuses longer than the stream's max age. */
function duplicateWindowSeconds(read: ConfigReader, maxAgeSeconds: number): number {
  const seconds = durationSeconds(read, 'rawStreamDuplicateWindow', 'RAW_STREAM_DUPLICATE_WINDOW_S');
  if (seconds > maxAgeSeconds) {
    throw new ConfigError(
      `${NAMESPACE}:rawStreamDuplicateWindow (${seconds} s) must not be longer than ${NAMESPACE}:rawStreamMaxAge ` +
        `(${maxAgeSeconds} s): JetStream refuses a duplicate window longer than the stream's max age`,
    );
  }
  return seconds;
}

/** MAX_HEAP_SIZE as the JVM reads -Xms/-Xmx (./formats/jvm-memory-size.ts), from 256 MiB. */
function cassandraHeap(read: ConfigReader): { text: string; bytes: number } {
  const text = read.string('cassandraHeap', '1G');
  const bytes = parseJvmMemorySize(text);
  if (bytes === undefined || bytes < BigInt(MIN_CASSANDRA_HEAP_BYTES)) {
    read.fail(
      'cassandraHeap',
      'a JVM heap size (-Xmx): a whole number of bytes, or with one unit k, m, g or t (powers of 1024), ' +
        'such as 512m or 1G, at least 256M',
      text,
    );
  }
  return { text, bytes: Number(bytes) };
}

/** Memory a machine keeps for everything beside its Cassandra heaps (off-heap, the other services, the OS). */
const MEMORY_BESIDE_HEAPS_BYTES = 1024 ** 3;

/**
 * The Cassandra heaps one machine runs must fit its memory: the JVM commits -Xms (= -Xmx = MAX_HEAP_SIZE)
 * at start and Cassandra touches all of it (-XX:+AlwaysPreTouch in the image's jvm-server.options), so a
 * larger heap fails to start ("os::commit_memory failed") or is killed for lack of memory.
 */
export function checkCassandraHeapFits(
  config: StackConfig,
  heapsPerMachine: number,
  machine: { readonly name: string; readonly memoryBytes: number },
): void {
  const gib = (bytes: number) => `${Math.floor((bytes / 1024 ** 3) * 10) / 10} GiB`;
  const most = (machine.memoryBytes - MEMORY_BESIDE_HEAPS_BYTES) / heapsPerMachine;
  if (config.cassandraHeapBytes > most) {
    throw new ConfigError(
      `${NAMESPACE}:cassandraHeap must fit ${machine.name}'s memory (${gib(machine.memoryBytes)}) ` +
        `${heapsPerMachine > 1 ? `${heapsPerMachine} times ` : ''}with 1 GiB left beside: at most ` +
        `${gib(Math.max(most, 0))}, got ${JSON.stringify(config.cassandraHeap)}`,
    );
  }
}

/** Each published host port belongs to one key (0: not published). */
function checkDistinctPorts(ports: PublishedPorts): void {
  const clash = duplicatePort({ ...ports });
  if (clash) {
    throw new ConfigError(
      `${NAMESPACE}:${clash.key}Port must be a host port no other key publishes (or 0 to keep it inside the ` +
        `network), got ${ports[clash.key as keyof PublishedPorts]}, which ${NAMESPACE}:${clash.other}Port publishes`,
    );
  }
}

const ABSOLUTE_PATH = /^\/[^,\n]*[^,\n/]$/;

/** `smartmeter:replay*`: off unless `replayFiles` is set; a replay needs the clock set to the recording. */
function readReplay(
  read: ConfigReader,
  source: ConfigSource,
  clock: StackConfig['clock'],
): Replay | undefined {
  const text = source('replayFiles')?.trim();
  if (!text) return undefined;
  const allowed = 'absolute paths of files in the UCI household power format, comma-separated or a list';
  let files: unknown;
  try {
    files = text.startsWith('[') ? JSON.parse(text) : text.split(',').map((f) => f.trim());
  } catch {
    return read.fail('replayFiles', allowed, text);
  }
  if (
    !Array.isArray(files) ||
    files.length === 0 ||
    files.some((f) => typeof f !== 'string' || !ABSOLUTE_PATH.test(f))
  ) {
    return read.fail('replayFiles', allowed, text);
  }
  if (clock.simulationStart === undefined && clock.anchor === undefined) {
    throw new ConfigError(
      `${NAMESPACE}:simulationStart is required with ${NAMESPACE}:replayFiles: the recorded timestamps are the ` +
        'simulated time, so start the clock where the recording starts (2006-12-16T17:24:00Z for the UCI data set)',
    );
  }
  return {
    files: [...new Set(files as string[])],
    metersPerHousehold: read.setting('replayMetersPerHousehold', 'INJECT_UCI_METERS_PER_HOUSEHOLD'),
    recordedNominalVoltage: read.setting('replayRecordedNominalVoltage', 'INJECT_UCI_NOMINAL_V'),
    nominalVoltage: read.setting('replayNominalVoltage', 'INJECT_NOMINAL_V'),
  };
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function readOutages(read: ConfigReader): Outages {
  const minutes = read.setting('injectOutageMinutes', 'INJECT_OUTAGE_MINUTES');
  // At most one outage per window of `minutes` (services/src/simulator/outages.ts).
  const max = MINUTES_PER_DAY / minutes;
  return {
    meterRate: read.setting('injectOutageRate', 'INJECT_OUTAGE_RATE', { max }),
    transformerRate: read.setting('injectTransformerOutageRate', 'INJECT_TRANSFORMER_OUTAGE_RATE', { max }),
    minutes,
    intervals: read.setting('outageIntervals', 'STREAM_OUTAGE_INTERVALS'),
    transformerShare: read.setting('transformerOutageShare', 'STREAM_TRANSFORMER_OUTAGE_SHARE'),
  };
}

/** Reads and validates the whole stack configuration. */
export function loadConfig(source: ConfigSource = pulumiConfigSource()): StackConfig {
  const read = new ConfigReader(source);
  const port = (name: keyof PublishedPorts) =>
    read.integer(`${name}Port`, DEFAULT_PORTS[name], { min: 0, max: 65535 });
  const image = (name: keyof Images) => read.image(`${name}Image`, DEFAULT_IMAGES[name]);

  const tiers = new Set(read.list('tiers', TIERS, TIERS));
  for (const dependent of ['streaming', 'training'] as const) {
    for (const needed of ['messaging', 'storage'] as const) {
      if (tiers.has(dependent) && !tiers.has(needed)) {
        throw new ConfigError(
          `${NAMESPACE}:tiers: the ${dependent} tier needs the ${needed} tier (allowed: any of ${TIERS.join(', ')}, ` +
            `with messaging and storage whenever streaming or training is on)`,
        );
      }
    }
  }

  const cassandraNodes = read.integer('cassandraNodes', 1, { min: 1, max: LIMITS.cassandraNodes });
  const clock = { anchor: read.instant('clockAnchor'), simulationStart: read.instant('simulationStart') };
  const heap = cassandraHeap(read);
  const rawStreamMaxAgeSeconds = durationSeconds(read, 'rawStreamMaxAge', 'RAW_STREAM_MAX_AGE_S');
  const ports: PublishedPorts = {
    grafana: port('grafana'),
    prometheus: port('prometheus'),
    nats: port('nats'),
    natsMonitoring: port('natsMonitoring'),
    cassandra: port('cassandra'),
  };
  checkDistinctPorts(ports);
  const config: StackConfig = {
    platform: read.oneOf('platform', PLATFORMS),
    tiers,
    // Injector i runs slot i (1-based), so the count is bounded by the largest slot.
    injectors: read.integer('injectors', 1, { min: 0, max: LIMITS.injectors }),
    injectRate: read.setting('injectRate', 'INJECT_RATE'),
    injectSeed: read.setting('injectSeed', 'INJECT_SEED'),
    injectBufferReadings: read.setting('injectBufferReadings', 'INJECT_BUFFER_READINGS'),
    durability: read.oneOf('durability', DURABILITY_MODES, 'synced'),
    outages: readOutages(read),
    clock,
    ingestReplicas: read.integer('ingestReplicas', 1, { min: 1, max: LIMITS.ingestReplicas }),
    natsNodes: read.integer('natsNodes', 1, { min: 1, max: LIMITS.natsNodes }),
    cassandraNodes,
    cassandraReplicationFactor: read.setting('cassandraReplicationFactor', 'CASSANDRA_REPLICATION_FACTOR', {
      default: Math.min(cassandraNodes, 3),
      max: cassandraNodes,
    }),
    cassandraHeap: heap.text,
    cassandraHeapBytes: heap.bytes,
    alertThreshold: read.setting('alertThreshold', 'ALERT_THRESHOLD_V'),
    logLevel: read.setting('logLevel', 'LOG_LEVEL'),
    images: {
      nats: image('nats'),
      natsExporter: image('natsExporter'),
      cassandra: image('cassandra'),
      prometheus: image('prometheus'),
      grafana: image('grafana'),
      nodeBase: image('nodeBase'),
    },
    servicesImage: read.image('servicesImage', 'smartmeter-services:latest'),
    bindAddress: read.matching('bindAddress', IPV4, 'an IPv4 address such as 127.0.0.1', '127.0.0.1'),
    retention: {
      rawDays: read.setting('rawRetentionDays', 'RAW_RETENTION_DAYS'),
      aggregateDays: read.setting('aggregateRetentionDays', 'AGGREGATE_RETENTION_DAYS'),
      rawStreamMaxAgeSeconds,
      rawStreamMaxBytes: byteSize(read, 'rawStreamMaxBytes'),
      // Passed to Prometheus as written, so read exactly as Prometheus reads its flags.
      prometheusTime: read.matching(
        'prometheusRetention',
        (text) => parsePrometheusDuration(text) !== undefined,
        'a Prometheus duration: whole numbers with units y, w, d, h, m, s or ms, largest first and each ' +
          `once, such as 7d, 2w or 1d12h, at most ${PROMETHEUS_MAX_DURATION}; 0 for no time limit ` +
          '(with a retention size; with neither, Prometheus keeps 15d)',
        DEFAULT_PROMETHEUS_RETENTION.time,
      ),
      prometheusSize: read.matching(
        'prometheusRetentionSize',
        // Prometheus also takes negative sizes (no limit, as 0): only 0 says that here.
        (text) => !text.startsWith('-') && (parsePrometheusSize(text) ?? -1) >= 0,
        'a Prometheus size: numbers with units B, KB, MB, GB, TB, PB or EB (powers of 1024; or KiB … EiB), ' +
          'such as 512MB, 2GB or 1.5TB, below 8EB; 0 for no size limit',
        DEFAULT_PROMETHEUS_RETENTION.size,
      ),
      rawStreamDuplicateWindowSeconds: duplicateWindowSeconds(read, rawStreamMaxAgeSeconds),
    },
    ports,
    replay: readReplay(read, source, clock),
    injectLedgerDir: source('injectLedgerDir')?.trim()
      ? read.matching(
          'injectLedgerDir',
          ABSOLUTE_PATH,
          'an absolute directory path such as /var/lib/smartmeter/ledger',
        )
      : undefined,
  };
  return config;
}
