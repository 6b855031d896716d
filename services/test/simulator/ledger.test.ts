import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger, readingId, readLedgers } from '../../src/simulator/ledger';

test('readLedgers reads every entry of every process, also a ledger of a whole soak (20 power cuts: 400,000)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
  try {
    const first = new Ledger(dir, 0, join(dir, '0-1-1.ledger'));
    const ids = Array.from({ length: 400_000 }, (_, i) => readingId('voltage', `1.1.${i % 500}`, 60 * i));
    first.record(
      ids,
      ids.map((_, i) => i + 1),
    );
    first.close();
    const second = new Ledger(dir, 1, join(dir, '1-2-2.ledger'));
    second.record([readingId('temperature', '1', 60)], [undefined]);
    second.close();
    const entries = readLedgers(dir);
    expect(entries).toHaveLength(400_001);
    expect(entries[399_999]).toEqual({ kind: 'voltage', key: '1.1.499', epoch: 60 * 399_999, seq: 400_000 });
    expect(entries[400_000]).toEqual({ kind: 'temperature', key: '1', epoch: 60, seq: undefined });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
