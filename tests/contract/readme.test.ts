// services/README.md's variables are their declaration's: the table between the markers is what
// readme-table.ts generates. UPDATE_SETTINGS_TABLE=1 rewrites it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { BEGIN, END, variablesTable } from './readme-table';

const README = join(__dirname, '..', '..', 'services', 'README.md');

test("services/README.md's table of variables is generated from their declaration", () => {
  const text = readFileSync(README, 'utf8');
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  expect(begin >= 0 && end > begin).toBe(true);
  const generated = `${BEGIN}\n\n${variablesTable()}\n\n${END}`;
  if (process.env.UPDATE_SETTINGS_TABLE === '1') {
    writeFileSync(README, text.slice(0, begin) + generated + text.slice(end + END.length));
    return;
  }
  expect(text.slice(begin, end + END.length)).toBe(generated);
});
