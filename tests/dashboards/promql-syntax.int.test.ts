// Every dashboard query is PromQL the real Prometheus (scripts/backing-services.sh) accepts: a query
// that does not parse would show "bad_data" in its panel instead of a graph.
import { backingEnv, requireService } from '../../services/test/support/backing';
import { panelQueries } from './panels';

const env = backingEnv();

beforeAll(() => requireService('prometheus', env.prometheusUrl));

test('Prometheus parses and evaluates every dashboard query', async () => {
  const queries = panelQueries();
  expect(queries.length).toBeGreaterThan(40);
  const problems: string[] = [];
  for (const q of queries) {
    const url = `${env.prometheusUrl}/api/v1/query?query=${encodeURIComponent(q.expr)}`;
    const body = (await (await fetch(url)).json()) as { status: string; error?: string };
    if (body.status !== 'success') problems.push(`${q.dashboard} / "${q.panel}": ${body.error} in ${q.expr}`);
  }
  expect(problems).toEqual([]);
});
