// The meters an injector simulates: lines × transformers × usage points, as the original derived them
// from its rate, with the injector slot carried in the line number (slot 1 → lines 11, 12, …) so that
// replicas never share a meter.
import { MeterId } from '../wire/codec';

export interface Topology {
  lines: number;
  transformers: number;
  usagePoints: number;
}

/** The original's topology for u readings/s: 500 → 1×7×71, 50 → 1×3×16, 600 → 2×4×75, 10 → 1×2×5. */
export function topologyFromRate(u: number): Topology {
  if (!Number.isFinite(u) || u < 1) throw new RangeError(`rate must be >= 1, got ${u}`);
  const lt = Math.floor(Math.cbrt(u) + 1e-9);
  const lines = Math.floor(Math.cbrt(lt) + 1e-9);
  const transformers = Math.floor(lt / lines);
  const usagePoints = Math.floor(u / (lines * transformers));
  return { lines, transformers, usagePoints };
}

/** Cassandra stores `line` as a tinyint; 10 lines per slot keep slots disjoint (slot s: 10s+1 … 10s+10). */
export const MAX_LINES_PER_SLOT = 10;
const MAX_LINE = 127;

/** Throws a RangeError naming what is wrong; returns the topology for chaining. */
export function validateTopology(t: Topology, slot: number): Topology {
  for (const [name, v] of Object.entries(t)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer >= 1, got ${v}`);
  }
  if (t.lines > MAX_LINES_PER_SLOT) {
    throw new RangeError(`lines must be <= ${MAX_LINES_PER_SLOT} so that injector slots never share a line`);
  }
  if (!Number.isInteger(slot) || slot < 0 || 10 * slot + t.lines > MAX_LINE) {
    throw new RangeError(`slot must be an integer with 10·slot + lines <= ${MAX_LINE}, got ${slot}`);
  }
  return t;
}

export function meterCount(t: Topology): number {
  return t.lines * t.transformers * t.usagePoints;
}

/** Every meter of the topology, in publishing order (line, then transformer, then usage point). */
export function meterIds(t: Topology, slot: number): MeterId[] {
  validateTopology(t, slot);
  const out: MeterId[] = [];
  for (let l = 1; l <= t.lines; l++) {
    for (let transformer = 1; transformer <= t.transformers; transformer++) {
      for (let usagePoint = 1; usagePoint <= t.usagePoints; usagePoint++) {
        out.push({ line: 10 * slot + l, transformer, usagePoint });
      }
    }
  }
  return out;
}
