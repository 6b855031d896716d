// The planner's arithmetic on fixed bench figures (tests/fixtures/bench-figures.json): cassandraCeiling
// 15,000 rows/s, pipeline 12,000 rows/s per ingest replica, streamDrain 40,000/s, injectorRate 150,000/s,
// natsPubSub 330,000 msg/s, 40 B per stored row, 140 B per JetStream message; everything planned at 70 %.
import { awsDiskBudget, planAws } from '../../planner/aws';
import { CapacityError, Fleet, planSizing, UTILISATION } from '../../planner/sizing';
import { fixture } from './support';

const GiB = 1024 ** 3;
const fleet = (change: Partial<Fleet> = {}): Fleet => ({
  meters: 2_000_000,
  intervalSeconds: 900,
  retentionDays: 30,
  replication: 3,
  peakFactor: 1,
  ...change,
});

test('the headroom is 70 % of every measured figure', () => {
  expect(UTILISATION).toBe(0.7);
});

test('2 M meters every 15 min for 30 days at replication 3', () => {
  const s = planSizing(fleet(), fixture(), awsDiskBudget());
  // 2,000,000 / 900 s = 2,222.2 readings/s.
  expect(s.readingsPerSecond.value).toBeCloseTo(2222.22, 1);
  // One injector takes 150,000 × 0.7 = 105,000, capped at the stack's injectRate limit of 100,000.
  expect(s.injectors.value).toBe(1);
  expect(s.injectRate.value).toBe(2223);
  // 2,222 / (12,000 × 0.7 = 8,400) → 1 ingest replica; 2,222 × 3 copies / 10,500 → 1 node, but 3 copies.
  expect(s.ingestReplicas.value).toBe(1);
  expect(s.cassandraNodes.value).toBe(3);
  // 2,222.2 rows/s × 86,400 × 30 d × 40 B × 3 copies / 3 nodes / 0.7 = 329.1 GB = 306.5 GiB per node.
  expect(s.cassandraDiskBytesPerNode.value / GiB).toBeCloseTo(306.5, 1);
  // 2,222.2 msg/s × 140 B × 86,400 s / 0.7 = 38.4 GB = 35.8 GiB.
  expect(s.jetstreamBytes.value / GiB).toBeCloseTo(35.76, 1);
  expect(s.natsNodes.value).toBe(3);
  expect(s.streamLoad.value).toBeCloseTo(2222.22 / 28_000, 4);
  for (const f of Object.values(s)) expect(f.basis).toMatch(/\S/);
  expect(s.ingestReplicas.basis).toBe('2,222 / 8,400 rows/s per replica (12,000 measured × 70 %)');
});

test('replication multiplies the writes and the disk; retention the disk only', () => {
  const figures = fixture();
  const one = planSizing(fleet({ meters: 10_000_000, replication: 1 }), figures);
  const three = planSizing(fleet({ meters: 10_000_000, replication: 3 }), figures);
  // 11,111 readings/s: RF 1 needs ceil(11,111 / 10,500) = 2 nodes, RF 3 ceil(33,333 / 10,500) = 4.
  expect(one.cassandraNodes.value).toBe(2);
  expect(three.cassandraNodes.value).toBe(4);
  const total = (s: typeof one) => s.cassandraDiskBytesPerNode.value * s.cassandraNodes.value;
  expect(total(three) / total(one)).toBeCloseTo(3, 6);
  const week = planSizing(fleet({ meters: 10_000_000, retentionDays: 7 }), figures);
  expect(total(three) / total(week)).toBeCloseTo(30 / 7, 6);
  expect(week.jetstreamBytes.value).toBe(three.jetstreamBytes.value);
});

test('the peak factor scales the rates, not the disk of the stored readings', () => {
  const flat = planSizing(fleet(), fixture());
  const peaky = planSizing(fleet({ peakFactor: 4 }), fixture());
  expect(peaky.readingsPerSecond.value).toBeCloseTo(4 * flat.readingsPerSecond.value, 6);
  expect(peaky.cassandraDiskBytesPerNode.value).toBe(flat.cassandraDiskBytesPerNode.value);
});

test('the disk can be what sets the Cassandra node count', () => {
  // 1 M meters for 365 days: 1,111 × 86,400 × 365 × 40 B × 3 / 0.7 = 5,488 GiB, over nodes of at most
  // 1024 − 20 − 17.9 (raw stream) = 986 GiB → 6 nodes, where the writes need 1.
  const s = planSizing(fleet({ meters: 1_000_000, retentionDays: 365 }), fixture(), awsDiskBudget());
  expect(s.cassandraNodes.value).toBe(6);
  expect(s.cassandraNodes.basis).toMatch(/6 for the disk/);
});

test('the aws cluster: one worker per member at least, cost at the stated prices', () => {
  const small = planAws(planSizing(fleet({ meters: 100_000, retentionDays: 7 }), fixture()));
  // The default cluster: 1 × t3.medium + 3 × t3.large + 4 × 30 GB gp3 + 4 IPv4 (README: $0.33/h).
  expect(small.managers.value).toBe(1);
  expect(small.workers.value).toBe(3);
  expect(small.rootVolumeGiB.value).toBe(30);
  expect(small.perHour.value).toBeCloseTo(0.0416 + 3 * 0.0832 + (4 * 30 * 0.08) / 730 + 4 * 0.005, 9);
  expect(small.perMonth.value).toBeCloseTo(small.perHour.value * 730, 9);
  const big = planAws(planSizing(fleet({ meters: 10_000_000, retentionDays: 7 }), fixture()));
  expect(big.workers.value).toBeGreaterThanOrEqual(4);
  expect(big.managers.value).toBe(3);
});

test('refused: a fleet beyond the one active stream job, with the limit named', () => {
  expect(() => planSizing(fleet({ meters: 10_000_000, intervalSeconds: 60 }), fixture())).toThrow(
    new CapacityError(
      '166,667 readings/s are more than the stream job takes: it runs one active replica, planned at ' +
        '28,000 readings/s (40,000 measured × 70 %), so the largest cluster carries about 1,680,000 meters ' +
        'at this interval',
    ),
  );
});

test('refused: more Cassandra nodes than the stack allows, naming the key', () => {
  const fast = fixture({ streamDrain: 1_000_000 });
  // 30 M meters: 33,333 readings/s × 3 / 10,500 = 10 nodes > 9.
  expect(() => planSizing(fleet({ meters: 30_000_000 }), fast)).toThrow(
    /needs 10 Cassandra nodes for 100,000 replica writes\/s .* at most 9 \(smartmeter:cassandraNodes\)/,
  );
  expect(() => planSizing(fleet({ meters: 5_000_000, retentionDays: 3650 }), fast, awsDiskBudget())).toThrow(
    /Cassandra nodes for [\d,]+ GiB of raw_data .*smartmeter:cassandraNodes/,
  );
});
