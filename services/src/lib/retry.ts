// Exponential backoff with full jitter: the one retry loop used for connecting to and writing through
// backing services that may be down. Every retry is reported, so outages show in logs and metrics.
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** Give up after this many attempts (default: never). */
  maxAttempts?: number;
  /** Stop retrying when this returns true (e.g. shutting down). */
  aborted?: () => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  opts: BackoffOptions = {},
): Promise<T> {
  const { initialMs = 100, maxMs = 10_000, maxAttempts = Infinity, aborted = () => false, onRetry } = opts;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= maxAttempts || aborted()) throw err;
      const delay = backoffDelay(attempt, initialMs, maxMs);
      onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}
