// Renders scripts/user-data/swarm-node.sh for one node: its parameter block is replaced by the node's
// values, so the script that ships is the script that shellcheck checks. No secret goes in here: the
// join tokens travel through SSM Parameter Store (see the script).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SWARM_NODE_SCRIPT = path.join(
  __dirname,
  '..',
  '..',
  '..',
  'scripts',
  'user-data',
  'swarm-node.sh',
);

export type SwarmRole = 'init' | 'manager' | 'worker';

export interface SwarmNodeParams {
  readonly role: SwarmRole;
  readonly region: string;
  readonly managerTokenParam: string;
  readonly workerTokenParam: string;
  /** The first manager's private IP; empty for the node that creates the swarm. */
  readonly managerAddr: string;
  /** Index of the node among the nodes of its kind (managers or workers): its placement label. */
  readonly slot: number;
}

const BLOCK = /# --- parameters ---\n[\s\S]*?# --- end parameters ---\n/;

/** Quotes a value for bash, so no value can break out of its assignment. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function renderSwarmNodeUserData(
  p: SwarmNodeParams,
  script = fs.readFileSync(SWARM_NODE_SCRIPT, 'utf8'),
): string {
  if (!BLOCK.test(script)) throw new Error(`${SWARM_NODE_SCRIPT} has lost its '# --- parameters ---' block`);
  if (p.role !== 'init' && p.managerAddr === '')
    throw new Error(`a ${p.role} node needs the manager's address`);
  const values: Record<string, string> = {
    SWARM_ROLE: p.role,
    AWS_REGION: p.region,
    MANAGER_TOKEN_PARAM: p.managerTokenParam,
    WORKER_TOKEN_PARAM: p.workerTokenParam,
    MANAGER_ADDR: p.managerAddr,
    NODE_SLOT: String(p.slot),
  };
  const lines = Object.entries(values).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return script.replace(BLOCK, () => `# --- parameters ---\n${lines.join('\n')}\n# --- end parameters ---\n`);
}
