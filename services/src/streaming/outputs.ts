// What a window becomes: one Cassandra row keyed by the window (so writing it again, after a late reading
// or a replay, overwrites the same row) and, for some kinds, a JSON extract on NATS in the original's shape.
import { Window, WindowKind } from './windows';

export interface Output {
  table: string;
  query: string;
  params: (number | string)[];
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
