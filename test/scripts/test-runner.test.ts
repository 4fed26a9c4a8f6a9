// scripts/test.mjs, the suite's runner: a test file that never ends is killed past its bound and
// named, the other files still run, the exit status says so, and a failure's report is repeated
// at the end.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

/** Runs the runner on `root` and resolves with its exit code and output, or rejects after `boundMs`. */
function runRunner(root: string, env: Record<string, string>, boundMs: number) {
  // Without NODE_TEST_CONTEXT, which tells a runner it runs inside another and makes it skip files.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
  const child = spawn(process.execPath, ['scripts/test.mjs'], {
    env: { ...outer, HERALD_TEST_ROOT: root, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the runner did not end within ${boundMs} ms:\n${output}`));
    }, boundMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

test('a test file that never exits fails by name within its bound; the others still run', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'herald-runner-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // Its test passes, but a handle left open keeps its process alive: `node --test` waits forever.
  writeFileSync(
    join(root, 'hangs.test.ts'),
    "import { test } from 'node:test';\ntest('leaves a timer', () => { setInterval(() => {}, 1000); });\n",
  );
  writeFileSync(join(root, 'passes.test.ts'), "import { test } from 'node:test';\ntest('fine', () => {});\n");

  // 20 s: room for the passing file to start on a busy machine (tsx compiles it first).
  const { code, output } = await runRunner(root, { HERALD_TEST_FILE_TIMEOUT_S: '20' }, 90_000);
  assert.equal(code, 1, output);
  assert.match(output, new RegExp(`TIMED OUT: ${join(root, 'hangs.test.ts')} was still running after 20 s`));
  assert.match(output, /files 2, passed 1, failed 1/);
  assert.match(output, /✔ fine/);
});

test('a failing test file sets the exit status and is named in the summary', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'herald-runner-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(
    join(root, 'fails.test.ts'),
    "import { test } from 'node:test';\ntest('breaks', () => { throw new Error('boom'); });\n",
  );
  writeFileSync(join(root, 'passes.test.ts'), "import { test } from 'node:test';\ntest('fine', () => {});\n");

  const { code, output } = await runRunner(root, {}, 60_000);
  assert.equal(code, 1, output);
  assert.match(output, new RegExp(`FAILED: ${join(root, 'fails.test.ts')}`));
  assert.match(output, /files 2, passed 1, failed 1/);
  // The failing test's error is repeated after the summary, where a CI log's tail shows it.
  const summary = output.slice(output.indexOf('# files 2'));
  assert.match(summary, /the last \d+ lines of its report:[\s\S]*boom/);

  rmSync(join(root, 'fails.test.ts'));
  const ok = await runRunner(root, {}, 60_000);
  assert.equal(ok.code, 0, ok.output);
});
