import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { LOCAL_SERVE, startHerald } from '../../cli/herald-process.js';
import { listeningUrl, openStream, publish, publisherToken } from '../../cli/streams.js';
import { retryUntil } from '../../support/retry.js';

const HUB = '/.well-known/mercure';
const SECRET = 'cluster-test-secret-key-of-32-bytes';
const TOPIC = 'https://example.com/cluster';

const ids = (text: string) => [...text.matchAll(/^id: (.*)$/gm)].map((m) => m[1]);

test('--workers 2: 100 subscribers on both workers each get every update once, in order', async (t) => {
  const herald = startHerald(
    [
      'serve',
      '--workers',
      '2',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--anonymous',
      '--subscriptions',
      '--shutdown-retry',
      '1s',
    ],
    { HERALD_JWT_KEY: SECRET },
  );
  t.after(() => herald.kill());
  const base = await listeningUrl(herald);
  const streams = await Promise.all(
    Array.from({ length: 100 }, () => openStream(`${base}${HUB}?topic=${encodeURIComponent(TOPIC)}`)),
  );
  t.after(() => {
    for (const s of streams) s.close();
  });
  // Spread by the kernel over the workers' own sockets (Node 22.12+ on Linux) or by the primary
  // (round-robin, older Node): either way both serve some of 100.
  const pids = new Set(streams.map((s) => String(s.headers['x-herald-worker'])));
  assert.equal(pids.size, 2, `subscribers spread over both workers (got ${[...pids]})`);
  assert.ok(!pids.has(String(herald.child.pid)), 'the primary serves no HTTP');

  // The subscriptions API, answered by either worker, lists the subscribers of both.
  const reader = await new SignJWT({ mercure: { subscribe: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
  let listed = 0;
  await retryUntil(async () => {
    const res = await fetch(`${base}${HUB}/subscriptions`, {
      headers: { Authorization: `Bearer ${reader}` },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { subscriptions: { topic: string }[] };
    listed = body.subscriptions.filter((s) => s.topic === TOPIC).length;
    return listed >= 100 || undefined;
  }, 'the 100 subscribers listed by the subscriptions API');
  assert.equal(listed, 100);

  // Publishes land on either worker too (new connections are spread), and every update reaches every
  // subscriber.
  const token = await publisherToken(SECRET);
  const expected = Array.from({ length: 20 }, (_, i) => `c-${i}`);
  for (const id of expected) {
    const result = await publish(`${base}${HUB}`, token, { topic: TOPIC, id, data: `update ${id}` });
    assert.equal(result.status, 200, result.body);
  }
  await Promise.all(streams.map((s) => s.waitFor(/^id: c-19$/m)));
  for (const s of streams) assert.deepEqual(ids(s.text()), expected);

  // A worker that dies is replaced; the other one keeps serving meanwhile.
  const [victim] = pids;
  process.kill(Number(victim), 'SIGKILL');
  await herald.waitForOutput(/worker exited; starting a replacement/);
  await retryUntil(async () => {
    // A new connection each time: connections are spread over the workers, not requests.
    const probe = await openStream(`${base}/healthz`);
    await probe.ended;
    const pid = String(probe.headers['x-herald-worker']);
    return pids.has(pid) ? undefined : pid;
  }, 'a request answered by the replacement worker');
  const late = await openStream(`${base}${HUB}?topic=${encodeURIComponent(TOPIC)}&lastEventID=c-18`);
  t.after(() => late.close());
  await late.waitFor(/^id: c-19$/m);
  assert.deepEqual(ids(late.text()), ['c-19'], 'history is shared: resumed through the primary');

  // SIGTERM to the primary drains every worker: live streams end with the retry hint.
  const survivors = streams.filter((s) => s.headers['x-herald-worker'] !== victim);
  herald.child.kill('SIGTERM');
  await Promise.all(survivors.map((s) => s.ended));
  for (const s of survivors) assert.match(s.text(), /retry: 1000\n/);
  assert.equal(await herald.exited, 0);
});

test('sqlite store: history survives a restart, a resumed subscriber gets what followed, a new one the newest public ID', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const args = [...LOCAL_SERVE, '--anonymous', '--store', `sqlite:${join(dir, 'h.db')}`];
  const first = startHerald(args, { HERALD_JWT_KEY: SECRET });
  t.after(() => first.kill());
  const base = await listeningUrl(first);
  const token = await publisherToken(SECRET);
  for (const id of ['r-1', 'r-2', 'r-3']) {
    assert.equal((await publish(`${base}${HUB}`, token, { topic: TOPIC, id, data: id })).status, 200);
  }
  const secret = { topic: TOPIC, id: 'r-secret', data: 's', private: 'on' };
  assert.equal((await publish(`${base}${HUB}`, token, secret)).status, 200);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);

  // The second run has workers: the resume goes through the primary's store.
  const second = startHerald([...args, '--workers', '2'], { HERALD_JWT_KEY: SECRET });
  t.after(() => second.kill());
  const again = await listeningUrl(second);
  const stream = await openStream(`${again}${HUB}?topic=${encodeURIComponent(TOPIC)}&lastEventID=r-1`);
  t.after(() => stream.close());
  await stream.waitFor(/^id: r-3$/m);
  assert.deepEqual(ids(stream.text()), ['r-2', 'r-3']);
  // Opened without an ID, on either worker, before anything new was published: the cursor is the
  // newest public update the file keeps (the private one after it is skipped), not `earliest`.
  const fresh = await Promise.all(
    Array.from({ length: 4 }, () => openStream(`${again}${HUB}?topic=${encodeURIComponent(TOPIC)}`)),
  );
  for (const s of fresh) s.close();
  assert.deepEqual(
    fresh.map((s) => s.headers['last-event-id']),
    ['r-3', 'r-3', 'r-3', 'r-3'],
  );
  second.child.kill('SIGTERM');
  await stream.ended;
  assert.equal(await second.exited, 0);
});
