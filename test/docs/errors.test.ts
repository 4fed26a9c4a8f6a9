/**
 * docs/errors.md lists every error code: one used in src/ but missing from the page fails here, and
 * so does a code the page lists that src/ no longer has.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CODE = /HERALD_ERR_[A-Z0-9_]+/g;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function codesIn(text: string): Set<string> {
  return new Set(text.match(CODE) ?? []);
}

test('docs/errors.md lists every HERALD_ERR_* code of src/, and no other', () => {
  const inSource = new Set<string>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    for (const code of codesIn(readFileSync(file, 'utf8'))) inSource.add(code);
  }
  const page = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  // A code counts as documented when it heads a table row: "| `HERALD_ERR_…` | status | meaning |".
  const documented = new Set([...page.matchAll(/^\| `(HERALD_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
  assert.ok(inSource.size > 40, `found ${inSource.size} codes in src/`);
  const missing = [...inSource].filter((code) => !documented.has(code)).sort();
  assert.deepEqual(missing, [], `codes used in src/ but not in docs/errors.md: ${missing.join(', ')}`);
  const stale = [...documented].filter((code) => !inSource.has(code)).sort();
  assert.deepEqual(stale, [], `codes in docs/errors.md that src/ no longer uses: ${stale.join(', ')}`);
});
