// predict's requests are bounded as the readings it is fed (wire/bounds.ts): a temperature and epoch a
// request may carry are exactly those a forecast message may carry.
import { parsePredictRequest } from '../../src/training/predictor';
import { decodeTemperature, encodeTemperature } from '../../src/wire/codec';

const accepted = (fn: () => unknown) => {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
};

test.each([
  [1_700_000_000, -100.5],
  [1_700_000_000, -100],
  [1_700_000_000, 21.5],
  [1_700_000_000, 100],
  [1_700_000_000, 100.5],
  [1_700_000_000, 3.4e38],
  [0, 10],
  [253_402_300_799, 10],
  [253_402_300_800, 10],
])('epoch %d, %d °C: a request is accepted exactly when a forecast is', (epoch, temperature) => {
  const request = () => parsePredictRequest(new TextEncoder().encode(JSON.stringify({ epoch, temperature })));
  const forecast = () => decodeTemperature(encodeTemperature({ epoch, temperature }));
  expect(accepted(request)).toBe(accepted(forecast));
});
