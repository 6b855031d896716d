// Small seeded randomness, no dependency. Every random draw of the simulator comes from a generator
// seeded by a hash of (seed, what, when), so a reading is a pure function of the seed, the meter and the
// simulated minute: the same seed and start give the same readings, and a restarted injector re-emits
// identical values for a minute it already sent (an idempotent upsert downstream).

// Builtins are bound once: a global lookup per call is slow inside vm contexts (jest), and this is the hot path.
const imul = Math.imul;

function mix(h: number, x: number): number {
  let k = imul(x >>> 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3's 32-bit mixing of four integers (each taken modulo 2^32) into one uint32. */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = mix(mix(mix(mix(0x9747b28c, a), b), c), d) ^ 16;
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A hash as a uniform number in [0, 1). */
export function unit(h: number): number {
  return h / 4294967296;
}

/** mulberry32: a tiny, fast 32-bit PRNG; reseedable so the hot path allocates nothing. */
export class Mulberry32 {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  reseed(seed: number): this {
    this.state = seed >>> 0;
    return this;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
