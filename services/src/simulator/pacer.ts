// Paces messages to a rate against the monotonic clock: message n is due at n/rate seconds after start.
// Callers ask how many are due, send them as one burst, and sleep until the next one is due; falling
// behind (a GC pause, a slow socket) is caught up in bursts, so the count over any bounded run stays on
// rate, and nothing ever busy-waits: an empty tick always sleeps.

export const monotonicSeconds = (): number => Number(process.hrtime.bigint()) / 1e9;

export class Pacer {
  private readonly t0: number;
  private sent = 0;

  constructor(
    readonly rate: number,
    private readonly now: () => number = monotonicSeconds,
  ) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be > 0, got ${rate}`);
    this.t0 = now();
  }

  elapsed(): number {
    return this.now() - this.t0;
  }

  get count(): number {
    return this.sent;
  }

  /** Messages due now and not yet sent, at most `max`. */
  due(max = Infinity): number {
    const dueByNow = Math.floor(this.elapsed() * this.rate) + 1;
    return Math.max(0, Math.min(max, dueByNow - this.sent));
  }

  /** Records n messages as sent. */
  take(n: number): void {
    this.sent += n;
  }

  /** Seconds until the next message is due (<= 0 when one is due already). */
  untilNext(): number {
    return this.sent / this.rate - this.elapsed();
  }
}
