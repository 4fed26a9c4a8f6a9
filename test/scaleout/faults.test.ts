/**
 * Several `herald serve` nodes on one Redis (our own redis-server, so it can fail): the same events
 * with the same IDs everywhere, resumption on any node, and what users see when Redis or a node
 * fails. The whole sequence runs with two and with three nodes; the phases share one Redis and one
 * set of nodes (starting processes is the slow part), each phase with subscribers of its own.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  KEY,
  type Node,
  OwnRedis,
  publishTo,
  ResumingSubscriber,
  requireRedisServer,
  startNode,
  startNodes,
} from './nodes.js';

const TOPIC = 'https://example.com/scaleout';

function publisherToken(): Promise<string> {
  return new SignJWT({ mercure: { publish: ['*'], subscribe: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(KEY));
}

function subscribeUrl(node: Node): string {
  return `${node.hubUrl}?topic=${encodeURIComponent(TOPIC)}`;
}

/** Publishes `count` updates with data `<label>-<i>` one after the other; every one must be taken. */
async function publishSeries(node: () => Node, token: string, label: string, count: number, from = 0) {
  for (let i = from; i < from + count; i++) {
    const { status, body } = await publishTo(node().hubUrl, token, { topic: TOPIC, data: `${label}-${i}` });
    assert.equal(status, 200, `publish ${label}-${i}: ${body}`);
  }
}

