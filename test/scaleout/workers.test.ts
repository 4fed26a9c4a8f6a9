/**
 * A `--workers 2` node beside a plain node on one Redis (each worker reads the stream itself): a
 * worker killed mid-stream, its subscribers resume on the node's other workers, nothing lost or
 * doubled, and subscribers on the other node are unaffected.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { KEY, OwnRedis, publishTo, ResumingSubscriber, requireRedisServer, startNode } from './nodes.js';

const TOPIC = 'https://example.com/workers';

test('a worker killed mid-stream: its subscribers resume on another worker, exactly once, in order', async (t) => {
  if (!requireRedisServer(t)) return;
  const redis = await OwnRedis.start();
  t.after(() => redis.stop());
  const [clustered, plain] = await Promise.all([
    startNode(redis.url, ['--workers', '2']),
    startNode(redis.url),
  ]);
  t.after(() => Promise.all([clustered.kill(), plain.kill()]));
  const token = await new SignJWT({ mercure: { publish: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(KEY));
  const url = (node: typeof plain) => `${node.hubUrl}?topic=${encodeURIComponent(TOPIC)}`;

  // Four subscribers on the clustered node (round-robin: both workers get some), one on the other.
  const subs = [1, 2, 3, 4].map(() => new ResumingSubscriber(() => [url(clustered)]));
  const other = new ResumingSubscriber(() => [url(plain)]);
  t.after(() => {
    for (const s of [...subs, other]) s.close();
  });
  for (const s of [...subs, other]) await s.start();
  const victim = subs[0]!.workers[0]!;
  assert.match(victim, /^\d+$/);

  const publishing = (async () => {
    for (let i = 0; i < 100; i++) {
      const { status, body } = await publishTo(plain.hubUrl, token, { topic: TOPIC, data: `w-${i}` });
      assert.equal(status, 200, body);
    }
  })();
  await Promise.all(subs.map((s) => s.until((x) => x.events.length >= 20)));
  process.kill(Number(victim), 'SIGKILL');
  await publishing;
  const all = Array.from({ length: 100 }, (_, i) => `w-${i}`);
  for (const s of [...subs, other]) {
    await s.until((x) => x.events.length >= 100);
    assert.deepEqual(
      s.events.map((e) => e.data),
      all,
    );
  }
  assert.ok(subs[0]!.connections >= 2, 'the victim worker’s subscriber reconnected');
  assert.notEqual(subs[0]!.workers.at(-1), victim);
});
