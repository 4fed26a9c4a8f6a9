// scripts/bundle-client.mjs: the browser bundle is one self-contained ES module with a source map.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

test('bundle-client.mjs writes a minified ES module with EventSource and no Node import', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-bundle-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const outfile = join(dir, 'herald-client.js');
  await promisify(execFile)(process.execPath, ['scripts/bundle-client.mjs', outfile]);

  const code = await readFile(outfile, 'utf8');
  assert.doesNotMatch(code, /\bnode:/, 'no node: import');
  assert.doesNotMatch(code, /\brequire\(/, 'no require()');
  assert.match(code, /\/\/# sourceMappingURL=herald-client\.js\.map/);
  const map = JSON.parse(await readFile(`${outfile}.map`, 'utf8')) as { sources: string[] };
  assert.ok(map.sources.some((s) => s.endsWith('src/client/event-source.ts')));

  const mod = (await import(pathToFileURL(outfile).href)) as Record<string, unknown>;
  for (const name of ['EventSource', 'EventSourceBase', 'EventSourceErrorEvent', 'EventSourceError']) {
    assert.equal(typeof mod[name], 'function', name);
  }
});
