// The one way the project runs a property-based fuzz (fast-check): a fixed seed and a small time box inside
// `npm test`, so a failure there is reproducible; `npm run fuzz -- --seed <n> --seconds <s>` sets both
// (FUZZ_SEED, FUZZ_SECONDS) for a longer hunt. Every property prints how many inputs it tried and, when one
// breaks it, the smallest such input fast-check shrank to, with the seed and path that replay it.
import fc from 'fast-check';

/** Seconds each property runs inside `npm test` unless FUZZ_SECONDS says otherwise. */
export const DEFAULT_FUZZ_SECONDS = 2;
/** The seed of `npm test`'s runs: fixed, so the same inputs are tried on every machine (up to its speed). */
export const DEFAULT_FUZZ_SEED = 20261207;

export interface FuzzBudget {
  seed: number;
  seconds: number;
}

export function fuzzBudget(env: NodeJS.ProcessEnv = process.env): FuzzBudget {
  const seed = Number(env.FUZZ_SEED ?? DEFAULT_FUZZ_SEED);
  const seconds = Number(env.FUZZ_SECONDS ?? DEFAULT_FUZZ_SECONDS);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got "${env.FUZZ_SEED}"`);
  if (!(seconds > 0 && seconds <= 86_400))
    throw new Error(`FUZZ_SECONDS must be in (0, 86400], got "${env.FUZZ_SECONDS}"`);
  return { seed, seconds };
}

/**
 * Runs `property` for the budget's time (and at most `maxRuns` inputs), prints the inputs tried, and throws
 * fast-check's report (counterexample, seed, path) if any input broke it. Jest's timeout for the test must
 * leave room for the budget: `fuzzTimeoutMs()`.
 */
export async function fuzz<T>(
  name: string,
  property: fc.IProperty<T> | fc.IAsyncProperty<T>,
  options: { maxRuns?: number; budget?: FuzzBudget } = {},
): Promise<void> {
  const budget = options.budget ?? fuzzBudget();
  const details = await fc.check(property as fc.IAsyncProperty<T>, {
    seed: budget.seed,
    numRuns: options.maxRuns ?? 1_000_000,
    interruptAfterTimeLimit: budget.seconds * 1000,
    markInterruptAsFailure: false,
  });
  process.stdout.write(
    `fuzz ${name}: ${details.numRuns} inputs tried in ≤ ${budget.seconds} s (seed ${budget.seed}), ` +
      `${details.failed ? 1 : 0} failure${details.failed ? `\n${fc.defaultReportMessage(details)}` : 's'}\n`,
  );
  if (details.failed) throw new Error(`fuzz ${name} failed:\n${fc.defaultReportMessage(details)}`);
}

/** A jest timeout for a test of `properties` fuzz runs: their budgets plus `slackMs` for setup. */
export function fuzzTimeoutMs(properties: number, slackMs = 30_000): number {
  return properties * fuzzBudget().seconds * 1000 * 1.5 + slackMs;
}
