/**
 * Connection floods and slow clients: a per-address bound on subscriber streams (429 past it,
 * other addresses unaffected, the slot freed when a stream closes), and `herald serve` closing a
 * slowloris connection that dribbles its headers once the headers timeout has passed.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHerald } from '../cli/herald-process.js';
import { listeningUrl } from '../cli/streams.js';
import { openStream, startHub } from '../support/hub.js';
import { openCanary } from './canary.js';

/** GET a subscribe URL from a given local address; resolves with the status, the response left open. */
function subscribeFrom(
  url: string,
  localAddress: string,
): Promise<{ status: number; close(): void; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { localAddress, agent: false, headers: { accept: 'text/event-stream' } },
      (res) => {
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'],
          close: () => req.destroy(),
        });
        res.resume();
      },
    );
    req.on('error', reject);
  });
}

test('subscriber streams per address: 429 past the bound, other addresses unaffected, slots freed on close', async (t) => {
  const hub = await startHub({ anonymous: true, maxConnectionsPerAddress: 5 });
  t.after(() => hub.close());
  const canary = await openCanary(hub); // one of 127.0.0.1's five
  t.after(() => canary.close());
  const url = `${hub.hubUrl}?topic=https://example.com/flood`;
  const open: { close(): void }[] = [];
  t.after(() => {
    for (const s of open) s.close();
  });
  for (let i = 0; i < 4; i++) {
    const s = await subscribeFrom(url, '127.0.0.1');
    assert.equal(s.status, 200);
    open.push(s);
  }
  const flood = await Promise.all(Array.from({ length: 50 }, () => subscribeFrom(url, '127.0.0.1')));
  for (const s of flood) {
    s.close();
    assert.equal(s.status, 429);
    assert.equal(s.retryAfter, '1');
  }
  const other = await subscribeFrom(url, '127.0.0.2');
  open.push(other);
  assert.equal(other.status, 200, 'another address is not limited');
  await canary.check();

  // Closing one stream frees its slot (once the hub has seen the close).
  open.shift()!.close();
  let status = 0;
  for (let i = 0; i < 200 && status !== 200; i++) {
    const s = await subscribeFrom(url, '127.0.0.1');
    status = s.status;
    if (status === 200) open.push(s);
    else {
      s.close();
      await sleep(10);
    }
  }
  assert.equal(status, 200);
  await canary.check();
});

test('herald serve: --max-connections-per-address, and a slowloris client is cut after the headers timeout', async (t) => {
  const herald = startHerald(
    ['serve', '--port', '0', '--host', '127.0.0.1', '--anonymous', '--max-connections-per-address', '2'],
    { HERALD_JWT_KEY: 'hardening-test-secret-key-32-bytes!!' },
  );
  t.after(() => herald.kill());
  const origin = await listeningUrl(herald);
  const url = `${origin}/.well-known/mercure?topic=x`;
  const a = await openStream(url);
  const b = await openStream(url);
  const c = await openStream(url);
  for (const s of [a, b, c]) s.close();
  assert.deepEqual([a.status, b.status, c.status], [200, 200, 429]);

  // Slowloris: one header byte per second, never finishing; the hub closes it (408 or a reset).
  const port = Number(new URL(origin).port);
  const socket = net.connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  let received = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  socket.write('GET /.well-known/mercure?topic=x HTTP/1.1\r\nHost: a\r\n');
  const started = Date.now();
  const dribble = setInterval(() => socket.write('X'), 1000);
  t.after(() => clearInterval(dribble));
  await closed;
  clearInterval(dribble);
  const heldMs = Date.now() - started;
  assert.ok(received === '' || received.startsWith('HTTP/1.1 408'), received);
  // Bounded by the headers timeout (10 s) and the check interval, far from Node's 60 s default.
  assert.ok(heldMs < 20_000, `held ${heldMs} ms`);
  const health = await fetch(`${origin}/healthz`);
  assert.equal(health.status, 200);
  await health.text();
});
