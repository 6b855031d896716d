// Foundation check: the real Prometheus from scripts/backing-services.sh discovers a target through its
// file_sd directory, scrapes it, and answers a query through its HTTP API.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { backingEnv, requireService } from '../../services/test/support/backing';

const env = backingEnv();
const run = `t${Date.now().toString(36)}`;
const targetFile = join(env.prometheusTargetsDir, `foundation-${run}.json`);
let server: Server;

beforeAll(async () => {
  await requireService('prometheus', env.prometheusUrl);
  const registry = new Registry();
  const counter = new Counter({
    name: 'foundation_probe_total',
    help: 'probe',
    labelNames: ['run'],
    registers: [registry],
  });
  counter.inc({ run }, 42);
  server = createServer(async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.end(await registry.metrics());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  writeFileSync(
    targetFile,
    JSON.stringify([{ targets: [`127.0.0.1:${port}`], labels: { role: 'foundation' } }]),
  );
});

afterAll(async () => {
  rmSync(targetFile, { force: true });
  await new Promise((resolve) => server.close(resolve));
});

async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${env.prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: never[] } };
  expect(body.status).toBe('success');
  return body.data.result;
}

test('scrapes a file-discovered target and answers a PromQL query', async () => {
  const deadline = Date.now() + 45_000;
  let result: Awaited<ReturnType<typeof query>> = [];
  while (Date.now() < deadline) {
    result = await query(`foundation_probe_total{run="${run}"}`);
    if (result.length) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(result).toHaveLength(1);
  expect(result[0].value[1]).toBe('42');
  expect(result[0].metric).toMatchObject({ job: 'smartmeter', role: 'foundation' });
  const up = await query(`up{job="smartmeter",role="foundation",instance=~"${result[0].metric.instance}"}`);
  expect(up[0].value[1]).toBe('1');
}, 60_000);
