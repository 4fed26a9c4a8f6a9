/**
 * A hub-wide cap on long-lived connections, derived from the process's open-file limit: past it,
 * subscribers get 503 with `Retry-After` while the hub can still answer, `/healthz` and publishing
 * go on, and no socket is reset by a failing `accept`. (Before: one address opened 20,000 streams,
 * used every file descriptor, and new clients were reset.)
 *
 * A real `herald serve` under `prlimit --nofile=200`: 200 descriptors, so 136 subscribers and stream
 * readers together (a tenth, at least 64, kept free) and sockets past 168 closed at once.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectionCaps, openFileLimit } from '../../src/cli/file-limit.js';
import { LOCAL_SERVE } from '../cli/herald-process.js';
import { openStream, publish, publisherToken } from '../cli/streams.js';
import { requirePart } from '../support/requirements.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SECRET = 'connection-cap-secret-of-32-bytes!!';
const LIMIT = 200;

test('the caps derive from the open-file limit, read from /proc/self/limits', () => {
  assert.equal(
    openFileLimit('Max open files            200                  4096                 files\n'),
    200,
  );
  assert.equal(
    openFileLimit('Max open files            unlimited            unlimited            files\n'),
    Infinity,
  );
  assert.equal(openFileLimit('nothing here'), 1024);
  assert.deepEqual(connectionCaps(200), { subscribers: 136, sockets: 168 });
  assert.deepEqual(connectionCaps(4_000), { subscribers: 3_600, sockets: 3_800 });
  assert.deepEqual(connectionCaps(20_000), { subscribers: 19_488, sockets: 19_744 });
  assert.equal(connectionCaps(Infinity), undefined);
});

test('under a limit of 200 files: 136 subscribers and stream readers, then 503 with Retry-After; /healthz and publishing go on', async (t) => {
  const missing = existsSync('/usr/bin/prlimit') ? null : 'it lowers the file limit of the hub process';
  if (!requirePart(t, 'prlimit (util-linux)', missing)) return;
  const child: ChildProcess = spawn(
    '/usr/bin/prlimit',
    [`--nofile=${LIMIT}:${LIMIT}`, process.execPath, '--import', 'tsx', MAIN, ...LOCAL_SERVE, '--anonymous'],
    {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HERALD_JWT_KEY: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.after(() => child.kill('SIGKILL'));
  const origin = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`herald did not start: ${out}`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = /\{[^\n]*"msg":"herald listening"[^\n]*\}/.exec(out);
      if (line !== null) {
        clearTimeout(timer);
        resolve(JSON.parse(line[0]).url as string);
      }
    });
  });
  const topic = 'https://example.com/cap';
  const url = `${origin}/.well-known/mercure?topic=${encodeURIComponent(topic)}`;
  const open: Awaited<ReturnType<typeof openStream>>[] = [];
  t.after(() => {
    for (const s of open) s.close();
  });
  // Resumable-stream readers hold sockets too: six of the 136 places go to readers of one stream.
  const streamTopic = 'https://example.com/cap/log';
  const started = await publish(`${origin}/.well-known/mercure`, await publisherToken(SECRET), {
    topic: streamTopic,
    'herald.stream': 'start',
    data: 'first',
  });
  assert.equal(started.status, 200, started.body);
  const readerUrl = `${origin}/.well-known/mercure/streams?topic=${encodeURIComponent(streamTopic)}`;
  for (let i = 0; i < 136; i++) {
    const s = await openStream(i < 130 ? url : readerUrl);
    open.push(s);
    assert.equal(s.status, 200, `${i < 130 ? 'subscriber' : 'stream reader'} ${i + 1}`);
  }
  for (const refusedUrl of [url, url, url, url, readerUrl, readerUrl]) {
    const refused = await openStream(refusedUrl);
    open.push(refused);
    assert.equal(refused.status, 503, refusedUrl);
    assert.equal(refused.headers['retry-after'], '1');
  }
  const health = await fetch(`${origin}/healthz`);
  assert.equal(health.status, 200);
  await health.text();
  const sent = await publish(`${origin}/.well-known/mercure`, await publisherToken(SECRET), {
    topic,
    data: 'still here',
  });
  assert.equal(sent.status, 200);
  await open[0]!.waitFor(/data: still here/);
});
