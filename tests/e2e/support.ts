// What the e2e suites share: the engine, the stack config pointing at the local images, bounded polling,
// and the clients (NATS, Cassandra, Prometheus) that look at the deployed stack through its published ports.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Docker from 'dockerode';

export const STATE_DIR =
  process.env.SMARTMETER_DOCKER_STATE ?? path.join(process.env.TMPDIR ?? '/tmp', 'smartmeter-docker');

/** A line of the run's report: printed, and collected in $SMARTMETER_DOCKER_STATE/e2e-report.txt. */
export function report(line: string): void {
  process.stdout.write(`[e2e] ${line}\n`);
  fs.mkdirSync(STATE_DIR, { recursive: true });
  fs.appendFileSync(path.join(STATE_DIR, 'e2e-report.txt'), `${new Date().toISOString()} ${line}\n`);
}

/** The engine, or a clear error saying how to start it. */
export async function engine(): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(
      `no Docker engine answers (${(err as Error).message}): run scripts/docker-engine.sh up && scripts/build-images.sh`,
      { cause: err },
    );
  }
  return docker;
}

/** The `smartmeter:*Image` overrides written by scripts/build-images.sh (keys without the prefix). */
export function localImages(): Record<string, string> {
  const file = path.join(STATE_DIR, 'images.json');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run scripts/build-images.sh`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k.replace(/^smartmeter:/, ''), v]));
}

/** Polls `probe` every `everyMs` until it returns a value other than undefined, or fails after `seconds`. */
export async function eventually<T>(
  what: string,
  seconds: number,
  probe: () => Promise<T | undefined>,
  everyMs = 2000,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: not reached within ${seconds}s${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    }
    await new Promise((res) => setTimeout(res, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** GET a Prometheus API path, returning `data`. */
export async function prometheus<T>(base: string, apiPath: string): Promise<T> {
  const res = await fetch(`${base}${apiPath}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus ${apiPath}: ${body.error ?? res.status}`);
  return body.data;
}

/** Every PromQL expression of a dashboard model (panels, rows' nested panels), with its panel title. */
export function panelQueries(model: unknown): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const visit = (panels: unknown) => {
    for (const p of Array.isArray(panels) ? panels : []) {
      const panel = p as { title?: string; targets?: { expr?: string }[]; panels?: unknown };
      for (const t of panel.targets ?? [])
        if (t.expr) out.push({ panel: panel.title ?? '(untitled)', expr: t.expr });
      visit(panel.panels);
    }
  };
  visit((model as { panels?: unknown }).panels);
  return out;
}
