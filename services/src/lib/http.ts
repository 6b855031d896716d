// The one HTTP endpoint of every role: GET /metrics (Prometheus text format) and GET /healthz
// (200 when the role is ready to do its work, 503 otherwise, with the reason).
import { createServer, Server } from 'node:http';
import { Registry } from 'prom-client';

export interface Health {
  ready: boolean;
  reason: string;
}

export async function startHttpServer(
  port: number,
  registry: Registry,
  health: () => Health,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
    } else if (req.method === 'GET' && path === '/healthz') {
      const h = health();
      res.writeHead(h.ready ? 200 : 503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: h.ready ? 'ok' : 'unavailable', reason: h.reason }));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, resolve);
  });
  return server;
}
