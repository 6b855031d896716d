// The AWS stack's keys: defaults, and errors that name the key and what is allowed.
import { ConfigError } from '../../components/config';
import { AWS_DEFAULTS, checkAllowedCidr, loadAwsConfig } from '../../components/platforms/aws/config';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk1dW1teUtleUZvclRlc3RzT25seQ me@laptop';
const load = (values: Record<string, string>) =>
  loadAwsConfig((k) => ({ allowedCidr: '203.0.113.0/24', sshPublicKey: KEY, ...values })[k]);

test('defaults', () => {
  expect(load({})).toEqual({
    ...AWS_DEFAULTS,
    allowedCidr: '203.0.113.0/24',
    sshPublicKey: KEY,
    sshPrivateKeyPath: undefined,
  });
});

test('managers is 1 or 3, workers and sizes are bounded integers', () => {
  expect(load({ managers: '3', workers: '5' })).toMatchObject({ managers: 3, workers: 5 });
  expect(() => load({ managers: '2' })).toThrow(/smartmeter:managers must be one of 1, 3, got "2"/);
  expect(() => load({ workers: '0' })).toThrow(
    /smartmeter:workers must be an integer >= 1 and <= 50, got "0"/,
  );
  expect(() => load({ rootVolumeGiB: '4' })).toThrow(/smartmeter:rootVolumeGiB/);
  expect(() => load({ availabilityZones: '1' })).toThrow(
    /smartmeter:availabilityZones must be an integer >= 2/,
  );
});

test('three zones by default, up to 6; a zone holding a quorum is refused unless allowZoneQuorumLoss', () => {
  expect(load({})).toMatchObject({ availabilityZones: 3, allowZoneQuorumLoss: false });
  expect(load({ availabilityZones: '6', allowZoneQuorumLoss: 'true' })).toMatchObject({
    availabilityZones: 6,
    allowZoneQuorumLoss: true,
  });
  expect(() => load({ availabilityZones: '7' })).toThrow(
    'smartmeter:availabilityZones must be an integer >= 2 and <= 6, got "7"',
  );
  expect(() => load({ allowZoneQuorumLoss: 'yes' })).toThrow(
    'smartmeter:allowZoneQuorumLoss must be true or false, got "yes"',
  );
});

test.each([
  '0.0.0.0/0',
  '10.0.0.0/0',
  '::/0',
  '2001:db8::/32',
  '203.0.113.7',
  'anywhere',
  '300.1.1.1/32',
  '1.2.3.4/33',
])('allowedCidr %s is refused with a message naming the key', (cidr) => {
  expect(() => load({ allowedCidr: cidr })).toThrow(ConfigError);
  expect(() => load({ allowedCidr: cidr })).toThrow(/smartmeter:allowedCidr/);
});

test('allowedCidr is required: there is no default to the world', () => {
  expect(() => loadAwsConfig((k) => ({ sshPublicKey: KEY })[k])).toThrow(
    /smartmeter:allowedCidr is required/,
  );
  expect(checkAllowedCidr(' 198.51.100.7/32 ')).toBe('198.51.100.7/32');
});

test('sshPublicKey is required and must look like an OpenSSH public key', () => {
  expect(() => loadAwsConfig((k) => ({ allowedCidr: '203.0.113.0/24' })[k])).toThrow(
    /smartmeter:sshPublicKey is required/,
  );
  expect(() => load({ sshPublicKey: '-----BEGIN OPENSSH PRIVATE KEY-----' })).toThrow(
    /smartmeter:sshPublicKey must be an OpenSSH public key/,
  );
});

test('smartmeter:region is retired: a stack that still sets it is told to move it to aws:region', () => {
  for (const region of ['eu-west-3', 'us-east-1']) {
    expect(() => load({ region })).toThrow(
      `smartmeter:region is no longer read: the region is the AWS provider's own aws:region key, as in every ` +
        `Pulumi AWS program. Move it: pulumi config rm smartmeter:region && pulumi config set aws:region ${region}`,
    );
  }
});

test('instance types and the VPC range are checked', () => {
  expect(() => load({ workerInstanceType: 'big' })).toThrow(
    /smartmeter:workerInstanceType must be an EC2 instance type/,
  );
  expect(() => load({ vpcCidr: '10.0.0.0/8' })).toThrow(
    /smartmeter:vpcCidr must be an IPv4 CIDR of \/16 to \/24/,
  );
});
