// The program–services contract: every container and Swarm service the program declares, on both stacks
// with every optional feature on, is started (its settings parsed, nothing connected) by its role's own
// parser, which must accept its environment; every variable the program sets must be one the role reads,
// and every variable the role reads must be declared for it (services/src/contract/variables.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { VARIABLES } from '../../services/src/contract/variables';
import { renderAws, renderLocal, Rendered } from './render';
import { startProblems } from './start';

const household = () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartmeter-replay-'));
  const file = join(dir, 'household.txt');
  writeFileSync(file, 'Date;Time;Global_active_power;Global_reactive_power;Voltage\n');
  return file;
};

/** Every optional feature of the program on (the replay is its own run: it replaces the simulator). */
const FEATURES = {
  injectors: '3',
  ingestReplicas: '2',
  cassandraNodes: '4',
  cassandraReplicationFactor: '3',
  injectOutageRate: '2',
  injectTransformerOutageRate: '1',
  injectOutageMinutes: '60',
  outageIntervals: '4',
  transformerOutageShare: '0.75',
  durability: 'relaxed',
  logLevel: 'debug',
  alertThreshold: '118',
  rawRetentionDays: '30',
  aggregateRetentionDays: '90',
  rawStreamMaxAge: '6h',
  rawStreamMaxBytes: '2GiB',
  rawStreamDuplicateWindow: '5m',
  injectBufferReadings: '5000',
  injectSeed: '7',
  injectRate: '80',
};

const replay = () => ({
  replayFiles: `${household()},${household()}`,
  replayMetersPerHousehold: '2',
  replayRecordedNominalVoltage: '240',
  replayNominalVoltage: '110',
  simulationStart: '2006-12-16T17:24:00Z',
});

const ledger = () => ({ injectLedgerDir: mkdtempSync(join(tmpdir(), 'smartmeter-ledger-')) });

describe('every container and Swarm service the program declares starts with its role’s own parser', () => {
  const runs: [string, () => Promise<Rendered[]>][] = [
    ['local, simulated', () => renderLocal({ ...FEATURES, ...ledger(), natsNodes: '3' })],
    ['local, replayed', () => renderLocal({ ...FEATURES, ...ledger(), ...replay() })],
    ['aws, simulated', () => renderAws({ ...FEATURES, ...ledger() })],
    ['aws, replayed', () => renderAws({ ...FEATURES, ...ledger(), ...replay() })],
  ];

  test.each(runs)('%s', async (_name, render) => {
    const rendered = await render();
    const roles = rendered.filter((r) => r.role);
    // Each role runs somewhere; the rest are third-party images (NATS, Cassandra, Prometheus, Grafana …).
    expect(new Set(roles.map((r) => r.role))).toEqual(
      new Set(['migrate', 'inject', 'ingest', 'stream', 'train', 'predict']),
    );
    expect(roles.flatMap(startProblems)).toEqual([]);
  });
});

describe('the declaration', () => {
  test('every default is within its own limits and every limit is a number', () => {
    for (const [name, v] of Object.entries(VARIABLES)) {
      if (v.kind !== 'integer' && v.kind !== 'number') continue;
      const d = 'default' in v ? v.default : undefined;
      if (d === undefined) continue;
      if ('min' in v && v.min !== undefined) expect([name, d >= v.min]).toEqual([name, true]);
      if ('max' in v && v.max !== undefined) expect([name, d <= v.max]).toEqual([name, true]);
    }
  });
});
