/**
 * On a Node line other than the one `npm ci` built better-sqlite3 for, loading its addon fails with
 * ERR_DLOPEN_FAILED. `herald serve --store sqlite:` then says what happened and how to rebuild.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LOCAL_SERVE } from '../../cli/herald-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./fixtures/foreign-sqlite-addon.mjs', import.meta.url));

test('herald serve --store sqlite: with an addon that does not load names `npm rebuild better-sqlite3`', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-addon-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Not a shared object at all: the linker refuses it as it refuses one of another ABI.
  const foreign = join(dir, 'better_sqlite3.node');
  writeFileSync(foreign, 'not an ELF object\n');
  const child = spawn(
    process.execPath,
    ['--import', PRELOAD, '--import', 'tsx', 'src/cli/main.ts', ...LOCAL_SERVE],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HERALD_TEST_FOREIGN_ADDON: foreign,
        HERALD_JWT_KEY: 'a-test-key-of-at-least-32-bytes-long!!',
        HERALD_STORE: `sqlite:${join(dir, 'herald.db')}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  assert.notEqual(code, 0, stderr);
  assert.match(stderr, /the SQLite addon \(better-sqlite3\) does not load on Node v\d+/);
  assert.match(stderr, /run `npm rebuild better-sqlite3` with this Node/);
  assert.match(stderr, /HERALD_ERR_STORE_CONFIG|herald\.db/);
});
