// The Swarm suite's way into the cluster: NATS and Cassandra are not published by the aws stack, and the
// routing mesh does not answer on this machine, so a container on this engine (the manager) joins the
// stack's attachable overlay and forwards ports on 127.0.0.1 to members by their swarm names. Each
// connection resolves its target anew, so a member that restarts with a new address is reached again.
import * as net from 'node:net';
import type Docker from 'dockerode';

import { eventually } from './support';

export interface Route {
  /** The port on 127.0.0.1. */
  readonly port: number;
  /** `<swarm name>:<port>`, e.g. `nats-0:4222`. */
  readonly target: string;
}

// Plain TCP piping in the node image: no dependency to install.
const PROXY = `
const net = require('node:net');
for (const spec of process.argv.slice(1)) {
  const [listen, host, port] = spec.split(':');
  net.createServer((client) => {
    const upstream = net.connect(Number(port), host);
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  }).listen(Number(listen));
}`;

/** Starts the forwarder on `network`; resolves with the container (removed with `remove({ force })`). */
export async function startForwarder(
  docker: Docker,
  opts: { name: string; image: string; network: string; routes: readonly Route[] },
): Promise<Docker.Container> {
  await docker
    .getContainer(opts.name)
    .remove({ force: true })
    .catch(() => undefined);
  // Inside, each route listens on its own host port number too.
  const container = await docker.createContainer({
    name: opts.name,
    Image: opts.image,
    Cmd: ['node', '-e', PROXY, ...opts.routes.map((r) => `${r.port}:${r.target}`)],
    ExposedPorts: Object.fromEntries(opts.routes.map((r) => [`${r.port}/tcp`, {}])),
    HostConfig: {
      NetworkMode: opts.network,
      PortBindings: Object.fromEntries(
        opts.routes.map((r) => [`${r.port}/tcp`, [{ HostIp: '127.0.0.1', HostPort: String(r.port) }]]),
      ),
    },
  });
  await container.start();
  // Listening once a connection from here is accepted (what lies behind is the caller's to wait for).
  for (const r of opts.routes) {
    await eventually(`forwarder port ${r.port}`, 30, () => accepts(r.port), 500);
  }
  return container;
}

function accepts(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(undefined));
  });
}
