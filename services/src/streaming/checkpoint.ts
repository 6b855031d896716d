// The stream job's position and state, kept together: the stream sequence of the last message folded
// into the windows, and the windows themselves and the outage detector (gzipped JSON in a KV bucket without expiry). A new
// active instance restores them and reads on from the next sequence, so every window ends up with the
// same value it would have had without the restart.
import { gunzipSync, gzipSync } from 'node:zlib';
import { JetStreamClient, KV } from 'nats';
import { OutageSnapshot } from './outages';
import { StateSnapshot } from './windows';

const KEY = 'state';

export interface Checkpoint {
  /** Stream sequence of the last message reflected in `state` (0: none). */
  seq: number;
  /** The stream's timestamp of that message, to tell it from a later one under the same sequence (resume.ts). */
  time?: string;
  state: StateSnapshot;
  /** The outage detector at the same message (absent in checkpoints of earlier versions). */
  outages?: OutageSnapshot;
}

export class CheckpointStore {
  private constructor(private readonly kv: KV) {}

  static async open(js: JetStreamClient, bucket: string, replicas = 1): Promise<CheckpointStore> {
    return new CheckpointStore(await js.views.kv(bucket, { history: 1, replicas }));
  }

  async load(): Promise<Checkpoint | null> {
    const entry = await this.kv.get(KEY);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return null;
    return JSON.parse(gunzipSync(entry.value).toString('utf8')) as Checkpoint;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    await this.kv.put(KEY, gzipSync(JSON.stringify(checkpoint)));
  }
}
