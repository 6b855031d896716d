// Where the stream job resumes after a checkpoint, checked against what the raw stream still holds.
//
// The checkpoint names the last message folded into its state by sequence and by the time the stream
// stored it. Normally that message is still there: the job reads on from the next sequence. It is not when
//   - the stream lost its tail under the checkpoint (a power cut with relaxed durability: the checkpoint's
//     KV write was synced, the raw stream's last messages were not), or was recreated: the sequences after
//     what survived are reused by new messages, and reading on from the checkpoint's would skip them. The
//     job resumes at the first message stored after the checkpoint's time (found by bisection, since the
//     stream's times grow with its sequences), and reports the gap;
//   - retention removed messages before the job read them (it was stopped longer than the stream keeps
//     readings): it resumes at the first message there is, and reports how many it never saw.
// Either way the windows keep what the checkpoint had folded, and a metric and the log say what happened.
import { JetStreamManager, StoredMsg } from 'nats';

export type GapReason = 'stream_behind' | 'retention';

export interface Resume {
  /** The first stream sequence to read. */
  seq: number;
  gap?: { reason: GapReason; checkpointSeq: number; streamFirstSeq: number; streamLastSeq: number };
}

/** The checkpoint's own record of its last message. */
export interface CheckpointPosition {
  seq: number;
  /** The stream's timestamp of message `seq` (ISO, as the server gives it); absent in older checkpoints. */
  time?: string;
}

async function messageAt(jsm: JetStreamManager, stream: string, seq: number): Promise<StoredMsg | null> {
  return jsm.streams.getMessage(stream, { seq }).catch(() => null);
}

/** The stream's timestamp of message `seq`, for the checkpoint (undefined if it is gone). */
export async function positionTime(jsm: JetStreamManager, stream: string, seq: number) {
  return seq > 0 ? (await messageAt(jsm, stream, seq))?.timestamp : undefined;
}

export async function resumePoint(
  jsm: JetStreamManager,
  stream: string,
  checkpoint: CheckpointPosition | null,
): Promise<Resume> {
  if (!checkpoint || checkpoint.seq === 0) return { seq: 1 };
  const { first_seq: first, last_seq: last } = (await jsm.streams.info(stream)).state;
  const at = await messageAt(jsm, stream, checkpoint.seq);
  if (at && (checkpoint.time === undefined || at.timestamp === checkpoint.time)) {
    return { seq: checkpoint.seq + 1 };
  }
  const gap = { checkpointSeq: checkpoint.seq, streamFirstSeq: first, streamLastSeq: last };
  if (!at && checkpoint.seq < first) return { seq: first, gap: { reason: 'retention', ...gap } };
  if (checkpoint.time === undefined) {
    // A checkpoint of an earlier version: no later than the stream's end, without a time to search by.
    return { seq: Math.min(checkpoint.seq, last) + 1, gap: { reason: 'stream_behind', ...gap } };
  }
  // The last message stored at or before the checkpoint's time: everything up to it was folded.
  const until = new Date(checkpoint.time).getTime();
  let lo = first - 1; // at or before the time (first - 1: none)
  let hi = Math.min(checkpoint.seq, last) + 1; // after it
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const m = await messageAt(jsm, stream, mid);
    // A message removed in the middle (deleted) counts as old: bisection needs a side for it.
    if (!m || m.time.getTime() <= until) lo = mid;
    else hi = mid;
  }
  return { seq: lo + 1, gap: { reason: 'stream_behind', ...gap } };
}
