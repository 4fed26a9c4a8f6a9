import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compileSelector,
  MAX_SELECTOR_COST,
  SELECTOR_CACHE_BYTES,
  SelectorCostError,
  selectorCacheUsage,
} from '../../../src/hub/topics/index.js';

test('the compiled-selector cache is bounded by memory: costly selectors evict one another long before 10,000 entries', () => {
  // Each costs ~4,800 units (~0.7 MiB held, estimated 1.2 MiB): 60 of them pass the 64 MiB bound.
  for (let i = 0; i < 60; i++) {
    compileSelector(`https://ex.com/cache${i}/:x((?:ab|cd|ef|gh){1,400})`, 'urlpattern');
    const usage = selectorCacheUsage();
    assert.ok(usage.bytes <= SELECTOR_CACHE_BYTES, `${usage.bytes} bytes estimated after ${i + 1}`);
  }
  assert.ok(selectorCacheUsage().entries < 60, `${selectorCacheUsage().entries} entries kept`);
});

test('a selector over MAX_SELECTOR_COST is refused with SelectorCostError before it is compiled', () => {
  assert.throws(
    () => compileSelector('https://ex.com/big/:x((?:ab|cd|ef|gh){1,1000})', 'urlpattern'),
    (error: unknown) =>
      error instanceof SelectorCostError &&
      error.code === 'HERALD_ERR_SELECTOR_TOO_COSTLY' &&
      error.limit === MAX_SELECTOR_COST &&
      error.cost > 12_000,
  );
  assert.throws(() => compileSelector('https://ex.com/{id:1000}', 'template'), SelectorCostError);
  // Plain patterns and modest templates are untouched.
  assert.equal(
    compileSelector('https://ex.com/books/:id', 'urlpattern').matches('https://ex.com/books/1'),
    true,
  );
  assert.equal(
    compileSelector('https://ex.com/books/{id:100}', 'template').matches('https://ex.com/books/12'),
    true,
  );
});
