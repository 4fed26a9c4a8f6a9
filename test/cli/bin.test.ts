import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'cli', 'main.js');

test('the herald command runs through its shebang (Node with a capped young generation)', (t) => {
  if (!existsSync(BIN)) {
    if (process.env.CI === 'true') assert.fail(`${BIN} is missing: npm ci builds it (npm run build)`);
    t.skip(`${BIN} is missing: run npm run build`);
    return;
  }
  const shebang = readFileSync(BIN, 'utf8').split('\n', 1)[0]!;
  assert.match(shebang, /^#!\/usr\/bin\/env -S node --max-semi-space-size=\d+$/);
  // npm makes a package's bin executable when it installs it; the build output is not yet.
  chmodSync(BIN, 0o755);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  // Run as a user's shell runs it: the kernel reads the shebang, env splits it, node must accept
  // the flag (a misspelt one makes node exit with "bad option").
  assert.equal(execFileSync(BIN, ['--version'], { encoding: 'utf8' }).trim(), pkg.version);
});
