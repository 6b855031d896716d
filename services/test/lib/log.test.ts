import { createLogger } from '../../src/lib/log';

test('logs JSON lines with the role, filters by level and redacts credential-like fields', () => {
  const lines: string[] = [];
  const log = createLogger({ role: 'ingest' }, 'info', (l) => lines.push(l));
  log.debug('hidden');
  log.info('connected', { password: 'hunter2', natsToken: 'abc', server: 'nats://x' });
  expect(lines).toHaveLength(1);
  const entry = JSON.parse(lines[0]);
  expect(entry).toMatchObject({ level: 'info', role: 'ingest', msg: 'connected', server: 'nats://x' });
  expect(entry.password).toBe('[redacted]');
  expect(entry.natsToken).toBe('[redacted]');
  expect(lines[0]).not.toContain('hunter2');
});
