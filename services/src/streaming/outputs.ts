// What a window becomes: one Cassandra row keyed by the window (so writing it again, after a late reading
// or a replay, overwrites the same row) and, for some kinds, a JSON extract on NATS in the original's shape;
// an outage change likewise (its row keyed by the outage: meter or transformer and start).
import { OutageEvent } from './outages';
import { Window, WindowKind } from './windows';

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

export const TABLE_OF: Record<WindowKind, string> = {
  max_voltage: 'max_voltage',
  max_voltage_by_line: 'max_voltage_by_line',
  temperature: 'temperature',
  avg_voltage: 'avg_voltage_by_transformer',
  alert: 'voltage_alerts',
};

export function outputOf(ks: string, w: Window, alertThresholdV: number): Output {
  switch (w.kind) {
    case 'max_voltage':
      return {
        table: 'max_voltage',
        query: `INSERT INTO ${ks}.max_voltage (epoch, voltage) VALUES (?, ?)`,
        params: [w.start, w.max],
        publish: { subject: 'extract.voltage.max', body: { epoch: w.start, voltage: w.max } },
      };
    case 'max_voltage_by_line':
      return {
        table: 'max_voltage_by_line',
        query: `INSERT INTO ${ks}.max_voltage_by_line (line, epoch, voltage) VALUES (?, ?, ?)`,
        params: [w.line, w.start, w.max],
      };
    case 'temperature':
      return {
        table: 'temperature',
        query: `INSERT INTO ${ks}.temperature (epoch, temperature) VALUES (?, ?)`,
        params: [w.start, w.max],
        publish: { subject: 'extract.temperature.max', body: { epoch: w.start, temperature: w.max } },
      };
    case 'avg_voltage': {
      const day = new Date(w.start * 1000);
      return {
        table: 'avg_voltage_by_transformer',
        query:
          `INSERT INTO ${ks}.avg_voltage_by_transformer ` +
          '(line, transformer, year, month, day, voltage_avg, readings) VALUES (?, ?, ?, ?, ?, ?, ?)',
        params: [
          w.line,
          w.transformer,
          day.getUTCFullYear(),
          day.getUTCMonth() + 1,
          day.getUTCDate(),
          w.sum / w.count,
          w.count,
        ],
      };
    }
    case 'alert':
      return {
        table: 'voltage_alerts',
        query:
          `INSERT INTO ${ks}.voltage_alerts ` +
          '(line, transformer, window_start, window_end, readings_over, max_voltage, threshold) VALUES (?, ?, ?, ?, ?, ?, ?)',
        params: [w.line, w.transformer, w.start, w.end, w.over, w.max, alertThresholdV],
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

/** An outage change: its row (the outage's latest state, keyed by the outage) and its JSON event. */
export interface OutageOutput extends Row {
  publish: { subject: string; body: Record<string, number | string | null> };
  /** Nats-Msg-Id: the same change always has the same id, so the outage stream drops a replayed one. */
  msgId: string;
}

export function outageOutput(ks: string, e: OutageEvent): OutageOutput {
  const meter = e.kind === 'meter';
  const where = meter ? `${e.line}.${e.transformer}.${e.usagePoint}` : `${e.line}.${e.transformer}`;
  const duration = e.end === null ? null : e.end - e.start;
  const keys = meter ? ['line', 'transformer', 'usagepoint'] : ['line', 'transformer'];
  const keyValues = meter ? [e.line, e.transformer, e.usagePoint] : [e.line, e.transformer];
  const columns = [...keys, 'start_epoch', 'state', 'detected_epoch'];
  const params: (number | string)[] = [...keyValues, e.start, e.state, e.detected];
  // An open outage's row has no end: it is not written as null (a tombstone), only left out.
  if (e.end !== null) {
    columns.push('end_epoch', 'duration_s');
    params.push(e.end, e.end - e.start);
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
