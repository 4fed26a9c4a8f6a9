/**
 * Presence across nodes: the subscriptions API of any node lists the subscribers of all of them,
 * subscription events cross nodes, and the subscribers of a node that dies disappear.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { createRedisPresence } from '../../src/hub/presence/redis-presence.js';
import { REDIS_URL, redisPrefix } from '../hub/stores/redis-support.js';
import { retryUntil } from '../support/retry.js';
import { KEY, OwnRedis, ResumingSubscriber, requireRedisServer, startNodes } from './nodes.js';

const CHILD = fileURLToPath(new URL('./presence-child.ts', import.meta.url));

function subscriberToken(): Promise<string> {
  return new SignJWT({ mercure: { subscribe: ['*'], publish: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(KEY));
}

test('the subscriptions API of every node lists subscribers of all nodes; events cross nodes', async (t) => {
  if (!requireRedisServer(t)) return;
  const redis = await OwnRedis.start();
  t.after(() => redis.stop());
  const nodes = await startNodes(redis.url, 2, ['--subscriptions']);
  t.after(() => Promise.all(nodes.map((n) => n.kill())));
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
  const token = await subscriberToken();

  // A watcher on node B of subscription events (private: it needs the token).
  const watchUrl = `${b.hubUrl}?topic=${encodeURIComponent('/.well-known/mercure/subscriptions{/topic}{/subscriber}')}`;
  const watcher = new ResumingSubscriber(() => [`${watchUrl}&authorization=${token}`]);
  t.after(() => watcher.close());
  await watcher.start();

  const sub = new ResumingSubscriber(() => [`${a.hubUrl}?topic=${encodeURIComponent('/books/1')}`]);
  t.after(() => sub.close());
  await sub.start();
  await watcher.until((w) => w.events.some((e) => e.data.includes('/books/1')));
  const joined = JSON.parse(watcher.events.find((e) => e.data.includes('/books/1'))!.data);
  assert.equal(joined.active, true);

  for (const node of nodes) {
    const res = await fetch(`${node.hubUrl}/subscriptions`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      subscriptions: { topic: string; subscriber: string; active: boolean }[];
    };
    const topics = doc.subscriptions.map((s) => s.topic).sort();
    // Node B's watcher and node A's subscriber, whichever node answers.
    assert.deepEqual(topics, ['/.well-known/mercure/subscriptions{/topic}{/subscriber}', '/books/1']);
  }

  sub.close();
  await watcher.until((w) => w.events.filter((e) => e.data.includes('/books/1')).length >= 2);
  const left = JSON.parse(watcher.events.filter((e) => e.data.includes('/books/1'))[1]!.data);
  assert.equal(left.active, false);
});

test('a node killed without closing: its subscribers leave the list once its TTL runs out', async (t) => {
  const prefix = await redisPrefix(t);
  if (prefix === undefined) return;
  const observer = createRedisPresence(REDIS_URL, { prefix, ttlMs: 300 });
  t.after(() => observer.close());
  await observer.ready();
  observer.join({
    id: 'urn:uuid:observer',
    selectors: [{ source: '/here', syntax: 'topic' }],
    since: Date.now(),
  });

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, REDIS_URL, prefix, '300', 'urn:uuid:dying'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`presence child exited with ${code}`)));
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('joined')) resolve();
    });
  });
  child.removeAllListeners('exit');
  assert.deepEqual((await observer.list()).map((r) => r.id).sort(), ['urn:uuid:dying', 'urn:uuid:observer']);

  child.kill('SIGKILL');
  await once(child, 'exit');
  // Redis expires the dead node's hash; poll the list until it is gone (Redis's clock, not ours).
  const ids = await retryUntil(
    async () => {
      const listed = (await observer.list()).map((r) => r.id);
      return listed.includes('urn:uuid:dying') ? undefined : listed;
    },
    "the dead node's subscriber expired from the list",
    { everyMs: 50 },
  );
  assert.deepEqual(ids, ['urn:uuid:observer']);
});

test('joins and leaves of one node are listed by another; close withdraws them at once', async (t) => {
  const prefix = await redisPrefix(t);
  if (prefix === undefined) return;
  const one = createRedisPresence(REDIS_URL, { prefix });
  const two = createRedisPresence(REDIS_URL, { prefix });
  t.after(() => Promise.all([one.close(), two.close()]));
  await Promise.all([one.ready(), two.ready()]);
  one.join({ id: 'urn:uuid:1', selectors: [{ source: '/a', syntax: 'match' }], since: 1, payload: { n: 1 } });
  one.join({ id: 'urn:uuid:2', selectors: [{ source: '/b', syntax: 'topic' }], since: 2 });
  one.leave('urn:uuid:2');
  await new Promise((r) => setImmediate(r));
  const listed = await retryUntil(async () => {
    const now = await two.list();
    return now.length === 1 ? now : undefined;
  }, 'one subscriber listed by the other node');
  assert.deepEqual(listed, [
    { id: 'urn:uuid:1', selectors: [{ source: '/a', syntax: 'match' }], since: 1, payload: { n: 1 } },
  ]);
  await one.close();
  assert.deepEqual(await two.list(), []);
});

test('after a Redis restart (empty), each node writes its subscribers again', async (t) => {
  if (!requireRedisServer(t)) return;
  const redis = await OwnRedis.start();
  t.after(() => redis.stop());
  const one = createRedisPresence(redis.url);
  const two = createRedisPresence(redis.url);
  t.after(() => Promise.all([one.close(), two.close()]));
  await Promise.all([one.ready(), two.ready()]);
  one.join({ id: 'urn:uuid:kept', selectors: [{ source: '/a', syntax: 'topic' }], since: 1 });
  const listedBy = (p: typeof two, count: number) =>
    retryUntil(async () => {
      const listed = await p.list();
      return listed.length === count ? listed : undefined;
    }, `${count} subscriber(s) listed by the other node`);
  await listedBy(two, 1);
  await redis.stop();
  await assert.rejects(two.list(), /redis presence could not list subscribers/);
  await redis.restart();
  const listed = await listedBy(two, 1);
  assert.equal(listed[0]!.id, 'urn:uuid:kept');
});
