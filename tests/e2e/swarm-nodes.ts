// A multi-node Docker Swarm on this machine for the Swarm suite: this engine is the manager (it runs no
// task: every service of the aws stack is placed on workers), and each worker is a container running its
// own engine (Docker-in-Docker, scripts/images/swarm-node) with the engine labels a real node gets from
// its user data (`smartmeter.role`, `smartmeter.slot`; scripts/user-data/swarm-node.sh). Each worker's
// engine answers on a socket the host mounts, so the suite can reach its task containers, and losing a
// node is killing its container.
//
// No registry: the images the stack runs are loaded into every worker before the deploy, and an image the
// program builds and pushes (the services image) is loaded the same way once built (`push`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';

import { updateService } from './engine';
import { STATE_DIR, eventually } from './support';

export const SWARM_NODE_IMAGE = 'smartmeter-local/swarm-node:bookworm';
/**
 * The injectors' ledger directory on every worker (smartmeter:injectLedgerDir): a directory of this host
 * per node, bound into it, so the suite reads what the broker acknowledged to each injector task, also of
 * tasks on a node that was killed.
 */
export const WORKER_LEDGER_DIR = '/var/lib/smartmeter-ledger';
const NETWORK = 'smartmeter-swarm-nodes';
const PREFIX = 'smartmeter-swarm-worker-';

// Capability names by bit (linux/capability.h), up to the last one Docker 20.10 knows (AUDIT_READ). The
// nodes get every one of them this machine grants (its bounding set) instead of --privileged, which asks
// for all of them and is refused here (this machine withholds SYS_RESOURCE).
const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
]; // prettier-ignore

