/**
 * src/hub/stores/ioredis.ts: loading ioredis leaves `String.prototype` a dictionary in V8, which
 * takes every string method out of optimized code; the hub loads it through that module, which
 * gives the prototype its fast properties back. V8 tells which mode an object is in only under
 * `--allow-natives-syntax`, so each case runs in a Node process of its own with that flag.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Whether `String.prototype` has fast properties after `script` (an ES module) has run. */
async function fastAfter(script: string): Promise<boolean> {
  const probe = `${script}\nconsole.log(new Function('o', 'return %HasFastProperties(o)')(String.prototype));`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', probe],
    { cwd: ROOT, timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as boolean;
}

test('ioredis alone leaves String.prototype a dictionary (why src/hub/stores/ioredis.ts exists)', async () => {
  // If this fails, ioredis no longer extends String and the module's remedy can go.
  assert.equal(await fastAfter("await import('ioredis');"), false);
});

test("the hub's public API loads ioredis and String.prototype keeps fast properties", async () => {
  assert.equal(await fastAfter("await import('./src/hub/index.ts');"), true);
});

test('once mended, String.prototype stays fast when a module loaded later subclasses String too', async () => {
  // V8 marks the prototype as one that should stay fast: a later subclass no longer turns it back.
  const script = [
    "await import('./src/hub/stores/ioredis.ts');",
    'class Tagged extends String {}',
    "new Tagged('x').charAt(0);",
  ].join('\n');
  assert.equal(await fastAfter(script), true);
});
