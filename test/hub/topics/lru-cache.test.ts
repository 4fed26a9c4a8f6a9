import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LruCache } from '../../../src/hub/topics/index.js';

test('LruCache holds at most maxEntries and keeps what was used recently', () => {
  const cache = new LruCache<string, number>(10);
  for (let i = 0; i < 100; i++) {
    cache.set(`k${i}`, i);
    // k0 is read after every insertion: it must survive all of them.
    assert.equal(cache.get('k0'), 0);
    assert.ok(cache.size <= 10, `size ${cache.size} after ${i + 1} insertions`);
  }
  assert.equal(cache.get('k99'), 99);
  assert.equal(cache.get('k1'), undefined, 'an entry never read again is evicted');
  cache.set('k0', 7);
  assert.equal(cache.get('k0'), 7);
  cache.clear();
  assert.equal(cache.size, 0);
  assert.throws(() => new LruCache(1), RangeError);
});
