/**
 * While Redis is down every publish is refused the same way: the log says so once in full, then
 * counts, instead of one ~1 KB line with a stack per publish.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '../hub/stores/redis-support.js';
import { LOCAL_SERVE, startHerald } from './herald-process.js';
import { listeningUrl, publish, publisherToken } from './streams.js';

const KEY = 'repeated-errors-test-key-of-32-bytes';

test('Redis down: 30 refused publishes log one full error line, not 30', async (t) => {
  const port = await freePort(); // no Redis here
  const herald = startHerald(
    [...LOCAL_SERVE, '--store', `redis://127.0.0.1:${port}`, '--store-prefix', 'x'],
    { HERALD_JWT_KEY: KEY },
  );
  t.after(() => herald.kill());
  const base = await listeningUrl(herald);
  const token = await publisherToken(KEY);
  for (let i = 0; i < 30; i++) {
    const refused = await publish(`${base}/.well-known/mercure`, token, {
      topic: 'https://example.com/x',
      data: 'x',
    });
    assert.equal(refused.status, 503);
  }
  herald.child.kill('SIGTERM');
  assert.equal(await herald.exited, 0);
  const failed = herald
    .stdout()
    .split('\n')
    .filter((line) => line.includes('"msg":"hub request failed'));
  // The first in full; the other 29 in one line with their count (logged at the latest on shutdown).
  assert.equal(failed.length, 2, failed.join('\n'));
  assert.match(failed[0]!, /"err":\{/);
  assert.match(failed[1]!, /"repeated":29,"code":"HERALD_ERR_STORE_UNAVAILABLE"/);
  assert.ok(failed[1]!.length < 400, `the count line is short (${failed[1]!.length} bytes)`);
});
