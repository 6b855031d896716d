// 3. Model & predictions — the versioned over-voltage model: which version train produced and predict
// serves, its held-out metrics beside the lookup baseline and its max-voltage band beside the seasonal
// naive, training runs, and what predict makes of the temperature forecasts against the max voltage that
// actually followed.
import { built, dashboard, Dashboard, row, statPanel, timeSeries } from './panels';

const heldOut = (metric: string) => `max(${metric})`;

export function modelDashboard(): Dashboard {
  return built(
    dashboard(
      'smartmeter-model',
      'Smart meter: model & predictions',
      'The over-voltage model: versions, held-out metrics, training runs, and predictions against the max voltage.',
    )
      .withPanel(
        statPanel({
          title: 'Model served',
          description: 'Version predict serves (0: none yet).',
          unit: 'none',
          queries: [{ expr: 'max(smartmeter_model_version{role="predict"})' }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Model trained',
          description: 'Newest version train has accepted (0: none yet).',
          unit: 'none',
          queries: [{ expr: 'max(smartmeter_model_version{role="train"})' }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Held-out accuracy',
          unit: 'percentunit',
          decimals: 1,
          queries: [{ expr: heldOut('smartmeter_model_heldout_accuracy') }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Held-out precision (alerts)',
          unit: 'percentunit',
          decimals: 1,
          queries: [{ expr: heldOut('smartmeter_model_heldout_precision') }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Held-out recall (alerts)',
          unit: 'percentunit',
          decimals: 1,
          queries: [{ expr: heldOut('smartmeter_model_heldout_recall') }],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Baseline accuracy',
          description: 'The hour × weekday/weekend lookup the model has to beat.',
          unit: 'percentunit',
          decimals: 1,
          queries: [{ expr: heldOut('smartmeter_model_baseline_accuracy') }],
        }),
      )
      .withRow(row('Predictions'))
      .withPanel(
        timeSeries({
          title: 'Predicted probability against actual max voltage',
          description:
            'Over-voltage probability predicted for the latest temperature forecast, 12 steps ahead (right axis), and the max voltage the stream job measured (left).',
          unit: 'volt',
          width: 24,
          queries: [
            {
              expr: 'max(smartmeter_stream_max_voltage_volts and on (instance) smartmeter_stream_active == 1)',
              legend: 'actual max voltage',
            },
            {
              expr: 'max(smartmeter_predict_alert_probability)',
              legend: 'predicted over-voltage probability',
            },
          ],
          rightAxis: { queries: [1], unit: 'percentunit', max: 1 },
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Predicted max-voltage band against actual max voltage',
          description:
            'Quantiles 0.1, 0.5 and 0.9 of the max voltage predicted for the latest temperature forecast, 12 steps ahead, and the max voltage the stream job measured.',
          unit: 'volt',
          width: 24,
          queries: [
            {
              expr: 'max(smartmeter_stream_max_voltage_volts and on (instance) smartmeter_stream_active == 1)',
              legend: 'actual max voltage',
            },
            {
              expr: 'max by (quantile) (smartmeter_predict_max_voltage_volts)',
              legend: 'predicted quantile {{quantile}}',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Predictions per second',
          unit: 'short',
          queries: [
            {
              expr: 'sum by (source, outcome) (rate(smartmeter_predictions_total[1m]))',
              legend: '{{source}} {{outcome}}',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Request latency (smartmeter.predict)',
          unit: 's',
          queries: [
            {
              expr: 'histogram_quantile(0.5, sum by (le) (rate(smartmeter_predict_request_duration_seconds_bucket[5m])))',
              legend: 'p50',
            },
            {
              expr: 'histogram_quantile(0.99, sum by (le) (rate(smartmeter_predict_request_duration_seconds_bucket[5m])))',
              legend: 'p99',
            },
          ],
        }),
      )
      .withRow(row('Training'))
      .withPanel(
        timeSeries({
          title: 'Held-out metrics of the last trained model',
          unit: 'percentunit',
          min: 0,
          max: 1,
          queries: [
            { expr: heldOut('smartmeter_model_heldout_accuracy'), legend: 'accuracy' },
            { expr: heldOut('smartmeter_model_heldout_precision'), legend: 'precision' },
            { expr: heldOut('smartmeter_model_heldout_recall'), legend: 'recall' },
            { expr: heldOut('smartmeter_model_baseline_accuracy'), legend: 'baseline accuracy' },
            { expr: heldOut('smartmeter_model_majority_rate'), legend: 'majority class share' },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Max-voltage band of the last trained model (held-out)',
          description:
            'Pinball loss of the band and of the seasonal naive (the same time a week earlier; none until the held-out range is a week past the first row), and the share of held-out epochs inside the 0.1–0.9 band (right axis, goal 0.8).',
          unit: 'volt',
          queries: [
            { expr: heldOut('smartmeter_model_heldout_pinball_volts'), legend: 'band pinball loss' },
            {
              expr: heldOut('smartmeter_model_baseline_pinball_volts'),
              legend: 'seasonal-naive pinball loss',
            },
            { expr: heldOut('smartmeter_model_heldout_band_coverage'), legend: '0.1–0.9 band coverage' },
          ],
          rightAxis: { queries: [2], unit: 'percentunit', max: 1 },
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Training runs',
          description: 'accepted: a new model is served; rejected: not better than the current one.',
          unit: 'short',
          bars: true,
          queries: [
            {
              expr: 'sum by (outcome) (increase(smartmeter_training_runs_total[10m]))',
              legend: '{{outcome}}',
            },
          ],
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Training loss and rows',
          unit: 'short',
          queries: [
            { expr: 'max(smartmeter_training_loss)', legend: 'loss after the last epoch' },
            { expr: 'max(smartmeter_training_rows)', legend: 'rows available' },
          ],
          rightAxis: { queries: [1], unit: 'short' },
        }),
      )
      .withPanel(
        timeSeries({
          title: 'Model loads and training duration',
          unit: 'short',
          queries: [
            {
              expr: 'sum by (outcome) (increase(smartmeter_model_reloads_total[10m]))',
              legend: 'model loads {{outcome}}',
            },
            {
              expr: 'histogram_quantile(0.95, sum by (le) (rate(smartmeter_training_duration_seconds_bucket[30m])))',
              legend: 'training duration p95',
            },
          ],
          rightAxis: { queries: [1], unit: 's' },
        }),
      ),
  );
}
