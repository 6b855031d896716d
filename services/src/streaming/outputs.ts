// What a window becomes: one Cassandra row keyed by the window (so writing it again, after a late reading
// or a replay, overwrites the same row) and, for some kinds, a JSON extract on NATS in the original's shape;
// an outage change likewise (its row keyed by the outage: meter or transformer and start). Window rows keep
// what reopening a closed window needs (storedWindow): the accumulators and the highest stream sequence
// folded in (`seq`).
import { types } from 'cassandra-driver';
import { OutageEvent } from './outages';
import { StoredWindow, Window, WindowRef } from './windows';

/** One upsert. */
export interface Row {
  table: string;
  query: string;
  params: (number | string)[];
}

export interface Output extends Row {
  /** Subject suffix under `<root>.`, and JSON body; absent when the kind is not published. */
  publish?: { subject: string; body: Record<string, number> };
}

export function outputOf(ks: string, w: Window, alertThresholdV: number): Output {
  switch (w.kind) {
    case 'max_voltage':
      return {
        table: 'max_voltage',
        query: `INSERT INTO ${ks}.max_voltage (epoch, voltage, seq) VALUES (?, ?, ?)`,
        params: [w.start, w.max, w.seq],
        publish: { subject: 'extract.voltage.max', body: { epoch: w.start, voltage: w.max } },
      };
    case 'max_voltage_by_line':
      return {
        table: 'max_voltage_by_line',
        query: `INSERT INTO ${ks}.max_voltage_by_line (line, epoch, voltage, seq) VALUES (?, ?, ?, ?)`,
        params: [w.line, w.start, w.max, w.seq],
      };
    case 'temperature':
      return {
        table: 'temperature',
        query: `INSERT INTO ${ks}.temperature (epoch, temperature, seq) VALUES (?, ?, ?)`,
        params: [w.start, w.max, w.seq],
        publish: { subject: 'extract.temperature.max', body: { epoch: w.start, temperature: w.max } },
      };
    case 'avg_voltage': {
      const day = new Date(w.start * 1000);
      return {
        table: 'avg_voltage_by_transformer',
        query:
          `INSERT INTO ${ks}.avg_voltage_by_transformer ` +
          '(line, transformer, year, month, day, voltage_avg, readings, voltage_sum, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        params: [
          w.line,
          w.transformer,
          day.getUTCFullYear(),
          day.getUTCMonth() + 1,
          day.getUTCDate(),
          w.sum / w.count,
          w.count,
          w.sum,
          w.seq,
        ],
      };
    }
    case 'alert':
      return {
        table: 'voltage_alerts',
        query:
          `INSERT INTO ${ks}.voltage_alerts ` +
          '(line, transformer, window_start, window_end, readings_over, max_voltage, threshold, first_over, seq) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        params: [w.line, w.transformer, w.start, w.end, w.over, w.max, alertThresholdV, w.firstOver, w.seq],
        publish: {
          subject: 'extract.voltage.alert',
          // `epoch` and `count` as the original's alert (first epoch over the threshold, readings over it).
          body: {
            epoch: w.firstOver,
            count: w.over,
            line: w.line,
            transformer: w.transformer,
            window_start: w.start,
            window_end: w.end,
            max_voltage: w.max,
            threshold: alertThresholdV,
          },
        },
      };
  }
}

/** The query that reads a closed window's row back (one row or none), and what the row says. */
export function storedWindowOf(ks: string, ref: WindowRef): { query: string; params: number[] } {
  switch (ref.kind) {
    case 'max_voltage':
      return {
        query: `SELECT voltage AS stored_max, seq FROM ${ks}.max_voltage WHERE epoch = ?`,
        params: [ref.start],
      };
    case 'max_voltage_by_line':
      return {
        query: `SELECT voltage AS stored_max, seq FROM ${ks}.max_voltage_by_line WHERE line = ? AND epoch = ?`,
        params: [ref.line, ref.start],
      };
    case 'temperature':
      // Ingest writes the raw temperature here too (no seq): the max of a row with one reading.
      return {
        query: `SELECT temperature AS stored_max, seq FROM ${ks}.temperature WHERE epoch = ?`,
        params: [ref.start],
      };
    case 'avg_voltage': {
      const day = new Date(ref.start * 1000);
      return {
        query:
          `SELECT voltage_avg, readings, voltage_sum, seq FROM ${ks}.avg_voltage_by_transformer ` +
          'WHERE line = ? AND transformer = ? AND year = ? AND month = ? AND day = ?',
        params: [ref.line, ref.transformer, day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()],
      };
    }
    case 'alert':
      return {
        query:
          `SELECT readings_over, max_voltage AS stored_max, first_over, seq FROM ${ks}.voltage_alerts ` +
          'WHERE line = ? AND transformer = ? AND window_start = ?',
        params: [ref.line, ref.transformer, ref.start],
      };
  }
}

/** A window row as the accumulators it was written from (rows of earlier versions lack seq and sums). */
export function storedWindow(row: types.Row | undefined): StoredWindow | null {
  if (!row) return null;
  const num = (name: string) => {
    const v = row.get(name) as unknown;
    return v === null || v === undefined ? undefined : Number(v);
  };
  const count = num('readings') ?? 0;
  return {
    max: num('stored_max') ?? -Infinity,
    count,
    sum: num('voltage_sum') ?? (num('voltage_avg') ?? 0) * count,
    over: num('readings_over') ?? 0,
    firstOver: num('first_over') ?? Infinity,
    seq: num('seq') ?? 0,
  };
}

/** An outage change: its row (the outage's latest state, keyed by the outage) and its JSON event. */
export interface OutageOutput extends Row {
  publish: { subject: string; body: Record<string, number | string | null> };
  /** Nats-Msg-Id: the same change always has the same id, so the outage stream drops a replayed one. */
  msgId: string;
}

export function outageOutput(ks: string, e: OutageEvent): OutageOutput {
  const meter = e.kind === 'meter';
  const where = meter ? `${e.line}.${e.transformer}.${e.usagePoint}` : `${e.line}.${e.transformer}`;
  // A withdrawn outage never was: its end is the reading that arrived after all, its duration 0.
  const duration = e.end === null ? null : Math.max(0, e.end - e.start);
  const keys = meter ? ['line', 'transformer', 'usagepoint'] : ['line', 'transformer'];
  const keyValues = meter ? [e.line, e.transformer, e.usagePoint] : [e.line, e.transformer];
  const columns = [...keys, 'start_epoch', 'state', 'detected_epoch'];
  const params: (number | string)[] = [...keyValues, e.start, e.state, e.detected];
  // An open outage's row has no end: it is not written as null (a tombstone), only left out.
  if (e.end !== null) {
    columns.push('end_epoch', 'duration_s');
    params.push(e.end, duration as number);
  }
  if (!meter) {
    columns.push('meters_out', 'meters');
    params.push(e.metersOut ?? 0, e.meters ?? 0);
  }
  const table = meter ? 'meter_outages' : 'transformer_outages';
  return {
    table,
    query: `INSERT INTO ${ks}.${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    params,
    publish: {
      subject: `extract.outage.${e.kind}.${where}`,
      body: {
        state: e.state,
        line: e.line,
        transformer: e.transformer,
        ...(meter && { usagepoint: e.usagePoint }),
        start: e.start,
        end: e.end,
        duration,
        detected: e.detected,
        ...(!meter && { meters_out: e.metersOut ?? 0, meters: e.meters ?? 0 }),
      },
    },
    msgId: `${e.kind}.${where}.${e.start}.${e.state}`,
  };
}
