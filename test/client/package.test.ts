// scripts/pack-client.mjs: herald/client as a package of its own, for browser apps: no dependencies,
// no Node types needed, importable by name from an app in Node, and its declarations type-check an
// app's code (strict, DOM only) with the TypeScript of the repository.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('pack-client.mjs builds a client package with no dependencies that an app imports and type-checks', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-client-pkg-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pkgDir = join(dir, 'herald-client');
  await run(process.execPath, ['scripts/pack-client.mjs', pkgDir]);

  const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'herald-client');
  assert.equal(pkg.dependencies, undefined, 'no dependencies: nothing of the hub comes along');
  assert.equal(pkg.sideEffects, false);

  // An app with the package installed (linked) under node_modules.
  const app = join(dir, 'app');
  await mkdir(join(app, 'node_modules'), { recursive: true });
  await symlink(pkgDir, join(app, 'node_modules', 'herald-client'), 'dir');
  await writeFile(join(app, 'package.json'), '{"type":"module"}');
  await writeFile(
    join(app, 'main.js'),
    "import * as client from 'herald-client';\nconsole.log(JSON.stringify(['EventSource','SharedEventSource','readStream','GapEvent'].map((n) => typeof client[n])));\n",
  );
  const { stdout } = await run(process.execPath, ['main.js'], { cwd: app });
  assert.deepEqual(JSON.parse(stdout), ['function', 'function', 'function', 'function']);

  await writeFile(
    join(app, 'app.ts'),
    [
      "import { EventSource, type GapEvent } from 'herald-client';",
      "const source: globalThis.EventSource = new EventSource('/events');",
      "source.addEventListener('message', (event) => event.data.toUpperCase());",
      "new EventSource('/events').addEventListener('gap', (event: GapEvent) => event.requested);",
      '',
    ].join('\n'),
  );
  const tsc = join(process.cwd(), 'node_modules/typescript/bin/tsc');
  // No @types/node anywhere up from the app's folder: the declarations must not need it.
  await writeFile(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        noEmit: true,
        strict: true,
        module: 'esnext',
        moduleResolution: 'bundler',
        target: 'es2022',
        lib: ['es2023', 'dom', 'dom.iterable'],
        types: [],
      },
      files: ['app.ts'],
    }),
  );
  await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app }).catch(
    (error: { stdout?: string }) => assert.fail(`the app does not type-check:\n${error.stdout}`),
  );
});
