// What client-to-node TLS costs Cassandra's inserts: one node of our own (a container of the image
// scripts/build-images.sh builds, on a free loopback port; the backing node is not touched) with client
// encryption `optional: true`, which accepts plaintext and TLS clients on one port, so the same raw insert
// loop as (b) (ceiling.ts: executeConcurrent, bind values prepared beforehand) runs against the same node
// with a plaintext client and with a TLS client that shows a client certificate (the aws stack's
// settings: services/src/lib/cassandra.ts), alternating plain, tls, plain, tls, … so a change in the
// machine's load moves both. The options are the stack's (components/tiers/storage.ts
// cassandraEncryptionYaml) but `optional: true` and no internode encryption: one node has no peer, so
// node-to-node TLS is not measured here. Certificates: a CA, node and client (harness/certificates.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';

import type { CassandraTls } from '../../src/lib/cassandra';
import { testAuthority } from '../../harness/certificates';
import { startTlsCassandra, TlsCassandraNode } from '../../harness/tls-cassandra';
import type { Simulator } from '../../src/simulator';
import { keyspaceStatement, rawDataStatement } from '../../src/storage/schema';
import { RUN_ID } from '../settings';
import { fmt, fmtSpread, spread } from '../stats';
import { ceilingParams, ceilingRun } from './ceiling';
import type { Spread } from '../figures';

export interface TlsCost {
  plain: Spread;
  tls: Spread;
  /** Each TLS run over the plaintext run just before it. */
  ratio: Spread;
}

/** The node's encryption options: the stack's client options, but plaintext clients accepted too. */
const ENCRYPTION_YAML = `client_encryption_options:
  enabled: true
  optional: true
  require_client_auth: true
  ssl_context_factory:
    class_name: org.apache.cassandra.security.PEMBasedSslContextFactory
  keystore: /tls/node.pem
  truststore: /tls/ca.crt
`;

/** A CA, the node's key and certificate as one PEM file (`node.pem`), and the client's TLS settings. */
function certificates(dir: string): CassandraTls {
  const authority = testAuthority(dir, 'bench CA');
  const node = authority.issue('node', 'bench node', { uses: ['server', 'client'] });
  const client = authority.issue('client', 'bench client', { uses: ['client'] });
  writeFileSync(join(dir, 'node.pem'), `${node.key.trimEnd()}\n${node.cert}`);
  return { ca: authority.caPem, cert: client.cert, key: client.key };
}

/**
 * `rounds` pairs of (plaintext, TLS) raw insert runs of `rows` rows each at concurrency `level`, into one
 * keyspace (RF 1) on our own node; returns rows/s of each and the TLS/plain ratio per pair.
 */
export async function cassandraTlsCost(
  sim: Simulator,
  rows: number,
  level: number,
  rounds: number,
): Promise<TlsCost> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-casstls-'));
  const clients: Client[] = [];
  let node: TlsCassandraNode | undefined;
  try {
    const tls = certificates(dir);
    writeFileSync(join(dir, 'encryption.yaml'), ENCRYPTION_YAML);
    node = startTlsCassandra({
      name: `smartmeter-bench-casstls-${RUN_ID}`,
      dir,
      heap: '1G',
      image: process.env.BENCH_CASSANDRA_IMAGE,
      configure: `sed -i '$r /tls/encryption.yaml' "$CASSANDRA_CONF/cassandra.yaml" && `,
    });
    const plain = await node.connected(undefined, 300_000);
    clients.push(plain);
    const secure = await node.connected(tls, 300_000);
    clients.push(secure);
    const keyspace = `bench_tls_${RUN_ID}`;
    await plain.execute(keyspaceStatement(keyspace, 'datacenter1', 1));
    await plain.execute(rawDataStatement(keyspace));
    // Warm both clients and the node's JIT (not counted).
    let minute = 0;
    const batch = () => {
      const params = ceilingParams(sim, rows, minute);
      minute += Math.ceil(rows / sim.meters.length);
      return params;
    };
    for (const client of [plain, secure]) await ceilingRun(client, keyspace, batch(), level, undefined);
    const runs = { plain: [] as number[], tls: [] as number[], ratio: [] as number[] };
    for (let round = 1; round <= rounds; round++) {
      const p = (await ceilingRun(plain, keyspace, batch(), level, undefined)).rate;
      const t = (await ceilingRun(secure, keyspace, batch(), level, undefined)).rate;
      runs.plain.push(p);
      runs.tls.push(t);
      runs.ratio.push(t / p);
      console.log(
        `  round ${round}: plaintext ${fmt(p)} rows/s, TLS ${fmt(t)} rows/s, TLS/plain ${(t / p).toFixed(2)}`,
      );
    }
    const cost = { plain: spread(runs.plain), tls: spread(runs.tls), ratio: spread(runs.ratio) };
    console.log(
      `  cassandra-tls: plaintext ${fmtSpread(cost.plain, 'rows/s')}; TLS + client certificate ` +
        `${fmtSpread(cost.tls, 'rows/s')}; TLS/plain ${fmtSpread(cost.ratio, '', 2)}`,
    );
    return cost;
  } finally {
    for (const c of clients) await c.shutdown().catch(() => undefined);
    node?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}
