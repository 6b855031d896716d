// Raw-socket probes of a NATS port, for the checks that a port refuses what it must (plain clients on a
// TLS client port, plain routes on a TLS route port): what the server says first, and what it answers
// to plain text.
import * as net from 'node:net';

/** What a NATS port says first: its INFO line (plain text, before any TLS), as JSON. */
export function natsInfo(socket: net.Socket, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve(JSON.parse(text.slice('INFO '.length, end)) as Record<string, unknown>);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    setTimeout(() => reject(new Error(`no INFO: ${JSON.stringify(text)}`)), timeoutMs).unref();
  });
}

/**
 * Connects to 127.0.0.1:`port`, reads INFO where the port sends one first (a client port; a TLS route port
 * says nothing before the handshake), then sends `text` in plain: what came back within `waitMs`, and
 * whether the server closed the connection.
 */
export async function plainAfterInfo(
  port: number,
  text: string,
  opts: { info: boolean; waitMs: number },
): Promise<{ info?: Record<string, unknown>; reply: string; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const info = opts.info ? await natsInfo(socket) : undefined;
  let reply = '';
  socket.on('data', (c: Buffer) => (reply += c.toString('utf8')));
  socket.write(text);
  const closed = await new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true));
    setTimeout(() => resolve(false), opts.waitMs);
  });
  socket.destroy();
  return { info, reply, closed };
}