function expected(label: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${label}-${i}`);
}

type Phase = (t: TestContext) => Promise<void>;

function subscribers(t: TestContext, subs: ResumingSubscriber[]): ResumingSubscriber[] {
  t.after(() => {
    for (const s of subs) s.close();
  });
  return subs;
}

for (const count of [2, 3]) {
  test(`${count} nodes on one Redis`, { timeout: 600_000 }, async (t) => {
    if (!requireRedisServer(t)) return;
    const redis = await OwnRedis.start();
    t.after(() => redis.stop());
    const nodes = await startNodes(redis.url, count);
    t.after(() => Promise.all(nodes.map((n) => n.kill())));
    const token = await publisherToken();

    const phases: [string, Phase][] = [
      [
        'every subscriber gets every update once, in order, with the same IDs; resume works on any node',
        async (t) => {
          const subs = subscribers(
            t,
            nodes.map((n) => new ResumingSubscriber(() => [subscribeUrl(n)])),
          );
          await Promise.all(subs.map((s) => s.start()));
          // Published round-robin over the nodes: the order is the stream's, whoever took the update.
          for (let i = 0; i < 30; i++) {
            const { status } = await publishTo(nodes[i % count]!.hubUrl, token, {
              topic: TOPIC,
              data: `u-${i}`,
            });
            assert.equal(status, 200);
          }
          await Promise.all(subs.map((s) => s.until((x) => x.events.length >= 30)));
          for (const s of subs) {
            assert.deepEqual(
              s.events.map((e) => e.data),
              expected('u', 30),
            );
            assert.deepEqual(
              s.events.map((e) => e.id),
              subs[0]!.events.map((e) => e.id),
            );
          }
          // Resuming on the last node from the 10th event gives the 20 after it.
          const [resumed] = subscribers(t, [
            new ResumingSubscriber(() => [subscribeUrl(nodes[count - 1]!)], subs[0]!.events[9]!.id),
          ]);
          await resumed!.start();
          await resumed!.until((x) => x.events.length >= 20);
          assert.deepEqual(
            resumed!.events.map((e) => e.data),
            expected('u', 30).slice(10),
          );
        },
      ],
      [
        'Redis paused: publishes wait, then every one is delivered once',
        async (t) => {
          const subs = subscribers(
            t,
            nodes.map((n) => new ResumingSubscriber(() => [subscribeUrl(n)])),
          );
          await Promise.all(subs.map((s) => s.start()));
          redis.pause();
          // Shorter than the store's 2 s command timeout: these wait for Redis rather than fail.
          const during = Array.from({ length: 6 }, (_, i) =>
            publishTo(nodes[i % count]!.hubUrl, token, { topic: TOPIC, data: `p-${i}` }),
          );
          // Every node's XADD reached the paused Redis and waits there, unread.
          await redis.waitForUnreadCommands(count);
          redis.resume();
          const results = await Promise.all(during);
          assert.deepEqual(
            results.map((r) => r.status),
            results.map(() => 200),
          );
          await Promise.all(subs.map((s) => s.until((x) => x.events.length >= 6)));
          for (const s of subs) {
            // Concurrent publishes: any order, but the same one on every node.
            assert.deepEqual(s.events.map((e) => e.data).sort(), expected('p', 6));
            assert.deepEqual(
              s.events.map((e) => e.id),
              subs[0]!.events.map((e) => e.id),
            );
          }
        },
      ],
      [
        'Redis down: publish answers 503, streams stay open with heartbeats; when back, delivery resumes',
        async (t) => {
          const subs = subscribers(
            t,
            nodes.map((n) => new ResumingSubscriber(() => [subscribeUrl(n)])),
          );
          await Promise.all(subs.map((s) => s.start()));
          await redis.stop();
          for (const node of nodes) {
            const refused = await publishTo(node.hubUrl, token, { topic: TOPIC, data: 'refused' });
            assert.equal(refused.status, 503);
            assert.match(refused.body, /cannot reach its store/);
          }
          const comments = subs.map((s) => s.comments);
          await Promise.all(subs.map((s, i) => s.until((x) => x.comments >= comments[i]! + 2)));

          await redis.restart();
          // Each node says when its connections are back (its second "redis available": the first
          // was at start); from then on it takes publishes, and its reader reads what any node appends.
          await Promise.all(
            nodes.map((node) => node.proc.waitForOutput(/("msg":"redis available"[\s\S]*){2}/)),
          );
          for (let i = 0; i < 5; i++) {
            const { status, body } = await publishTo(nodes[i % count]!.hubUrl, token, {
              topic: TOPIC,
              data: `back-${i}`,
            });
            assert.equal(status, 200, body);
          }
          await Promise.all(subs.map((s) => s.until((x) => x.events.length >= 5)));
          for (const s of subs) {
            assert.deepEqual(
              s.events.map((e) => e.data),
              expected('back', 5),
            );
            assert.equal(s.connections, 1, 'the stream stayed open throughout');
          }
        },
      ],
      [
        'a node killed mid-stream: its subscribers resume on another, nothing lost or doubled',
        async (t) => {
          const alive = new Set(nodes);
          const victim = nodes[0]!;
          // Subscribers start on the victim and, once it is gone, go to a node still up.
          const subs = subscribers(t, [
            new ResumingSubscriber(() => [...alive].map(subscribeUrl)),
            new ResumingSubscriber(() => [...alive].map(subscribeUrl)),
          ]);
          await Promise.all(subs.map((s) => s.start()));
          const publishing = publishSeries(() => nodes[1]!, token, 'k', 100);
          await Promise.all(subs.map((s) => s.until((x) => x.events.length >= 20)));
          alive.delete(victim);
          await victim.kill();
          await publishing;
          await Promise.all(subs.map((s) => s.until((x) => x.events.length >= 100)));
          for (const s of subs) {
            assert.deepEqual(
              s.events.map((e) => e.data),
              expected('k', 100),
            );
            assert.ok(s.connections >= 2, 'the subscriber reconnected');
          }
        },
      ],
      [
        'a restarted node rejoins without replaying old events to new or live subscribers',
        async (t) => {
          const [live] = subscribers(t, [new ResumingSubscriber(() => [subscribeUrl(nodes[1]!)])]);
          await live!.start();
          const restarted = await startNode(redis.url);
          nodes[0] = restarted;
          const [fresh] = subscribers(t, [new ResumingSubscriber(() => [subscribeUrl(restarted)])]);
          await fresh!.start();
          await publishSeries(() => restarted, token, 'new', 3);
          await fresh!.until((x) => x.events.length >= 3);
          await live!.until((x) => x.events.length >= 3);
          assert.deepEqual(
            fresh!.events.map((e) => e.data),
            expected('new', 3),
          );
          assert.deepEqual(
            live!.events.map((e) => e.data),
            expected('new', 3),
          );
        },
      ],
    ];
    for (const [name, phase] of phases) await t.test(name, phase);
  });
}
