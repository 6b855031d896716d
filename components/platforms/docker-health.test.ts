import { dockerHealthcheck, goDuration, swarmDuration } from './docker-health';

describe('durations in the form the engine reports them', () => {
  test.each([
    [0, '0s'],
    [5, '5s'],
    [59, '59s'],
    [60, '1m0s'],
    [90, '1m30s'],
    [120, '2m0s'],
    [3600, '1h0m0s'],
    [3725, '1h2m5s'],
  ])('container (Go time.Duration.String): %i s → %s', (seconds, form) => {
    expect(goDuration(seconds)).toBe(form);
  });

  test.each([
    [0, '0s'],
    [10, '10s'],
    [120, '2m'],
    [90, '1m30s'],
    [3600, '1h'],
    [3660, '1h1m'],
    [3725, '1h2m5s'],
  ])('swarm service (the provider shortens Go form): %i s → %s', (seconds, form) => {
    expect(swarmDuration(seconds)).toBe(form);
  });

  test('a fraction or a negative is refused, naming the value', () => {
    expect(() => goDuration(1.5)).toThrow(/1.5/);
    expect(() => goDuration(-1)).toThrow(/-1/);
  });

  test('a health check declares its durations in the form of the resource it is on', () => {
    const h = {
      command: ['true'],
      intervalSeconds: 10,
      timeoutSeconds: 5,
      retries: 3,
      startPeriodSeconds: 120,
    };
    expect(dockerHealthcheck(h)).toEqual({
      tests: ['CMD', 'true'],
      interval: '10s',
      timeout: '5s',
      retries: 3,
      startPeriod: '2m0s',
    });
    expect(dockerHealthcheck(h, 'service').startPeriod).toBe('2m');
  });
});
