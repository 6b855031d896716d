import { JsMsg } from 'nats';
// nats.js's own JsMsg, the oracle: its `redelivered` parses the whole ack subject.
import { toJsMsg } from 'nats/lib/jetstream/jsmsg';
import { redelivered } from '../../src/ingest/consumer';

const asJsMsg = (reply: string) => toJsMsg({ reply, subject: 'x', data: new Uint8Array() } as never) as JsMsg;

test('redelivered reads the delivery count of both ack subject formats as nats.js does', () => {
  const subjects = [1, 2, 9, 10, 11, 21, 100, 1000].flatMap((count) => [
    `$JS.ACK.SMARTMETER_RAW.ingest.${count}.17.5.1796195773464000000.1`, // before domains
    `$JS.ACK._.ACCHASH.SMARTMETER_RAW.ingest.${count}.1.1.1796195773464000000.0.r4nd0m`,
    `$JS.ACK.hub.ACCHASH.S1.c1.${count}.100.99.1796195773464000000.12`, // no random token
    `$JS.ACK.SMARTMETER_RAW.1.${count}.1.1.1796195773464000000.1`, // a consumer named "1"
  ]);
  for (const reply of subjects) {
    const expected = asJsMsg(reply).redelivered;
    expect({ reply, redelivered: redelivered(asJsMsg(reply)) }).toEqual({ reply, redelivered: expected });
  }
  expect(subjects.filter((s) => asJsMsg(s).redelivered)).toHaveLength(28); // all but the counts of 1
});
