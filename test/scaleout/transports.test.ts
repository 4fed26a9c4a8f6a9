/**
 * WebSocket and long-poll subscribers across processes: on nodes sharing Redis, a WebSocket
 * subscriber on one node gets what is published on another and resumes on a third; on a
 * `--workers 2` node, WebSocket subscribers on both workers get every update, in order, once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { LOCAL_SERVE, startHerald } from '../cli/herald-process.js';
import { type Feed, openFeed } from '../support/transports.js';
import { KEY, OwnRedis, publishTo, requireRedisServer, startNode } from './nodes.js';

async function publisherToken(): Promise<string> {
  return new SignJWT({ mercure: { publish: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(KEY));
}

async function take(feed: Feed, n: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) out.push((await feed.next()).data);
  return out;
}

test('Redis: a WebSocket subscriber gets what another node publishes and resumes on a third', async (t) => {
  if (!requireRedisServer(t)) return;
  const redis = await OwnRedis.start();
  t.after(() => redis.stop());
  const [a, b, c] = await Promise.all([startNode(redis.url), startNode(redis.url), startNode(redis.url)]);
  t.after(() => Promise.all([a.kill(), b.kill(), c.kill()]));
  const token = await publisherToken();
  const topic = 'https://example.com/ws-scale';
  const url = (hubUrl: string) => `${hubUrl}?topic=${encodeURIComponent(topic)}`;

  const first = await openFeed('ws', url(a.hubUrl));
  t.after(() => first.close());
  for (let i = 0; i < 20; i++) {
    const { status, body } = await publishTo(b.hubUrl, token, { topic, data: `r-${i}` });
    assert.equal(status, 200, body);
  }
  const before = await take(first, 20);
  assert.deepEqual(
    before,
    Array.from({ length: 20 }, (_, i) => `r-${i}`),
  );
  const cursor = first.lastEventId!;
  first.close();
  for (let i = 20; i < 40; i++) await publishTo(b.hubUrl, token, { topic, data: `r-${i}` });

  // Resumed on a third node, over WebSocket and over long polling: the rest, once, in order.
  for (const transport of ['ws', 'poll'] as const) {
    const resumed = await openFeed(transport, url(c.hubUrl), {}, cursor);
    const after = await take(resumed, 20);
    resumed.close();
    assert.deepEqual(
      after,
      Array.from({ length: 20 }, (_, i) => `r-${20 + i}`),
      transport,
    );
  }
});

test('--workers 2: WebSocket subscribers on either worker get every update once, in order, and resume', async (t) => {
  const node = startHerald([
    ...LOCAL_SERVE,
    '--anonymous',
    '--jwt-key',
    KEY,
    '--workers',
    '2',
    '--log-level',
    'info',
  ]);
  t.after(async () => {
    node.kill();
    await node.exited;
  });
  const [, listening] = (await node.waitForOutput(/"url":"(http:\/\/[^"]+)"/)) as RegExpMatchArray as [
    string,
    string,
  ];
  const hubUrl = `${listening.replace('localhost', '127.0.0.1')}/.well-known/mercure`;
  const topic = 'https://example.com/ws-workers';
  const url = `${hubUrl}?topic=${encodeURIComponent(topic)}`;
  const token = await publisherToken();

  // Connections are spread over the workers by the primary (round-robin): four land on both.
  const feeds = await Promise.all([1, 2, 3, 4].map(() => openFeed('ws', url)));
  t.after(() => {
    for (const f of feeds) f.close();
  });
  const all = Array.from({ length: 50 }, (_, i) => `k-${i}`);
  for (const data of all.slice(0, 25))
    assert.equal((await publishTo(hubUrl, token, { topic, data })).status, 200);
  for (const f of feeds) assert.deepEqual(await take(f, 25), all.slice(0, 25));

  const cursor = feeds[0]!.lastEventId!;
  feeds[0]!.close();
  for (const data of all.slice(25))
    assert.equal((await publishTo(hubUrl, token, { topic, data })).status, 200);
  for (const f of feeds.slice(1)) assert.deepEqual(await take(f, 25), all.slice(25));
  const resumed = await openFeed('ws', url, {}, cursor);
  t.after(() => resumed.close());
  assert.deepEqual(await take(resumed, 25), all.slice(25));
});
