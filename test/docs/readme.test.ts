/**
 * The README's code blocks as pasted: each one here is written to a file in the repository (so that
 * `herald/...` resolves as for a user, through package.json `exports` to dist/), type-checked with
 * the project's compiler settings and run: with tsx against what it needs (a demo hub, a client of
 * its server), or, for the browser-only block, bundled with esbuild and run in Chromium. One rewrite
 * only: the ports of the text (3000, 3001...) become free ones, so that tests beside these do not
 * collide. The last test checks that every ```ts block of the README was run by one of these.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { ROOT, startHerald, startScript } from '../cli/herald-process.js';
import { freePort } from '../hub/stores/redis-support.js';
import { bundleForBrowser, launchChromium } from '../support/browser.js';
import { openStream } from '../support/hub.js';
import { bounded, retryUntil } from '../support/retry.js';
import { selfSigned } from '../support/self-signed.js';

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

/** The blocks the tests below took, as `heading #n`: the last test compares them with the README. */
const ran = new Set<string>();

/** The `n`th ```ts block under `heading` (`count` blocks there in all). */
function block(heading: string, n = 0, count = 1): string {
  const found = readmeBlocks().filter((b) => b.heading === heading);
  assert.equal(found.length, count, `${count} \`\`\`ts block(s) under "${heading}"`);
  ran.add(`${heading} #${n}`);
  return found[n]!.code;
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
  assert.equal(await bounded(run.exited, () => `stdout: ${run.stdout()}`, 30_000), 0, run.stderr());
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
  assert.equal((await bounded(update, () => JSON.stringify(frames), 20_000)).data, '{"title":"Dune"}');
  assert.equal(frames[0]!.herald, 'open');
});

test('README, Protocol: the snippet encodes an event and parses it back', async (t) => {
  const file = writeBlock(t, 'protocol', block('Protocol'));
  await typeCheck(file);
  const run = startScript(file, []);
  t.after(() => run.kill());
  assert.equal(await bounded(run.exited, () => `stdout: ${run.stdout()}`, 30_000), 0, run.stderr());
  assert.equal(run.stdout(), 'price {"symbol":"ACME","price":12.5} 42\n');
});

test('README, Server: the snippet serves an event stream, and SIGTERM ends it with a retry hint and exits', async (t) => {
  const port = await freePort();
  const code = block('Server', 0, 2);
  assert.match(code, /\.listen\(3000\)/);
  const file = writeBlock(t, 'server', code.replace('.listen(3000)', `.listen(${port})`));
  await typeCheck(file);
  const run = startScript(file, []);
  t.after(() => run.kill());
  const stream = await retryUntil(() => openStream(`http://127.0.0.1:${port}/`), 'the snippet listening');
  t.after(() => stream.close());
  assert.equal(stream.status, 200);
  assert.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8');
  await bounded(
    retryUntil(() => stream.text.includes('retry: 3000\n') || undefined, 'the opening'),
    () => stream.text,
    30_000,
  );
  run.child.kill('SIGTERM');
  await bounded(stream.ended, () => `the stream still open: ${stream.text}`, 30_000);
  const hint = stream.text.slice(stream.text.indexOf('retry: 3000\n') + 1).match(/^retry: (\d+)$/m);
  assert.ok(hint !== null && Number(hint[1]) >= 1000 && Number(hint[1]) <= 5000, stream.text);
  assert.equal(
    await bounded(run.exited, () => 'the process still runs after SIGTERM', 30_000),
    0,
    run.stderr(),
  );
});

