/**
 * The README's code blocks as pasted: each one here is written to a file in the repository (so that
 * `herald/...` resolves as for a user, through package.json `exports` to dist/), type-checked with
 * the project's compiler settings and run with tsx. One rewrite only: the port 3000 of the text
 * becomes a free one, so that tests beside this one do not collide.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { ROOT, startHerald, startScript } from '../cli/herald-process.js';
import { freePort } from '../hub/stores/redis-support.js';
import { openStream } from '../support/hub.js';

/** The ```ts blocks of README.md, each under the heading it follows. */
function readmeBlocks(): { heading: string; code: string }[] {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks: { heading: string; code: string }[] = [];
  let heading = '';
  for (const m of text.matchAll(/^(#{1,4} .*)$|^```ts\n([\s\S]*?)^```$/gm)) {
    if (m[1] !== undefined) heading = m[1].replace(/^#+ /, '');
    else blocks.push({ heading, code: m[2]! });
  }
  return blocks;
}

function block(heading: string): string {
  const found = readmeBlocks().filter((b) => b.heading === heading);
  assert.equal(found.length, 1, `one \`\`\`ts block under "${heading}"`);
  return found[0]!.code;
}

/** Writes `code` to a .ts file of its own under .tmp/ (ignored), removed after the test. */
function writeBlock(t: TestContext, name: string, code: string): string {
  const dir = join(ROOT, '.tmp', `readme-${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, code);
  return file;
}

/** Type-checks one file as the project's own code is checked (tsconfig.json's strict settings). */
async function typeCheck(file: string): Promise<void> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution'];
  const args = [...flags, 'NodeNext', '--lib', 'ES2023,DOM', '--types', 'node', '--skipLibCheck', file];
  await promisify(execFile)(process.execPath, [tsc, ...args], { cwd: ROOT }).catch((error) => {
    assert.fail(`README block does not type-check:\n${error.stdout}${error.stderr}`);
  });
}

/** `promise`, or a rejection naming what was awaited after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done after ${ms} ms: ${what()}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

test('README, Client: the snippet prints five quotes of the demo hub (`npm start`) and exits', async (t) => {
  const hub = startHerald(['serve', '--demo', '--port', '0', '--host', '127.0.0.1']);
  t.after(() => hub.kill());
  const [, origin] = await hub.waitForOutput(/publish {5}curl -X POST '(http:\/\/[^/]+)\//);
  const code = block('Client');
  assert.match(code, /http:\/\/localhost:3000\//);
  const file = writeBlock(t, 'client', code.replaceAll('http://localhost:3000', origin!));
  await typeCheck(file);
  const run = startScript(file, []);
  t.after(() => run.kill());
  assert.equal(await within(run.exited, 30_000, () => `stdout: ${run.stdout()}`), 0, run.stderr());
  const lines = run.stdout().trim().split('\n');
  assert.equal(lines.length, 5, run.stdout());
  for (const line of lines) assert.match(line, /^[A-Z]+ \d+(\.\d+)? -?\d+(\.\d+)?$/);
});

test('README, Hub: the snippet serves the event stream and a WebSocket on one URL', async (t) => {
  const port = await freePort();
  const code = block('Hub');
  assert.match(code, /listen\(3000\)/);
  const file = writeBlock(t, 'hub', code.replace('listen(3000)', `listen(${port})`));
  await typeCheck(file);
  const run = startScript(file, [], { JWT_KEY: 'a-readme-key-of-at-least-32-bytes-long!' });
  t.after(() => run.kill());
  const topic = 'https://example.com/books/1';
  const url = `127.0.0.1:${port}/.well-known/mercure?topic=${encodeURIComponent(topic)}&lastEventID=earliest`;
  // Up once the snippet listens and its one publish is in the history: a bounded number of tries.
  let stream: Awaited<ReturnType<typeof openStream>> | undefined;
  for (let attempt = 0; stream === undefined; attempt++) {
    stream = await openStream(`http://${url}`).catch(async (error) => {
      if (attempt === 100) throw new Error(`the snippet never listened: ${run.stderr()}`, { cause: error });
      await new Promise((r) => setTimeout(r, 100));
      return undefined;
    });
  }
  t.after(() => stream.close());
  assert.equal((await stream.next()).data, '{"title":"Dune"}');

  const ws = new WebSocket(`ws://${url}`);
  t.after(() => ws.terminate());
  const frames: { herald?: string; data?: string }[] = [];
  const update = new Promise<{ data?: string }>((resolve, reject) => {
    ws.on('message', (data) => {
      frames.push(JSON.parse(data.toString()));
      if (frames.at(-1)!.herald === undefined) resolve(frames.at(-1)!);
    });
    ws.once('error', reject);
    ws.once('close', (closeCode) => reject(new Error(`WebSocket closed ${closeCode} before an update`)));
  });
  assert.equal((await within(update, 20_000, () => JSON.stringify(frames))).data, '{"title":"Dune"}');
  assert.equal(frames[0]!.herald, 'open');
});