/** The capabilities in this process's bounding set, by name. */
export function grantedCapabilities(status = fs.readFileSync('/proc/self/status', 'utf8')): string[] {
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (!hex) throw new Error('no CapBnd line in /proc/self/status');
  const mask = BigInt(`0x${hex}`);
  return CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

export interface SwarmNode {
  readonly name: string;
  readonly slot: number;
  readonly ip: string;
  /** The node's own engine. */
  readonly engine: Docker;
  readonly container: Docker.Container;
}

type Log = (line: string) => void;

export class LocalSwarm {
  private constructor(
    readonly manager: Docker,
    readonly workers: readonly SwarmNode[],
    private readonly log: Log,
  ) {}

  /**
   * Starts `workers` worker nodes, makes this engine a one-manager swarm reachable from them, and joins
   * them. Leftovers of an earlier run (its node containers and their volumes) are removed first; a swarm
   * this engine is in that is not one of these is refused, not left.
   */
  static async up(manager: Docker, workers: number, log: Log): Promise<LocalSwarm> {
    await removeLeftovers(manager, log);
    // A fixed subnet (fixed node addresses need one): the top of Docker's last default bridge pool, and not
    // 10.0.0.0/8, where Swarm's overlays get theirs.
    const base = '172.31.240';
    const gateway = `${base}.1`;
    await manager.createNetwork({
      Name: NETWORK,
      Driver: 'bridge',
      IPAM: { Config: [{ Subnet: `${base}.0/24`, Gateway: gateway }] },
    });
    const nodes: SwarmNode[] = [];
    for (let slot = 0; slot < workers; slot++) {
      const name = `${PREFIX}${slot}`;
      const ip = `${base}.${10 + slot}`;
      const socketDir = path.join(STATE_DIR, 'swarm-nodes', name);
      fs.mkdirSync(socketDir, { recursive: true });
      const ledgerDir = path.join(socketDir, 'ledger');
      fs.rmSync(ledgerDir, { recursive: true, force: true }); // an earlier run's
      fs.mkdirSync(ledgerDir);
      fs.chmodSync(ledgerDir, 0o777); // the services run as uid 1000
      const container = await manager.createContainer({
        name,
        Hostname: `swarm-worker-${slot}`,
        Image: SWARM_NODE_IMAGE,
        Env: ['SMARTMETER_ROLE=worker', `SMARTMETER_SLOT=${slot}`],
        Labels: { 'smartmeter.swarm-node': String(slot) },
        HostConfig: {
          CapAdd: grantedCapabilities(),
          SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
          // What the CLI's `--security-opt systempaths=unconfined` sends: /proc and /sys not masked.
          MaskedPaths: [],
          ReadonlyPaths: [],
          // The node's images and containers on a volume: overlay2 cannot stack on the container's own.
          Binds: [
            '/sys/fs/cgroup:/sys/fs/cgroup:rw',
            `${name}:/var/lib/docker`,
            `${socketDir}:/run/swarm-node`,
            `${ledgerDir}:${WORKER_LEDGER_DIR}`,
          ],
          NetworkMode: NETWORK,
        },
        NetworkingConfig: { EndpointsConfig: { [NETWORK]: { IPAMConfig: { IPv4Address: ip } } } },
      });
      await container.start();
      const engine = new Docker({ socketPath: path.join(socketDir, 'docker.sock') });
      nodes.push({ name, slot, ip, engine, container });
    }
    for (const n of nodes)
      await eventually(`${n.name}'s engine answers`, 60, () => n.engine.ping().then(() => true));
    await manager.swarmInit({ ListenAddr: `${gateway}:2377`, AdvertiseAddr: gateway });
    const token = ((await manager.swarmInspect()) as { JoinTokens: { Worker: string } }).JoinTokens.Worker;
    for (const n of nodes) {
      await n.engine.swarmJoin({
        ListenAddr: '0.0.0.0:2377',
        AdvertiseAddr: n.ip,
        RemoteAddrs: [`${gateway}:2377`],
        JoinToken: token,
      });
    }
    const cluster = new LocalSwarm(manager, nodes, log);
    await cluster.waitReady(nodes, 120);
    log(
      `swarm: this engine manages ${workers} worker nodes (${nodes.map((n) => n.ip).join(', ')}), manager at ${gateway}`,
    );
    return cluster;
  }

  /** Waits until the given workers are Ready in the manager's view. */
  async waitReady(nodes: readonly SwarmNode[], seconds: number): Promise<void> {
    await eventually(`worker nodes ${nodes.map((n) => n.slot).join(', ')} ready`, seconds, async () => {
      const ready = (await this.nodeList()).filter((n) => n.Status.State === 'ready');
      return nodes.every((w) => ready.some((r) => r.Description.Hostname === `swarm-worker-${w.slot}`))
        ? true
        : undefined;
    });
  }

  private async nodeList() {
    return (await this.manager.listNodes()) as {
      ID: string;
      Status: { State: string };
      Description: { Hostname: string; Engine: { Labels?: Record<string, string> } };
    }[];
  }

  /** Loads images from this engine into every worker (what a registry pull would give them). */
  async push(images: readonly string[]): Promise<void> {
    const t0 = Date.now();
    const file = path.join(STATE_DIR, 'swarm-images.tar');
    // GET /images/get?names=…: one archive, shared layers once (dockerode's getImages has no typings).
    const archive = await (
      this.manager as unknown as { getImages(o: { names: string[] }): Promise<NodeJS.ReadableStream> }
    ).getImages({ names: [...images] });
    await new Promise<void>((resolve, reject) =>
      archive.pipe(fs.createWriteStream(file)).on('finish', resolve).on('error', reject),
    );
    const size = fs.statSync(file).size;
    for (const n of this.workers) {
      const stream = await n.engine.loadImage(fs.createReadStream(file), { quiet: true });
      await new Promise<void>((resolve, reject) =>
        n.engine.modem.followProgress(stream, (err: Error | null, res: { error?: string }[]) => {
          const failed = err?.message ?? res.find((e) => e.error)?.error;
          if (failed) reject(new Error(`loading images into ${n.name}: ${failed}`));
          else resolve();
        }),
      );
    }
    fs.rmSync(file, { force: true });
    this.log(
      `swarm: ${images.length} image(s), ${(size / 2 ** 20).toFixed(0)} MiB, loaded into ${this.workers.length} workers in ` +
        `${((Date.now() - t0) / 1000).toFixed(0)}s`,
    );
  }

  /**
   * The running task containers of a service: on which worker, the container there, and the engine label
   * `smartmeter.slot` of its node as the manager sees it. A task on a node that is not one of the workers
   * (the manager) fails the call.
   */
  async tasksOf(service: string): Promise<{ node: SwarmNode; container: Docker.Container; slot?: string }[]> {
    const tasks = (await this.manager.listTasks({
      filters: { service: [service], 'desired-state': ['running'] },
    })) as { NodeID: string; Status: { State: string; ContainerStatus?: { ContainerID?: string } } }[];
    const nodes = await this.nodeList();
    const out = [];
    for (const t of tasks) {
      const id = t.Status.ContainerStatus?.ContainerID;
      if (t.Status.State !== 'running' || !id) continue;
      const seen = nodes.find((n) => n.ID === t.NodeID);
      const node = this.workers.find((w) => `swarm-worker-${w.slot}` === seen?.Description.Hostname);
      if (!node)
        throw new Error(`task of ${service} on swarm node ${t.NodeID}, which is not one of the workers`);
      out.push({
        node,
        container: node.engine.getContainer(id),
        slot: seen?.Description.Engine.Labels?.['smartmeter.slot'],
      });
    }
    return out;
  }

  /** Every worker's ledger directory, on this host. */
  ledgerDirs(): string[] {
    return this.workers.map((w) => path.join(STATE_DIR, 'swarm-nodes', w.name, 'ledger'));
  }

  /** What `docker service scale <service>=<replicas>` does; resolves once the manager took the spec. */
  async scale(service: string, replicas: number): Promise<void> {
    await updateService(this.manager, service, (spec) => ({
      ...spec,
      Mode: { Replicated: { Replicas: replicas } },
    }));
  }

  /** A whole node lost at once: its container (engine, containerd and every task) killed. */
  async kill(node: SwarmNode): Promise<void> {
    await node.container.kill();
  }

  /** The node back: its engine starts with its state (swarm membership, images) and rejoins. */
  async start(node: SwarmNode): Promise<void> {
    await node.container.start();
    try {
      await eventually(`${node.name}'s engine answers again`, 120, () => node.engine.ping().then(() => true));
    } catch (err) {
      const logs = await node.container.logs({ stdout: true, stderr: true, tail: 20 });
      throw new Error(`${(err as Error).message}; its log ends:\n${logs.toString('utf8')}`, { cause: err });
    }
    await this.waitReady([node], 180);
  }

  /** Leaves the swarm and removes the nodes, their volumes and network. */
  async down(): Promise<void> {
    await this.manager.swarmLeave({ force: true });
    await removeLeftovers(this.manager, this.log);
  }
}

/** Node containers, volumes and the nodes' network of an earlier run; the swarm they made. */
async function removeLeftovers(manager: Docker, log: Log): Promise<void> {
  const info = (await manager.info()) as { Swarm: { LocalNodeState: string } };
  if (info.Swarm.LocalNodeState === 'active') {
    const nodes = (await manager.listNodes()) as {
      Description: { Hostname: string };
      Spec: { Role: string };
    }[];
    const others = nodes.filter(
      (n) => n.Spec.Role !== 'manager' && !/^swarm-worker-\d+$/.test(n.Description.Hostname),
    );
    if (others.length || nodes.filter((n) => n.Spec.Role === 'manager').length > 1)
      throw new Error(
        'this engine is in a swarm this suite did not make: leave it first (docker swarm leave --force)',
      );
    await manager.swarmLeave({ force: true });
    log('swarm: left the swarm of an earlier run');
  }
  const containers = await manager.listContainers({
    all: true,
    filters: { label: ['smartmeter.swarm-node'] },
  });
  for (const c of containers) await manager.getContainer(c.Id).remove({ force: true, v: true });
  for (const v of (await manager.listVolumes({ filters: { name: [PREFIX] } })).Volumes ?? [])
    await manager.getVolume(v.Name).remove();
  for (const n of await manager.listNetworks({ filters: { name: [NETWORK, 'docker_gwbridge'] } }))
    await manager
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
}
