// The readings every phase uses: the simulator's meters and model, one reading per meter per simulated
// minute, so each is a distinct raw_data row; and the injectors' acknowledged delivery that carries them.
import { NatsConnection } from 'nats';
import { Simulator } from '../src/simulator';
import { Delivery } from '../src/simulator/delivery';
import { LedgerWriter, readingId } from '../src/simulator/ledger';
import { encodeVoltage } from '../src/wire/codec';
import { RUN_ID } from './settings';

export interface Reading {
  subject: string; // smartmeter.raw.voltage.data.<line>.<transformer>.<usagepoint>
  data: Uint8Array;
  /** Its Nats-Msg-Id, as an injector sends it. */
  id: string;
}

export function makeReadings(sim: Simulator, count: number, firstMinute: number): Reading[] {
  const out: Reading[] = [];
  const start = Date.UTC(2025, 0, 6) / 1000;
  for (let k = 0; out.length < count; k++) {
    const epoch = start + (firstMinute + Math.floor(k / sim.meters.length)) * 60;
    const i = k % sim.meters.length;
    const m = sim.meters[i];
    out.push({
      subject: sim.subjects[i],
      data: encodeVoltage(sim.voltageAt(i, epoch, 12).reading),
      id: readingId('voltage', `${m.line}.${m.transformer}.${m.usagePoint}`, epoch),
    });
  }
  return out;
}

/** The injectors' acknowledged delivery of `count` readings; a recorder hears every acknowledgement. */
export function delivery(nc: NatsConnection, count: number, recorder?: LedgerWriter): Delivery {
  return new Delivery(nc, { bufferReadings: count + 1000, name: `bench${RUN_ID}` }, { ledger: recorder });
}
