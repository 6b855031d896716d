// The durable pull consumer every ingest replica shares: replicas fetch from the same consumer, so the
// server hands each message to one of them, and a message not acknowledged within ack_wait (a replica
// died mid-write) goes to another. Created if missing; its tunable limits are converged if it exists.
import { AckPolicy, ConsumerInfo, DeliverPolicy, JetStreamManager, nanos, NatsError } from 'nats';
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
