import { backoffDelay, retryWithBackoff } from '../../src/lib/retry';

test('backoff grows exponentially up to the cap, with jitter in the upper half', () => {
  expect(backoffDelay(1, 100, 10_000, () => 0)).toBe(50);
  expect(backoffDelay(1, 100, 10_000, () => 1)).toBe(100);
  expect(backoffDelay(4, 100, 10_000, () => 1)).toBe(800);
  expect(backoffDelay(30, 100, 10_000, () => 1)).toBe(10_000);
});

test('retries until success and reports each retry', async () => {
  const seen: number[] = [];
  const result = await retryWithBackoff(
    async (attempt) => {
      if (attempt < 3) throw new Error(`fail ${attempt}`);
      return 'ok';
    },
    { initialMs: 1, maxMs: 2, onRetry: (_e, attempt) => seen.push(attempt) },
  );
  expect(result).toBe('ok');
  expect(seen).toEqual([1, 2]);
});

test('gives up after maxAttempts with the last error', async () => {
  await expect(
    retryWithBackoff(async (a) => Promise.reject(new Error(`fail ${a}`)), { initialMs: 1, maxAttempts: 2 }),
  ).rejects.toThrow('fail 2');
});
