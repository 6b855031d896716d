// NATS subjects, kept from the original system so that its clients can read what this one publishes.

/**
 * Forecast horizon in cycles (the original's PREDICTION_LENGTH): a forecast names the temperature this many
 * cycles ahead, a prediction the max voltage of that cycle. Part of the wire: both subjects end with it.
 */
export const FORECAST_CYCLES = 12;

export const SUBJECTS = {
  /** Captured by the JetStream stream: every raw reading. */
  raw: 'smartmeter.raw.>',
  voltagePrefix: 'smartmeter.raw.voltage.data',
  voltage: 'smartmeter.raw.voltage.data.>',
  temperature: 'smartmeter.raw.temperature.data',
  forecast: `smartmeter.raw.temperature.forecast.${FORECAST_CYCLES}`,
  /**
   * An injector's last message when it stops (SIGTERM, scale-down, end of a bounded run): JSON naming its
   * meters, so the stream job does not take their silence for an outage. In the raw stream, after the
   * injector's last readings (codec.ts, streaming/outages.ts).
   */
  retire: 'smartmeter.raw.control.retire',
  maxVoltage: 'smartmeter.extract.voltage.max',
  maxTemperature: 'smartmeter.extract.temperature.max',
  alert: 'smartmeter.extract.voltage.alert',
  prediction: `smartmeter.extract.voltage.prediction.${FORECAST_CYCLES}`,
  /** `<prefix>.meter.<line>.<transformer>.<usagepoint>` and `<prefix>.transformer.<line>.<transformer>`, JSON. */
  outagePrefix: 'smartmeter.extract.outage',
  predict: 'smartmeter.predict',
  modelUpdated: 'smartmeter.model.updated',
} as const;

/** One of SUBJECTS with its first token, `smartmeter`, replaced by `root` (tests and benches use their own). */
export function underRoot(root: string, subject: string): string {
  return root + subject.slice(subject.indexOf('.'));
}
