import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHerald } from '../../cli/herald-process.js';
import { listeningUrl, openStream, publish, publisherToken } from '../../cli/streams.js';
import { REDIS_URL, redisPrefix } from '../stores/redis-support.js';

const HUB = '/.well-known/mercure';
const SECRET = 'redis-nodes-secret-key-of-32-bytes!';
const TOPIC = 'https://example.com/nodes';

test('two hubs on one Redis, one with workers: an update published on either reaches both', async (t) => {
  const prefix = await redisPrefix(t);
  if (prefix === undefined) return;
  const common = ['serve', '--port', '0', '--host', '127.0.0.1', '--anonymous', '--store', REDIS_URL];
  const env = { HERALD_JWT_KEY: SECRET, HERALD_STORE_PREFIX: prefix };
  const a = startHerald([...common, '--workers', '2'], env);
  const b = startHerald(common, env);
  t.after(() => {
    a.kill();
    b.kill();
  });
  const [urlA, urlB] = await Promise.all([listeningUrl(a), listeningUrl(b)]);
  const subscribe = `${HUB}?topic=${encodeURIComponent(TOPIC)}`;
  const streams = await Promise.all([urlA, urlA, urlB].map((base) => openStream(`${base}${subscribe}`)));
  t.after(() => {
    for (const s of streams) s.close();
  });
  const token = await publisherToken(SECRET);
  assert.equal(
    (await publish(`${urlA}${HUB}`, token, { topic: TOPIC, id: 'n-1', data: 'from a' })).status,
    200,
  );
  assert.equal(
    (await publish(`${urlB}${HUB}`, token, { topic: TOPIC, id: 'n-2', data: 'from b' })).status,
    200,
  );
  await Promise.all(streams.map((s) => s.waitFor(/id: n-2\n/)));
  for (const s of streams) {
    assert.deepEqual(
      [...s.text().matchAll(/^id: (.*)$/gm)].map((m) => m[1]),
      ['n-1', 'n-2'],
    );
  }
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);
});
