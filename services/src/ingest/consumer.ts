// The durable pull consumer every ingest replica shares: replicas fetch from the same consumer, so the
// server hands each message to one of them, and a message not acknowledged within ack_wait (a replica
// died mid-write) goes to another. Created if missing; its tunable limits are converged if it exists.
import { AckPolicy, ConsumerInfo, DeliverPolicy, JetStreamManager, JsMsg, nanos, NatsError } from 'nats';
import { IngestSettings } from './settings';

export async function ensureIngestConsumer(
  jsm: JetStreamManager,
  settings: Pick<IngestSettings, 'stream' | 'consumer' | 'ackWaitMs' | 'maxAckPending'>,
): Promise<ConsumerInfo> {
  const { stream, consumer } = settings;
  const limits = {
    ack_wait: nanos(settings.ackWaitMs),
    max_ack_pending: settings.maxAckPending,
    // Never give up on a reading: a long Cassandra outage must not drop messages.
    max_deliver: -1,
  };
  try {
    await jsm.consumers.info(stream, consumer);
    return await jsm.consumers.update(stream, consumer, limits);
  } catch (err) {
    if (!(err instanceof NatsError && /consumer not found/i.test(err.message))) throw err;
  }
  // Replicas starting together may both get here; the server accepts an identical durable twice.
  return jsm.consumers.add(stream, {
    durable_name: consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ...limits,
  });
}

const DOT = 46;
const ONE = 49;

/**
 * `msg.redelivered`, read off the ack subject in place: nats.js's getter splits the subject and builds an
 * object per message, 3% of ingest's CPU (bench profile, issue 11). The delivery count is token 4 of the
 * old subject ($JS.ACK.<stream>.<consumer>.<count>.<seq>.<seq>.<time>.<pending>, 9 tokens) and token 6 of
 * the new one, which adds <domain>.<account hash> after ACK: nats.js's own rule. A count of exactly "1"
 * is a first delivery.
 */
export function redelivered(msg: JsMsg): boolean {
  const reply = (msg as JsMsg & { reply?: string }).reply; // nats.js's JsMsgImpl has it; the interface not
  if (reply === undefined) return msg.redelivered;
  let dots = 0;
  for (let i = reply.indexOf('.'); i >= 0; i = reply.indexOf('.', i + 1)) dots++;
  let at = 0;
  for (let token = dots === 8 ? 4 : 6; token > 0; token--) at = reply.indexOf('.', at) + 1;
  return !(reply.charCodeAt(at) === ONE && reply.charCodeAt(at + 1) === DOT);
}
