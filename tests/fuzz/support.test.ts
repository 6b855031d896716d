import fc from 'fast-check';
import { fuzz, fuzzBudget } from './support';

const quick = { seed: 7, seconds: 0.5 };

test('a property that holds passes and says how many inputs it tried', async () => {
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await fuzz(
      'holds',
      fc.property(fc.integer(), (n) => n + 0 === n),
      { budget: quick, maxRuns: 500 },
    );
    expect(String(out.mock.calls[0][0])).toMatch(/^fuzz holds: 500 inputs tried .*seed 7.*0 failures/);
  } finally {
    out.mockRestore();
  }
});

test('a property one input breaks fails with that input, shrunk, and the seed that replays it', async () => {
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const run = fuzz(
      'breaks',
      fc.property(fc.integer({ min: 0, max: 10_000 }), (n) => n < 1000),
      { budget: quick },
    );
    await expect(run).rejects.toThrow(/seed: 7[\s\S]*Counterexample: \[1000\]/);
  } finally {
    out.mockRestore();
  }
});

test('async properties run too, and the budget is read from FUZZ_SEED and FUZZ_SECONDS', async () => {
  expect(fuzzBudget({ FUZZ_SEED: '42', FUZZ_SECONDS: '3' })).toEqual({ seed: 42, seconds: 3 });
  expect(() => fuzzBudget({ FUZZ_SEED: 'x' })).toThrow(/FUZZ_SEED must be an integer/);
  expect(() => fuzzBudget({ FUZZ_SECONDS: '0' })).toThrow(/FUZZ_SECONDS must be in/);
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const run = fuzz(
      'async',
      fc.asyncProperty(fc.string(), async (s) => s.length < 3),
      { budget: quick },
    );
    await expect(run).rejects.toThrow(/Counterexample/);
  } finally {
    out.mockRestore();
  }
});
