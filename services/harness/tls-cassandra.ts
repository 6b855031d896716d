// A Cassandra node of the built image (scripts/build-images.sh) in a container of its own, with its TLS
// files from a directory of the caller's mounted at /tls, published on a free loopback port: for the test
// and the bench that check or time client encryption without touching the shared node.
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'cassandra-driver';

import { CassandraSettings, CassandraTls, createCassandraClient } from '../src/lib/cassandra';

export const CASSANDRA_IMAGE = 'smartmeter-local/cassandra:5.0.9';

export interface TlsCassandraNode {
  /** The superuser's settings on the published port, with `tls` or plaintext. */
  settings(tls?: CassandraTls): CassandraSettings;
  /** A client connected with `tls`, retried until the node answers (it takes 30–90 s to start). */
  connected(tls: CassandraTls | undefined, timeoutMs: number): Promise<Client>;
  /** The container's last lines of log. */
  logs(): string;
  remove(): void;
}

/**
 * Starts container `name`; `configure` is the shell run before Cassandra starts (the edit that puts the
 * encryption options from /tls into cassandra.yaml).
 */
export function startTlsCassandra(opts: {
  name: string;
  dir: string;
  configure: string;
  heap: string;
  image?: string;
}): TlsCassandraNode {
  const { name, dir } = opts;
  // The image runs as its own user: it must read what the caller wrote as root.
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir, { withFileTypes: true }))
    if (f.isFile()) chmodSync(join(dir, f.name), 0o644);
  execFileSync('docker', [
    'run',
    '-d',
    '--name',
    name,
    '-p',
    '127.0.0.1::9042',
    '-v',
    `${dir}:/tls:ro`,
    '-e',
    `MAX_HEAP_SIZE=${opts.heap}`,
    '-e',
    'JVM_EXTRA_OPTS=-Dcassandra.superuser_setup_delay_ms=500',
    '--entrypoint',
    'bash',
    opts.image ?? CASSANDRA_IMAGE,
    '-c',
    `${opts.configure}exec docker-entrypoint.sh cassandra -f`,
  ]);
  const port = Number(
    execFileSync('docker', ['port', name, '9042/tcp'], { encoding: 'utf8' }).trim().split(':').pop(),
  );
  const settings = (tls?: CassandraTls): CassandraSettings => ({
    contactPoints: [`127.0.0.1:${port}`],
    localDataCenter: 'datacenter1',
    username: 'cassandra',
    password: 'cassandra',
    keyspace: 'system',
    tokenAware: false,
    tls,
  });
  const logs = () => execFileSync('docker', ['logs', '--tail', '30', name], { encoding: 'utf8' });
  return {
    settings,
    logs,
    async connected(tls, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const client = createCassandraClient(settings(tls));
        try {
          await client.connect();
          return client;
        } catch (err) {
          await client.shutdown().catch(() => undefined);
          if (Date.now() > deadline)
            throw new Error(
              `Cassandra ${name} took no client in ${timeoutMs / 1000} s: ${(err as Error).message}\n${logs()}`,
              { cause: err },
            );
          await new Promise((r) => setTimeout(r, 3000));
        }
      }
    },
    remove() {
      try {
        execFileSync('docker', ['rm', '-f', '-v', name], { stdio: 'ignore' }); // -v: the image's anonymous data volume too
      } catch {
        // never started
      }
    },
  };
}
