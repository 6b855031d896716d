// Storage: raw_data's bytes on disk per row (after a flush) and JetStream's bytes per message.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../machine';

/** raw_data's live SSTable bytes per row, after a flush (nodetool over the backing services' JMX). */
export function cassandraBytesPerRow(keyspace: string, rows: number): number {
  const nodetool = (...args: string[]) =>
    execFileSync('bash', [join(repoRoot(), 'scripts/backing-services.sh'), 'nodetool', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }).toString();
  nodetool('flush', keyspace, 'raw_data');
  const stats = nodetool('tablestats', `${keyspace}.raw_data`);
  const live = /Space used \(live\): (\d+)/.exec(stats);
  if (!live) throw new Error(`no "Space used (live)" in nodetool tablestats ${keyspace}.raw_data`);
  return Number(live[1]) / rows;
}
