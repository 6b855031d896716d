// Host ports a stack publishes: each at most once (two services cannot bind one host port, and Docker
// refuses the second), and none the hosts themselves use. 0 keeps a port inside the network.

/** The first key published on a port another key already publishes, with that key; undefined if none. */
export function duplicatePort(ports: Record<string, number>): { key: string; other: string } | undefined {
  const seen = new Map<number, string>();
  for (const [key, port] of Object.entries(ports)) {
    if (port === 0) continue;
    const other = seen.get(port);
    if (other !== undefined) return { key, other };
    seen.set(port, key);
  }
  return undefined;
}
