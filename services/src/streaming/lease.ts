// Who is the active stream instance: a lease in a JetStream KV bucket whose entries expire after the TTL.
// The holder renews it with compare-and-set on the entry's revision; a standby takes it with `create`,
// which succeeds only when no live entry exists (after a release, or once the holder has missed renewals
// for a whole TTL). All operations of one instance run one at a time, so its own renewals never race.
import { JetStreamClient, KV } from 'nats';

const KEY = 'active';

export class Lease {
  private revision = 0;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly kv: KV,
    readonly holder: string,
  ) {}

  static async open(
    js: JetStreamClient,
    bucket: string,
    ttlMs: number,
    holder: string,
    replicas = 1,
  ): Promise<Lease> {
    return new Lease(await js.views.kv(bucket, { history: 1, ttl: ttlMs, replicas }), holder);
  }

  get held(): boolean {
    return this.revision > 0;
  }

  /** Takes the lease if nobody holds it; true when this instance holds it afterwards. */
  acquire(): Promise<boolean> {
    return this.serial(async () => {
      if (this.held) return true;
      try {
        this.revision = await this.kv.create(KEY, new TextEncoder().encode(this.holder));
      } catch {
        // Someone else holds it (the server answers "wrong last sequence"), or NATS is unreachable.
      }
      return this.held;
    });
  }

  /** Extends the lease; false (and no longer held) if it expired or was taken meanwhile. */
  renew(): Promise<boolean> {
    return this.serial(async () => {
      if (!this.held) return false;
      try {
        this.revision = await this.kv.update(KEY, new TextEncoder().encode(this.holder), this.revision);
      } catch {
        this.revision = 0;
      }
      return this.held;
    });
  }

  /** Gives the lease up at once, so a standby does not wait for the TTL. */
  release(): Promise<void> {
    return this.serial(async () => {
      if (!this.held) return;
      const revision = this.revision;
      this.revision = 0;
      await this.kv.delete(KEY, { previousSeq: revision }).catch(() => undefined);
    });
  }

  /** Forgets the lease without telling the server (a crashed holder): it expires after the TTL. */
  forget(): void {
    this.revision = 0;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
