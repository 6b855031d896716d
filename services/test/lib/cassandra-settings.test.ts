import { Client, ClientOptions, policies } from 'cassandra-driver';
import { EnvReader } from '../../src/lib/config';
import { cassandraSettings, createCassandraClient } from '../../src/lib/cassandra';

const settings = (vars: Record<string, string>) => cassandraSettings(new EnvReader(vars));
// A client is built without connecting; the options it keeps (public, if untyped) show how it will route.
const routing = (vars: Record<string, string>) =>
  (createCassandraClient(settings(vars)) as Client & { options: ClientOptions }).options.policies
    ?.loadBalancing;

test('routes by token unless told every node is a replica (CASSANDRA_TOKEN_AWARE)', () => {
  expect(routing({})).toBeInstanceOf(policies.loadBalancing.TokenAwarePolicy);
  expect(routing({ CASSANDRA_TOKEN_AWARE: 'true' })).toBeInstanceOf(policies.loadBalancing.TokenAwarePolicy);
  const plain = routing({ CASSANDRA_TOKEN_AWARE: 'false', CASSANDRA_LOCAL_DC: 'dc2' });
  expect(plain).toBeInstanceOf(policies.loadBalancing.DCAwareRoundRobinPolicy);
  expect(plain).not.toBeInstanceOf(policies.loadBalancing.TokenAwarePolicy);
  expect(() => settings({ CASSANDRA_TOKEN_AWARE: 'sometimes' })).toThrow(
    /CASSANDRA_TOKEN_AWARE must be true or false, got "sometimes"/,
  );
});
