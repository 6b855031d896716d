// Two projects: `unit` (no backing services) and `integration` (*.int.test.ts: real NATS,
// Cassandra and Prometheus from scripts/backing-services.sh). `npm test` runs both.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{tests,services/test,components,dashboards}/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.int\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{tests,services/test}/**/*.int.test.ts'],
      slowTestThreshold: 60,
      // Hooks as well as tests: dropping a keyspace is a schema change that a Cassandra busy with other
      // suites can take over jest's default 5 s to agree on (CI run of 2026-12-02, an afterAll hook).
      testTimeout: 60_000,
    },
  ],
};
