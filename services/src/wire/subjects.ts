// NATS subjects, kept from the original system so that its clients can read what this one publishes.
export const SUBJECTS = {
  /** Captured by the JetStream stream: every raw reading. */
  raw: 'smartmeter.raw.>',
  voltagePrefix: 'smartmeter.raw.voltage.data',
  voltage: 'smartmeter.raw.voltage.data.>',
  temperature: 'smartmeter.raw.temperature.data',
  forecast: 'smartmeter.raw.temperature.forecast.12',
  maxVoltage: 'smartmeter.extract.voltage.max',
  maxTemperature: 'smartmeter.extract.temperature.max',
  alert: 'smartmeter.extract.voltage.alert',
  prediction: 'smartmeter.extract.voltage.prediction.12',
  predict: 'smartmeter.predict',
  modelUpdated: 'smartmeter.model.updated',
  /** A bad message goes to `smartmeter.deadletter.<reason>` with its original bytes. */
  deadLetterPrefix: 'smartmeter.deadletter',
} as const;

export function deadLetterSubject(reason: string): string {
  return `${SUBJECTS.deadLetterPrefix}.${reason}`;
}
