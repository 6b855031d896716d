// The build context's digest (the provider's contextDigest): stable across reads, changed by a file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { contextDigest } from './tar';

test('the context digest changes exactly when a file the build sees changes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'context-digest-'));
  try {
    fs.writeFileSync(path.join(dir, '.dockerignore'), '*\n!src/\n');
    fs.mkdirSync(path.join(dir, 'src'));
    fs.writeFileSync(path.join(dir, 'src', 'main.ts'), 'export {};\n');
    fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored\n');
    const first = contextDigest(dir, 'Dockerfile');
    expect(contextDigest(dir, 'Dockerfile')).toBe(first);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'still ignored\n');
    expect(contextDigest(dir, 'Dockerfile')).toBe(first);
    fs.appendFileSync(path.join(dir, 'src', 'main.ts'), '// changed\n');
    expect(contextDigest(dir, 'Dockerfile')).not.toBe(first);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
