// The declarations of herald/client (the built dist/**/*.d.ts) type-check an app's code with the
// oldest TypeScript the README supports and with the repository's own, both module resolutions an app may use (NodeNext, bundler), strict, DOM only,
// no Node types, and `skipLibCheck: false`, so every declaration file is checked, not only the
// parts the app touches. The app uses what a front end does: the sources, typed events, readStream,
// the browser entry point, and a Herald source where the DOM's EventSource type is expected.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { requirePart } from '../support/requirements.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/**
 * The oldest supported compiler, pinned by its registry integrity. It is not a devDependency: an
 * aliased second `typescript` would take over `node_modules/.bin/tsc` (both packages name their
 * bin `tsc`). Fetched once from the npm registry into .cache/, as scripts/node-lines.sh fetches
 * Node lines, and checked against the integrity before use.
 */
const OLDEST = {
  version: '5.0.4',
  integrity:
    'sha512-cW9T5W9xY37cc+jfEnaUvX91foxtHkza3Nw3wkoF4sSlKn0MONdkdEndig/qPBWXNkmplh3NzayQzCiHM4/hqw==',
};

/** The oldest compiler's package folder, fetched if need be; a reason string when it cannot be. */
async function oldestCompiler(): Promise<{ home: string } | { missing: string }> {
  const cache = join(ROOT, '.cache');
  const home = join(cache, `typescript-${OLDEST.version}`);
  if (existsSync(join(home, 'bin', 'tsc'))) return { home };
  try {
    await mkdir(cache, { recursive: true });
    const work = await mkdtemp(join(cache, 'typescript-fetch-'));
    try {
      const { stdout } = await run('npm', ['pack', `typescript@${OLDEST.version}`, '--silent'], {
        cwd: work,
      });
      const tarball = join(work, stdout.trim().split('\n').at(-1)!);
      const digest = `sha512-${createHash('sha512')
        .update(await readFile(tarball))
        .digest('base64')}`;
      if (digest !== OLDEST.integrity)
        return { missing: `typescript@${OLDEST.version} from npm has integrity ${digest}` };
      await mkdir(join(work, 'package'));
      await run('tar', ['xzf', tarball, '-C', join(work, 'package'), '--strip-components=1']);
      // A rename, so a run beside this one never sees half a package.
      await rename(join(work, 'package'), home).catch((error: NodeJS.ErrnoException) => {
        if (!existsSync(join(home, 'bin', 'tsc'))) throw error;
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return { home };
  } catch (error) {
    return {
      missing: `typescript@${OLDEST.version} could not be fetched from npm: ${(error as Error).message}`,
    };
  }
}

const COMPILERS = [
  { role: 'oldest supported', locate: oldestCompiler },
  { role: 'current', locate: async () => ({ home: join(ROOT, 'node_modules', 'typescript') }) },
];

const APP = `import {
  EventSource,
  type EventSourceOptions,
  type GapEvent,
  readStream,
  SharedEventSource,
} from 'herald/client';
import { EventSource as BundledEventSource } from 'herald/client/browser';

/** Code written for the browser's own EventSource takes Herald's. */
function render(source: globalThis.EventSource): void {
  source.onmessage = (event) => console.log(event.data);
}
render(new EventSource('https://example.com/events'));
render(new SharedEventSource('https://example.com/events'));
render(new BundledEventSource('https://example.com/events'));

const options: EventSourceOptions = {
  transport: ['sse', 'websocket', 'poll'],
  method: 'POST',
  body: new Uint8Array([1, 2, 3]),
  headers: () => ({ authorization: 'Bearer token' }),
};
const source = new EventSource('https://example.com/events', options);
source.addEventListener('message', (event) => {
  const text: string = event.data;
  // @ts-expect-error: message data is a string, not any
  const count: number = event.data;
  return [text, count];
});
source.addEventListener('price', (event) => event.data.toUpperCase());
source.addEventListener('gap', (event) => {
  const gap: GapEvent = event;
  const ids: string[] = [event.requested, event.cursor];
  return [gap, ids];
});
source.onerror = (event) => event.type;

export async function read(): Promise<string> {
  let out = '';
  for await (const chunk of readStream('https://example.com/generate/1')) out += chunk;
  for await (const event of source.events(['price'])) out += event.data;
  return out;
}
`;

/** The two ways an app resolves \`herald/client\`: Node's ESM rules, or a bundler's. */
const CONFIGS = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
};

test('the client declarations type-check an app with the oldest supported and the current TypeScript', async (t) => {
  const declarations = join(ROOT, 'dist', 'client', 'index.d.ts');
  if (
    !requirePart(
      t,
      'built declarations',
      existsSync(declarations) ? null : `${declarations} is missing: run npm run build`,
    )
  )
    return;

  const dir = await mkdtemp(join(tmpdir(), 'herald-ts-range-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The repository as the installed `herald` package: its exports map leads to dist.
  await mkdir(join(dir, 'node_modules'));
  await symlink(ROOT, join(dir, 'node_modules', 'herald'), 'dir');
  await writeFile(join(dir, 'package.json'), '{"type":"module"}');
  await writeFile(join(dir, 'app.ts'), APP);
  for (const [name, resolution] of Object.entries(CONFIGS)) {
    const compilerOptions = {
      ...resolution,
      noEmit: true,
      strict: true,
      skipLibCheck: false,
      target: 'es2022',
      lib: ['es2022', 'dom', 'dom.iterable'],
      // No @types/node: the declarations must not need it.
      types: [],
    };
    await writeFile(
      join(dir, `tsconfig.${name}.json`),
      JSON.stringify({ compilerOptions, files: ['app.ts'] }),
    );
  }

  for (const { role, locate } of COMPILERS) {
    const found = await locate();
    if (!requirePart(t, `the ${role} TypeScript`, 'missing' in found ? found.missing : null)) continue;
    const { home } = found as { home: string };
    const tsc = join(home, 'bin', 'tsc');
    const { version } = JSON.parse(readFileSync(join(home, 'package.json'), 'utf8')) as { version: string };
    for (const name of Object.keys(CONFIGS)) {
      await run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], { cwd: dir }).catch(
        (error: { stdout?: string; message: string }) =>
          assert.fail(
            `TypeScript ${version} (${role}), ${name} resolution:\n${error.stdout || error.message}`,
          ),
      );
      t.diagnostic(`TypeScript ${version} (${role}), ${name} resolution: clean`);
    }
  }
});
