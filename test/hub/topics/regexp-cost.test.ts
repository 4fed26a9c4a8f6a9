import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RE2JS } from 're2js';
import { estimateRegExpCost, uriTemplateToRegExpSource } from '../../../src/hub/topics/index.js';

/** The real engine's instruction count for `source` (what the estimate prices before compiling). */
function instructions(source: string): number {
  return (
    RE2JS.compile(source) as unknown as { re2Input: { numberOfInstructions(): number } }
  ).re2Input.numberOfInstructions();
}

test('the estimated cost is within 15% (or 3 instructions) of the program re2js compiles', () => {
  const sources = [
    '^(?:ab|cd|ef|gh){1,1000}$',
    '^a{1,1000}$',
    '^a{500}$',
    '^(?:abcdefgh){1,100}$',
    '^([^/]+?)$',
    '^/books/([^/]+?)$',
    '^(?<x>a|b)+$',
    '^(?i)ab(?i:cd)$',
    '^\\x{10}[\\]\\x{20}-\\x{30}[:alpha:]]a{3}$',
    '^(?:[a-z]|%[0-9]{2}){0,250}$',
    '^x*y+z?(?:ab){2,}$',
    uriTemplateToRegExpSource('https://ex.com/books/{id}')!,
    uriTemplateToRegExpSource('https://ex.com/books/{id:100}')!,
    uriTemplateToRegExpSource('https://ex.com/{+a}{/b*}{?c,d*}')!,
    uriTemplateToRegExpSource('https://ex.com/é/{x}')!,
  ];
  for (const source of sources) {
    const estimate = estimateRegExpCost(source);
    const actual = instructions(source);
    assert.ok(
      Math.abs(estimate - actual) <= Math.max(3, actual * 0.15),
      `${source}: estimated ${estimate}, compiled to ${actual} instructions`,
    );
  }
});

test('nested repetition multiplies: the cost of what the simplifier expands, read in one pass', () => {
  assert.equal(estimateRegExpCost('^(?:ab|cd|ef|gh){1,1000}$'), 12_001);
  assert.ok(estimateRegExpCost(uriTemplateToRegExpSource('https://ex.com/{id:1000}')!) > 30_000);
  // Unclosed groups and stray characters are priced, not thrown: the engine refuses them afterwards.
  assert.ok(estimateRegExpCost('(a{1,10}') >= 10);
  assert.equal(estimateRegExpCost(''), 1);
});
