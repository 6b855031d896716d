// The fixture bench figures (tests/fixtures/bench-figures.json: plausible figures of the 2-core test
// machine) and a variant with one figure changed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { BenchFigures } from '../../services/bench/figures';

export const FIXTURE = join(__dirname, '..', 'fixtures', 'bench-figures.json');

export function fixture(change: Partial<BenchFigures> = {}): BenchFigures {
  return { ...(JSON.parse(readFileSync(FIXTURE, 'utf8')) as BenchFigures), ...change };
}
