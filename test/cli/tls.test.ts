import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { eventually } from '../server/helpers.js';
import { selfSigned } from '../support/self-signed.js';
import { startHerald } from './herald-process.js';
import { listeningUrl, openHttp2Stream, openStream, publish, publisherToken } from './streams.js';

const HUB = '/.well-known/mercure';

test('TLS: HTTP/2 and HTTP/1.1 clients subscribe on the same port and both receive', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { cert, key } = selfSigned(dir);
  const ca = readFileSync(cert, 'utf8');
  const secret = 'tls-test-secret-key-of-32-bytes-long';
  const herald = startHerald(
    ['serve', '--port', '0', '--host', '127.0.0.1', '--anonymous', '--tls-cert', cert, '--tls-key', key],
    { HERALD_JWT_KEY: secret },
  );
  t.after(() => herald.kill());
  const base = await listeningUrl(herald);
  assert.match(base, /^https:\/\/127\.0\.0\.1:\d+$/);
  const url = `${base}${HUB}?topic=${encodeURIComponent('https://example.com/tls')}`;

  const h2 = await openHttp2Stream(url, ca);
  const h1 = await openStream(url, { ca });
  t.after(() => {
    h2.close();
    h1.close();
  });
  assert.equal(h2.status, 200);
  assert.equal(h1.status, 200);
  assert.match(String(h2.headers['content-type']), /^text\/event-stream/);
  assert.match(String(h1.headers['content-type']), /^text\/event-stream/);

  const sent = await publish(
    `${base}${HUB}`,
    await publisherToken(secret),
    {
      topic: 'https://example.com/tls',
      data: 'over tls',
      id: 'tls-1',
    },
    ca,
  );
  assert.equal(sent.status, 200, sent.body);
  await h2.waitFor(/id: tls-1\ndata: over tls\n\n/);
  await h1.waitFor(/id: tls-1\ndata: over tls\n\n/);

  // A WebSocket on the same port (HTTP/1.1 upgrade over TLS), resuming from tls-1's predecessor.
  const ws = new WebSocket(`${url.replace('https', 'wss')}&lastEventID=earliest`, { ca });
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(data.toString()));
  const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await eventually(() => frames.length >= 2, 'two WebSocket frames', 20_000);
  assert.deepEqual(JSON.parse(frames[1]!), { id: 'tls-1', data: 'over tls' });

  herald.child.kill('SIGTERM');
  await Promise.all([h1.ended, h2.ended]);
  assert.equal(await wsClosed, 1012);
  assert.equal(await herald.exited, 0);
});

test('TLS: a certificate that is not PEM is bad usage (exit 2)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { key } = selfSigned(dir);
  const herald = startHerald([
    'serve',
    '--jwt-key',
    'tls-test-secret-key-of-32-bytes-long',
    '--port',
    '0',
    '--tls-cert',
    key,
    '--tls-key',
    key,
  ]);
  t.after(() => herald.kill());
  assert.equal(await herald.exited, 2);
  assert.match(
    herald.stderr(),
    /^herald: --tls-cert .* and --tls-key .* must be a PEM certificate and its private key/,
  );
});