test('README, Server: every framework adapter of the snippet serves the price the channel broadcasts', async (t) => {
  const ports = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
  let code = block('Server', 1, 2);
  for (const [i, port] of ports.entries()) {
    assert.match(code, new RegExp(`\\b300${i + 1}\\b`));
    code = code.replace(new RegExp(`\\b300${i + 1}\\b`), String(port));
  }
  const file = writeBlock(t, 'adapters', code);
  const dir = dirname(file);
  selfSigned(dir); // the key.pem and cert.pem it reads, in its working directory
  await typeCheck(file);
  const run = startScript(file, [], {}, dir);
  t.after(() => run.kill());
  const [node, h2, express, fastify, hono, fetchStyle] = ports.map((port) => `127.0.0.1:${port}`);
  const overHttp1 = { node: `${node}/`, express: `${express}/events`, fastify: `${fastify}/events` };
  const servers = { ...overHttp1, hono: `${hono}/events`, fetch: `${fetchStyle}/` };
  await Promise.all(
    Object.entries(servers).map(async ([name, target]) => {
      const stream = await retryUntil(
        () => openStream(`http://${target}`),
        () => `${name} listening: ${run.stderr()}`,
      );
      t.after(() => stream.close());
      assert.equal(stream.status, 200, name);
      const event = await bounded(stream.next(), () => `${name}: no event in ${stream.text}`, 30_000);
      assert.deepEqual([event.type, event.data], ['price', '12.5'], name);
    }),
  );
  // HTTP/2 over TLS, with the certificate the snippet was given.
  const session = await retryUntil(
    () =>
      new Promise<http2.ClientHttp2Session>((resolve, reject) => {
        const s = http2.connect(`https://${h2}`, { ca: readFileSync(join(dir, 'cert.pem')) });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    'http2 listening',
  );
  session.on('error', () => {}); // the snippet's process is killed after the test
  t.after(() => session.destroy());
  const request = session.request({ ':path': '/' }).setEncoding('utf8');
  request.on('error', () => {});
  let body = '';
  const price = new Promise<void>((resolve) =>
    request.on('data', (chunk: string) => {
      body += chunk;
      if (body.includes('event: price\ndata: 12.5\n\n')) resolve();
    }),
  );
  await bounded(price, () => `http2: no price in ${JSON.stringify(body)}`, 30_000);
});

test('README, Resumable streams: the snippet produces a stream and reads it whole, then exits', async (t) => {
  const port = await freePort();
  const code = block('Resumable streams (logs, build output, generated text)');
  assert.match(code, /listen\(3000\)/);
  const rewritten = code.replace('listen(3000)', `listen(${port})`);
  const file = writeBlock(
    t,
    'resumable',
    rewritten.replaceAll('http://localhost:3000', `http://127.0.0.1:${port}`),
  );
  await typeCheck(file);
  const run = startScript(file, []);
  t.after(() => run.kill());
  assert.equal(await bounded(run.exited, () => `stdout: ${run.stdout()}`, 30_000), 0, run.stderr());
  assert.equal(run.stdout(), 'You asked for a haiku. ');
});

test('README, Publishing from Node: the snippet publishes to the demo hub with its printed token', async (t) => {
  const hub = startHerald(['serve', '--demo', '--port', '0', '--host', '127.0.0.1']);
  t.after(() => hub.kill());
  const [, hubUrl, token] = await hub.waitForOutput(
    /publish {5}curl -X POST '([^']+)' -H 'Authorization: Bearer ([\w.-]+)'/,
  );
  const code = block('Publishing from Node');
  assert.match(code, /'http:\/\/localhost:3000\/\.well-known\/mercure'/);
  const file = writeBlock(t, 'publisher', code.replace('http://localhost:3000/.well-known/mercure', hubUrl!));
  await typeCheck(file);
  const topic = 'https://example.com/demo/notifications';
  const stream = await openStream(`${hubUrl}?topic=${encodeURIComponent(topic)}`);
  t.after(() => stream.close());
  const run = startScript(file, [], { HERALD_TOKEN: token! });
  t.after(() => run.kill());
  assert.equal(await bounded(run.exited, () => `stdout: ${run.stdout()}`, 30_000), 0, run.stderr());
  const event = await bounded(stream.next(), () => `no update in ${stream.text}`, 30_000);
  assert.equal(run.stdout(), `${event.lastEventId}\n`);
  assert.equal((JSON.parse(event.data) as { text: string }).text, 'Hello from Node');
});

test('README, Sharing one connection across tabs: in Chromium, two tabs show the clock over one connection', async (t) => {
  const code = block('Sharing one connection across tabs');
  const file = writeBlock(t, 'shared', code);
  await typeCheck(file);
  const browser = await launchChromium(t);
  if (!browser) return;
  // Bundled as a page's script would be: `herald/client` resolves to the package's client.
  const bundle = await bundleForBrowser(file);
  const hub = startHerald(['serve', '--demo', '--port', '0', '--host', '127.0.0.1']);
  t.after(() => hub.kill());
  const [, origin] = await hub.waitForOutput(/publish {5}curl -X POST '(http:\/\/[^/]+)\//);
  const context = await browser.newContext();
  t.after(() => context.close());
  // The snippet's page, on the hub's origin (its URL is relative): a <time> and the snippet.
  await context.route(`${origin}/readme-shared.html`, (route) =>
    route.fulfill({
      contentType: 'text/html; charset=utf-8',
      body: `<!doctype html><time></time><script type="module">${bundle}</script>`,
    }),
  );
  const hubRequests: string[] = [];
  context.on('request', (request) => {
    if (request.url().includes('/.well-known/mercure')) hubRequests.push(request.url());
  });
  const pages = [await context.newPage(), await context.newPage()];
  for (const page of pages) {
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    await page.goto(`${origin}/readme-shared.html`);
  }
  const times = await Promise.all(
    pages.map(async (page) => {
      await page.waitForFunction(() => document.querySelector('time')!.textContent !== '', null, {
        timeout: 30_000,
      });
      return page.locator('time').textContent();
    }),
  );
  for (const time of times) assert.ok(!Number.isNaN(Date.parse(time!)), `a time: ${time}`);
  assert.equal(hubRequests.length, 1, `one connection for both tabs: ${hubRequests.join(', ')}`);
});

test('every ```ts block of the README was run by a test above', () => {
  const counts = new Map<string, number>();
  const all = readmeBlocks().map(({ heading }) => {
    const n = counts.get(heading) ?? 0;
    counts.set(heading, n + 1);
    return `${heading} #${n}`;
  });
  assert.deepEqual(
    all.filter((key) => !ran.has(key)),
    [],
    'README blocks no test runs: add a test to test/docs/readme.test.ts',
  );
});
