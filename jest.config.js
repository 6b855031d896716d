// Two projects: `unit` (no backing services) and `integration` (*.int.test.ts: real NATS,
// Cassandra and Prometheus from scripts/backing-services.sh). `npm test` runs both.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

/** @type {import('jest').Config} */
module.exports = {
  // Every test file runs in a fresh worker process (0: replace it after each file). In band, what jest
  // picks on 2 cores without this option, the one process kept what each file left behind (the Pulumi
  // suites most) until the OOM killer ended a CI run at 22 GiB (2026-12-02); a byte limit does not help,
  // as jest compares it with the heap, and what grew was outside it (3 GB resident, never recycled at 2GB).
  workerIdleMemoryLimit: 0,
  // The replacement comes after the last file too: jest-worker kills the child that ran it and starts a
  // fresh one, and that fresh child (which runs no test) is the one told to end. It ends once it has
  // loaded jest's test worker, 60-170 ms on an idle machine and over jest's default 500 ms on a loaded one
  // (2 cores shared), which jest then reports as "A worker process has failed to exit gracefully" though
  // no test left anything behind (--detectOpenHandles finds nothing): give it the time to load.
  workerGracefulExitTimeout: 10_000,
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
