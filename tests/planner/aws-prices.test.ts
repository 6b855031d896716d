// The README's "What the defaults cost" states the same price assumptions as the planner uses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { instanceType, PRICES } from '../../planner/aws-prices';

test('the README quotes the planner’s prices', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8').replace(/\s+/g, ' ');
  expect(readme).toContain(`assuming ${PRICES.region} on-demand Linux prices`);
  for (const name of ['t3.medium', 't3.large']) {
    expect(readme).toContain(`${name} $${instanceType(name).perHour}/h`);
  }
  expect(readme).toContain(`gp3 $${PRICES.gp3PerGbMonth.toFixed(2)} per GB-month`);
  expect(readme).toContain(`$${PRICES.publicIpv4PerHour}/h per public IPv4 address`);
});
