// The JVM's memory-size syntax, as HotSpot reads -Xms/-Xmx (arguments.cpp atojulong and
// parse_memory_size, JDK 17, the Cassandra 5.0 image's): a decimal or 0x-hex number and at most one unit
// letter k, m, g or t (either case, powers of 1024), no sign, no fraction, no space, within 64 bits.
// Cassandra's image gives MAX_HEAP_SIZE to both -Xms and -Xmx (cassandra-env.sh).

const MULTIPLIERS: Record<string, bigint> = {
  '': 1n,
  k: 1024n,
  m: 1024n ** 2n,
  g: 1024n ** 3n,
  t: 1024n ** 4n,
};
const MAX_UINT64 = 2n ** 64n - 1n;

/** Bytes, or undefined where the JVM stops with "Invalid maximum heap size". */
export function parseJvmMemorySize(text: string): bigint | undefined {
  const m = /^(?:0[xX]([0-9a-fA-F]+)|([0-9]+))([kKmMgGtT]?)$/.exec(text);
  if (!m) return undefined;
  const n = m[1] !== undefined ? BigInt(`0x${m[1]}`) : BigInt(m[2]);
  const bytes = n * MULTIPLIERS[m[3].toLowerCase()];
  return n > MAX_UINT64 || bytes > MAX_UINT64 ? undefined : bytes;
}

/** Below this the JVM stops with "Too small maximum heap" (gcArguments.cpp). */
export const JVM_MIN_MAX_HEAP = 2n * 1024n ** 2n;
