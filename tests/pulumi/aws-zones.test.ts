// One availability zone must not take a quorum: where the aws stack's NATS and Cassandra members land
// (worker slot s in zone s mod availabilityZones, member k on slot k mod workers), the layouts it refuses
// before declaring anything, the opt-in (smartmeter:allowZoneQuorumLoss) and single members.
import { loadConfig, TIERS, type TierName } from '../../components/config';
import { AwsPlatform } from '../../components/platforms/aws';
import { AWS_DEFAULTS } from '../../components/platforms/aws/config';
import { assertValidSpec } from '../../components/spec';
import {
  cassandraReplicasInOneZone,
  checkZoneLayout,
  membersPerZone,
  zoneQuorumLosses,
} from '../../components/platforms/aws/zones';
import {
  AwsProgramRun,
  installAwsMocks,
  ofType,
  runAwsProgram,
  settle,
  stackFileConfig,
  TEST_SSH_KEY,
  zoneOfService,
} from './aws-mocks';

const quorums = (
  natsNodes: number,
  cassandraNodes: number,
  rf: number,
  tiers: readonly TierName[] = TIERS,
) => ({
  tiers: new Set(tiers),
  natsNodes,
  cassandraNodes,
  cassandraReplicationFactor: rf,
});
const layout = (workers: number, availabilityZones: number, allowZoneQuorumLoss = false) => ({
  workers,
  availabilityZones,
  allowZoneQuorumLoss,
});

/** The rack a Cassandra member's swarm service gives GossipingPropertyFileSnitch. */
const rackOf = (run: AwsProgramRun, member: number) => {
  const service = run.resources.find((r) => r.name === `cassandra-${member}`);
  const task = service?.inputs.taskSpec as { containerSpec: { env: Record<string, string> } };
  return task.containerSpec.env.CASSANDRA_RACK;
};

describe('the rule', () => {
  test('the default cluster puts one member of each tier in each of three zones', () => {
    expect(AWS_DEFAULTS).toMatchObject({ workers: 3, availabilityZones: 3, allowZoneQuorumLoss: false });
    expect(membersPerZone(3, layout(3, 3))).toEqual([1, 1, 1]);
    expect(checkZoneLayout(quorums(3, 3, 3), layout(3, 3))).toBeUndefined();
  });

  test('two zones: one of them holds 2 of 3 NATS members and 2 of 3 replicas', () => {
    expect(membersPerZone(3, layout(3, 2))).toEqual([2, 1]);
    expect(zoneQuorumLosses(quorums(3, 3, 3), layout(3, 2))).toEqual([
      expect.objectContaining({ members: 'NATS members', size: 3, inOneZone: 2 }),
      expect.objectContaining({ members: 'replicas of a Cassandra partition', size: 3, inOneZone: 2 }),
    ]);
  });

  test('fewer workers than zones: members land only in the workers’ zones', () => {
    // Workers 0 and 1 are in zones 0 and 1; member 2 goes back to worker 0.
    expect(membersPerZone(3, layout(2, 3))).toEqual([2, 1, 0]);
    expect(zoneQuorumLosses(quorums(3, 3, 3), layout(2, 3)).map((l) => l.inOneZone)).toEqual([2, 2]);
    // One worker per zone is enough, whatever else there is.
    expect(zoneQuorumLosses(quorums(3, 3, 3), layout(4, 3))).toEqual([]);
  });

  test('an even group loses its quorum when a zone holds half of it', () => {
    // 4 NATS members in 3 zones: 2, 1, 1; losing the 2 leaves 2, short of the quorum of 3.
    expect(zoneQuorumLosses(quorums(4, 1, 1), layout(4, 3))).toEqual([
      expect.objectContaining({ members: 'NATS members', size: 4, inOneZone: 2 }),
    ]);
    expect(zoneQuorumLosses(quorums(4, 1, 1), layout(4, 4))).toEqual([]);
    expect(zoneQuorumLosses(quorums(5, 1, 1), layout(5, 3))).toEqual([]); // 2, 2, 1: 3 of 5 left
  });

  test('Cassandra: racks = zones, the worst token order over the zones the members use', () => {
    // Fewer racks than replicas: after one replica per rack, the rest may all come from one rack.
    expect(cassandraReplicasInOneZone(3, 3, layout(3, 3))).toBe(1);
    expect(cassandraReplicasInOneZone(3, 3, layout(3, 2))).toBe(2);
    expect(cassandraReplicasInOneZone(7, 5, layout(7, 3))).toBe(3); // 3, 2, 2 nodes: 3 of 5 possible
    expect(cassandraReplicasInOneZone(6, 5, layout(6, 3))).toBe(2); // 2, 2, 2 nodes: at most 2 of 5
    expect(zoneQuorumLosses(quorums(3, 7, 5), layout(7, 3))).toEqual([
      expect.objectContaining({ size: 5, inOneZone: 3 }),
    ]);
    expect(zoneQuorumLosses(quorums(3, 6, 5), layout(6, 3))).toEqual([]);
    // Four replicas in three racks: a zone holds 2, leaving 2 of 4, short of the quorum of 3.
    expect(zoneQuorumLosses(quorums(3, 4, 4), layout(4, 3))).toHaveLength(1);
    expect(zoneQuorumLosses(quorums(3, 4, 4), layout(4, 4))).toEqual([]);
    // More nodes than the replication factor: the zones the nodes use are what counts.
    expect(zoneQuorumLosses(quorums(3, 6, 3), layout(6, 3))).toEqual([]);
    expect(zoneQuorumLosses(quorums(3, 6, 3), layout(6, 2))).toHaveLength(2);
  });

  test('a single member, or two, is not refused: it can lose none wherever it runs', () => {
    for (const zones of [2, 3]) {
      expect(checkZoneLayout(quorums(1, 1, 1), layout(1, zones))).toBeUndefined();
      expect(checkZoneLayout(quorums(2, 2, 2), layout(1, zones))).toBeUndefined();
      expect(checkZoneLayout(quorums(1, 3, 1), layout(3, zones))).toBeUndefined();
    }
  });

  test('only the tiers that run are checked', () => {
    expect(zoneQuorumLosses(quorums(3, 3, 3, ['messaging']), layout(3, 2)).map((l) => l.members)).toEqual([
      'NATS members',
    ]);
    expect(zoneQuorumLosses(quorums(3, 3, 3, ['metrics']), layout(3, 2))).toEqual([]);
  });

  test('a tier asks for a member’s zone only where members stay put: on a service with volumes', () => {
    const cassandra = {
      name: 'cassandra',
      image: { kind: 'external', name: 'cassandra:5.0' },
      env: { CASSANDRA_RACK: { replicaZone: { singleZone: 'rack1' } } },
    } as const;
    expect(() => assertValidSpec(cassandra)).toThrow(
      'service "cassandra": env CASSANDRA_RACK: a replica zone needs volumes',
    );
    expect(() => assertValidSpec({ ...cassandra, volumes: [{ name: 'data', path: '/data' }] })).not.toThrow();
  });

  test('the refusal names the keys, what a zone may hold, a layout that passes and the opt-in', () => {
    expect(() => checkZoneLayout(quorums(3, 3, 3), layout(3, 2))).toThrow(
      "smartmeter:availabilityZones 2 with smartmeter:workers 3 lets one zone's loss stop a quorum: a zone " +
        'holds 2 of the 3 NATS members (smartmeter:natsNodes 3; a quorum is 2), and 2 of the 3 replicas of a ' +
        'Cassandra partition (smartmeter:cassandraReplicationFactor 3 on smartmeter:cassandraNodes 3; a quorum ' +
        'is 2). Allowed: a layout where no zone holds more than 1 of the 3 NATS members and 1 of the 3 replicas ' +
        'of a Cassandra partition, such as smartmeter:availabilityZones 3; or smartmeter:allowZoneQuorumLoss ' +
        'true to accept losing the quorum with a zone',
    );
    expect(() => checkZoneLayout(quorums(3, 3, 3), layout(2, 3))).toThrow(
      /^smartmeter:availabilityZones 3 with smartmeter:workers 2 .*, such as smartmeter:workers 3; or smartmeter:allowZoneQuorumLoss true/,
    );
    expect(checkZoneLayout(quorums(3, 3, 3), layout(3, 2, true))).toMatch(
      /a zone holds 2 of the 3 NATS members .* \(accepted: smartmeter:allowZoneQuorumLoss is true\)$/,
    );
  });
});

