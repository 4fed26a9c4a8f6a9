/**
 * `herald serve --store redis://…` while Redis does not answer: the hub starts and serves (publish
 * and /healthz 503, the log says so), and once a Redis comes up on that port publishing recovers and
 * subscribers get updates, with no restart.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { freePort } from '../hub/stores/redis-support.js';
import { spawnRedisServer } from '../support/redis-server.js';
import { requirePart } from '../support/requirements.js';
import { LOCAL_SERVE, startHerald } from './herald-process.js';
import { listeningUrl, openStream, publish, publisherToken } from './streams.js';

const KEY = 'redis-unavailable-test-key-of-32-bytes';
const HUB = '/.well-known/mercure';
const TOPIC = 'https://example.com/redis-down';

function redisServerMissing(): string | null {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return found.error === undefined && found.status === 0 ? null : 'no redis-server binary on PATH';
}

test('Redis unreachable at start: the hub serves with 503 on publish, then recovers when Redis comes up', async (t) => {
  if (!requirePart(t, 'redis-server', redisServerMissing())) return;
  const port = await freePort(); // nobody listens here yet
  const herald = startHerald(
    [
      ...LOCAL_SERVE,
      '--anonymous',
      '--store',
      `redis://127.0.0.1:${port}`,
      '--store-prefix',
      `herald-test-down-${port}`,
    ],
    { HERALD_JWT_KEY: KEY },
  );
  t.after(() => herald.kill());

  const base = await listeningUrl(herald);
  const [line] = await herald.waitForOutput(/\{[^\n]*"msg":"redis unavailable[^\n]*\}/);
  assert.match(JSON.parse(line).msg, /serving on; publishing and \/healthz answer 503/);

  const token = await publisherToken(KEY);
  const refused = await publish(`${base}${HUB}`, token, { topic: TOPIC, data: 'while down' });
  assert.equal(refused.status, 503, refused.body);
  assert.match(refused.body, /cannot reach its store/);
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 503);
  await health.arrayBuffer();
  // A new subscriber (no Last-Event-ID) is let in: it gets updates once Redis is back.
  const stream = await openStream(`${base}${HUB}?topic=${encodeURIComponent(TOPIC)}`);
  t.after(() => stream.close());
  assert.equal(stream.status, 200);

  const redis = await spawnRedisServer(port);
  t.after(() => {
    redis.kill();
  });
  await herald.waitForOutput(/"msg":"redis available"/);

  const accepted = await publish(`${base}${HUB}`, token, { topic: TOPIC, data: 'after', id: 'back-1' });
  assert.equal(accepted.status, 200, accepted.body);
  await stream.waitFor(/id: back-1\ndata: after\n\n/);
  const healthy = await fetch(`${base}/healthz`);
  assert.equal(healthy.status, 200);
  await healthy.arrayBuffer();
  assert.doesNotMatch(stream.text(), /while down/, 'the refused update was not kept');

  herald.child.kill('SIGTERM');
  assert.equal(await herald.exited, 0);
});
