// A role's NATS settings: NATS_TLS_CA_FILE turns TLS on (the servers verified against that CA only);
// unset, the connection stays plain (the local stack, on 127.0.0.1).
import { EnvReader } from '../../src/lib/config';
import { natsConnectionOptions, natsSettings } from '../../src/lib/nats';

test('NATS_TLS_CA_FILE makes the connection TLS with that CA; without it, plain', () => {
  const env = { NATS_URL: 'nats://nats-0:4222,nats://nats-1:4222', NATS_USER: 'inject', NATS_PASSWORD: 'pw' };
  const tls = natsSettings(new EnvReader({ ...env, NATS_TLS_CA_FILE: '/etc/smartmeter/nats-ca.pem' }), 'x');
  expect(tls.tlsCaFile).toBe('/etc/smartmeter/nats-ca.pem');
  expect(natsConnectionOptions(tls).tls).toEqual({ caFile: '/etc/smartmeter/nats-ca.pem' });
  const plain = natsSettings(new EnvReader(env), 'x');
  expect(plain.tlsCaFile).toBeUndefined();
  expect(natsConnectionOptions(plain).tls).toBeUndefined();
});