describe('the aws stack', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());
  const zoneWarnings = () =>
    warn.mock.calls.map((c) => String(c[0])).filter((m) => /allowZoneQuorumLoss/.test(m));

  test.each([
    [
      { availabilityZones: '2' },
      /^smartmeter:availabilityZones 2 with smartmeter:workers 3 .*smartmeter:natsNodes 3/,
    ],
    [
      { workers: '2' },
      /^smartmeter:availabilityZones 3 with smartmeter:workers 2 .*such as smartmeter:workers 3/,
    ],
    [
      { cassandraNodes: '4', cassandraReplicationFactor: '4', workers: '4' },
      /2 of the 4 replicas of a Cassandra partition .*such as smartmeter:availabilityZones 4/,
    ],
  ])(
    '%j is refused, naming the keys',
    async (config, message) => {
      await expect(runAwsProgram(config)).rejects.toThrow(message);
    },
    60_000,
  );

  test('the refusal comes before any resource is declared', async () => {
    const recorded = await installAwsMocks();
    const settings: Record<string, string> = stackFileConfig('Pulumi.aws.yaml');
    const config = loadConfig((k) => settings[k]);
    const aws = {
      ...AWS_DEFAULTS,
      allowedCidr: '203.0.113.7/32',
      sshPublicKey: TEST_SSH_KEY,
      availabilityZones: 2,
    };
    expect(() => new AwsPlatform('aws', { config, aws })).toThrow(/smartmeter:availabilityZones 2/);
    await settle();
    expect(recorded.map((r) => r.type)).toEqual(['smartmeter:platform:Aws']);
  });

  test('allowZoneQuorumLoss lets such a layout through, with a warning, as it is', async () => {
    const run = await runAwsProgram({ availabilityZones: '2', allowZoneQuorumLoss: 'true' });
    expect(zoneWarnings()).toEqual([
      expect.stringMatching(
        /smartmeter:availabilityZones 2 with smartmeter:workers 3 lets one zone's loss stop/,
      ),
    ]);
    expect(ofType(run.resources, 'aws:ec2/subnet:Subnet')).toHaveLength(2);
    for (const name of ['nats', 'cassandra']) {
      const zones = [0, 1, 2].map((k) => zoneOfService(run.resources, `${name}-${k}`));
      expect(zones).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1a']);
    }
    expect([0, 1, 2].map((k) => rackOf(run, k))).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1a']);
  }, 60_000);

  test('a single member of each runs in any zone, without refusal or warning', async () => {
    const run = await runAwsProgram({
      natsNodes: '1',
      cassandraNodes: '1',
      cassandraReplicationFactor: '1',
      workers: '1',
      availabilityZones: '2',
    });
    expect(zoneWarnings()).toEqual([]);
    expect(zoneOfService(run.resources, 'nats-0')).toBe('us-east-1a');
    expect(zoneOfService(run.resources, 'cassandra-0')).toBe('us-east-1a');
    expect(rackOf(run, 0)).toBe('us-east-1a');
  }, 60_000);
});
