// The real prometheus-nats-exporter (scripts/nats-exporter.sh) for the dashboards' integration tests: run
// with the messaging tier's flags on a loopback port, and what its scrape holds against what the
// dashboards query.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

import { NATS_EXPORTER_FLAGS } from '../../components/tiers/messaging';
import { freePort } from '../../services/test/support/backing';
import { NATS_EXPORTER_PREFIXES } from './nats-exporter-metrics';
import { panelQueries } from './panels';
import { legendLabels, queryRefs } from './promql';

/** Series name → label names, from the Prometheus text format. */
export type Exposition = Map<string, Set<string>>;

export function parseExposition(text: string): Exposition {
  const series: Exposition = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    const labels = series.get(m[1]) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(l[1]);
    series.set(m[1], labels);
  }
  return series;
}

/** One exporter process; stop() is safe to call when it has already exited. */
export interface Exporter {
  readonly url: string;
  scrape(): Promise<string>;
  /** The end of its output, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export async function startExporter(monitoringUrls: readonly string[]): Promise<Exporter> {
  const binary = execFileSync('bash', [join(__dirname, '../../scripts/nats-exporter.sh')], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop() as string;
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [...NATS_EXPORTER_FLAGS, '-a', '127.0.0.1', '-p', String(port), ...monitoringUrls],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}/metrics`;
  return {
    url,
    log: () => output,
    scrape: async () => {
      if (child.exitCode !== null) throw new Error(`the exporter exited: ${output}`);
      return (await fetch(url)).text();
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The dashboard queries that name an exporter metric. */
export const exporterQueries = () =>
  panelQueries()
    .map((q) => ({ q, refs: queryRefs(q.expr) }))
    .filter(({ refs }) =>
      refs.selectors.some((s) => NATS_EXPORTER_PREFIXES.some((p) => s.metric.startsWith(p))),
    );

/**
 * What the dashboards query that `exposition` lacks: metrics, and labels used in matchers, groupings and
 * legends (plus Prometheus's own `instance` and `job`). Queries naming a metric of `skip` are not checked.
 */
export function missingFromExposition(
  exposition: Exposition,
  skip: ReadonlySet<string> = new Set(),
): string[] {
  return exporterQueries()
    .filter(({ refs }) => !refs.selectors.some((s) => skip.has(s.metric)))
    .flatMap(({ q, refs }) => {
      const where = `${q.dashboard} / "${q.panel}": ${q.expr}`;
      const missing = refs.selectors
        .filter((s) => !exposition.has(s.metric))
        .map((s) => `${s.metric} (${where})`);
      const labels = new Set(
        refs.selectors.flatMap((s) => [...(exposition.get(s.metric) ?? []), 'instance', 'job']),
      );
      const used = [...refs.selectors.flatMap((s) => s.matchers.map((m) => m.label)), ...refs.groupingLabels];
      const unknown = [...used, ...legendLabels(q.legend)]
        .filter((l) => !labels.has(l))
        .map((l) => `label "${l}" (${where})`);
      return [...missing, ...unknown];
    });
}
