/**
 * The CLI uses the hub as any library user would: through src/hub/index.ts, its public face, and
 * nothing past it (no src/hub/<folder>/… nor src/hub/<file> other than index).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const CLI = join(SRC, 'cli');
const HUB = join(SRC, 'hub');
// Static imports and re-exports (`from '…'`), dynamic imports (`import('…')`) and bare `import '…'`.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

test('src/cli imports the hub only through src/hub/index.ts', () => {
  const reaching: string[] = [];
  const files = readdirSync(CLI, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 5, `found ${files.length} CLI files`);
  let hubImports = 0;
  for (const file of files) {
    const path = join(CLI, file);
    for (const [, specifier] of readFileSync(path, 'utf8').matchAll(SPECIFIER)) {
      if (!specifier!.startsWith('.')) continue;
      const target = resolve(dirname(path), specifier!).replace(/\.js$/, '.ts');
      const inHub = relative(HUB, target);
      if (inHub.startsWith('..')) continue;
      hubImports++;
      if (inHub !== 'index.ts') reaching.push(`src/cli/${file} imports ${specifier}`);
    }
  }
  assert.ok(hubImports > 0, 'the CLI imports the hub somewhere');
  assert.deepEqual(reaching, [], 'export what the CLI needs from src/hub/index.ts instead');
});
