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

test('with a weight, LruCache holds at most maxWeight whatever the entry count', () => {
  const cache = new LruCache<string, string>(10_000, { maxWeight: 1000, weigh: (v) => v.length });
  for (let i = 0; i < 100; i++) {
    cache.set(`k${i}`, 'x'.repeat(100));
    assert.ok(cache.weight <= 1000, `weight ${cache.weight} after ${i + 1} insertions`);
    assert.ok(cache.size <= 10);
  }
  assert.equal(cache.get('k99')?.length, 100);
  cache.set('k99', 'x'.repeat(300));
  assert.ok(cache.weight <= 1200, 'a replaced value is weighed again');
  // One value heavier than a generation may hold is not kept at all.
  cache.set('huge', 'x'.repeat(600));
  assert.equal(cache.get('huge'), undefined);
  assert.throws(() => new LruCache(10, { maxWeight: 0, weigh: () => 1 }), RangeError);
});
