// End-to-end tests on a real Docker engine (tests/e2e/*.e2e.ts): `npm run test:e2e`, never part of `npm test`.
// They need `scripts/docker-engine.sh up` and `scripts/build-images.sh` first (.ci/run does both).
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };

/** @type {import('jest').Config} */
module.exports = {
  displayName: 'e2e',
  testEnvironment: 'node',
  transform,
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/tests/e2e/**/*.e2e.ts'],
  // One stack at a time on the engine; the suites are slow by nature.
  maxWorkers: 1,
  slowTestThreshold: 600,
};
