import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  canPublish,
  canReceive,
  compileSelector,
  MAX_SELECTOR_LENGTH,
  SelectorError,
  SelectorSet,
  type SelectorSyntax,
} from '../../../src/hub/topics/index.js';

describe('compileSelector', () => {
  test('compiles once: the same (syntax, source) gives the same instance', () => {
    const a = compileSelector('https://example.com/{id}', 'template');
    assert.equal(compileSelector('https://example.com/{id}', 'template'), a);
    assert.notEqual(compileSelector('https://example.com/{id}', 'exact'), a);
  });

  test('`*` matches everything in every syntax', () => {
    for (const syntax of ['template', 'exact', 'urlpattern'] as const) {
      const all = compileSelector('*', syntax);
      assert.equal(all.kind, 'wildcard');
      assert.ok(all.matches('anything at all'));
    }
  });

  test('exact selectors compare byte for byte, without normalization', () => {
    const exact = compileSelector('https://example.com/café', 'exact');
    assert.ok(exact.matches('https://example.com/café'));
    assert.equal(exact.matches('https://example.com/cafe\u0301'), false);
    assert.equal(exact.matches('https://example.com/caf%C3%A9'), false);
    // 1.0 `match=`: braces are literal, not a template.
    assert.equal(
      compileSelector('https://example.com/{id}', 'exact').matches('https://example.com/1'),
      false,
    );
  });

  test('control characters, format characters and oversized selectors are refused', () => {
    for (const bad of [
      'a\u0000b',
      'a\nb',
      'a\u0085b',
      'a\u200bb',
      'a\u202eb',
      'a\ud800b',
      'x'.repeat(MAX_SELECTOR_LENGTH + 1),
    ]) {
      assert.throws(() => compileSelector(bad, 'exact'), SelectorError);
    }
  });
});

describe('SelectorSet', () => {
  test('matches by exact string, wildcard or pattern', () => {
    const set = SelectorSet.from(['news', 'https://example.com/books/{id}'], 'template');
    assert.ok(set.matches('news'));
    assert.ok(set.matches('https://example.com/books/1'));
    assert.equal(set.matches('sports'), false);
    assert.ok(set.matchesAny(['sports', 'news']));
    assert.equal(set.matchesAny([]), false);
    assert.deepEqual(set.sources, ['news', 'https://example.com/books/{id}']);
    assert.ok(SelectorSet.from(['*'], 'exact').matchesAny(['x']));
    assert.equal(SelectorSet.EMPTY.matchesAny(['x']), false);
  });

  test('mixes syntaxes, as 1.0 tokens do', () => {
    const set = new SelectorSet([
      compileSelector('https://example.com/books/1', 'exact'),
      compileSelector('https://example.com/users/42/*', 'urlpattern'),
    ]);
    assert.ok(set.matches('https://example.com/books/1'));
    assert.ok(set.matches('https://example.com/users/42/books/9'));
    assert.equal(set.matches('https://example.com/books/2'), false);
    assert.equal(set.size, 2);
  });
});

describe('authorization rules', () => {
  const grants = SelectorSet.from(['https://example.com/books/{id}'], 'template');

  test('publishing needs every topic granted (both drafts, "Publishers")', () => {
    assert.ok(canPublish(['https://example.com/books/1'], grants));
    assert.ok(canPublish(['https://example.com/books/1', 'https://example.com/books/2'], grants));
    assert.equal(canPublish(['https://example.com/books/1', 'https://example.com/authors/1'], grants), false);
    assert.equal(canPublish(['https://example.com/books/1'], undefined), false);
    assert.equal(canPublish(['https://example.com/books/1'], SelectorSet.EMPTY), false);
    assert.equal(canPublish([], grants), false);
  });

  test('public updates reach matching subscribers, token or not', () => {
    const subscribed = SelectorSet.from(['https://example.com/books/{id}'], 'template');
    const update = { topics: ['https://example.com/books/1'], private: false };
    assert.ok(canReceive(update, subscribed, undefined));
    assert.equal(
      canReceive({ ...update, topics: ['https://example.com/authors/1'] }, subscribed, undefined),
      false,
    );
  });

  test('a private update needs a subscribe grant on one of its topics (draft-07 alternate-topic example)', () => {
    const subscribed = SelectorSet.from(['https://example.com/books/{id}'], 'template');
    const claim = SelectorSet.from(['https://example.com/users/foo/{?topic}'], 'template');
    const update = {
      topics: [
        'https://example.com/books/1',
        'https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1',
      ],
      private: true,
    };
    assert.ok(canReceive(update, subscribed, claim));
    assert.equal(
      canReceive({ ...update, topics: ['https://example.com/books/1'] }, subscribed, claim),
      false,
    );
    assert.equal(canReceive(update, subscribed, undefined), false);
    assert.equal(canReceive(update, subscribed, SelectorSet.EMPTY), false);
  });

  test('1.0 "Subscribers" example: routing selects books/:id, the token grants books 1 and 7', () => {
    const subscribed = SelectorSet.from(['https://example.com/books/:id'], 'urlpattern');
    const claim = SelectorSet.from(['https://example.com/books/1', 'https://example.com/books/7'], 'exact');
    assert.ok(canReceive({ topics: ['https://example.com/books/1'], private: true }, subscribed, claim));
    assert.equal(
      canReceive({ topics: ['https://example.com/books/2'], private: true }, subscribed, claim),
      false,
    );
    assert.ok(canReceive({ topics: ['https://example.com/books/2'], private: false }, subscribed, claim));
  });

  test('property: a private update is received exactly when a routing selector and a claim selector each match one of its topics', () => {
    const alphabet = ['a', 'b', 'c', '/', '{', '}', 'x', '*'];
    const text = fc.array(fc.constantFrom(...alphabet), { maxLength: 6 }).map((cs) => cs.join(''));
    const topic = fc
      .array(fc.constantFrom('a', 'b', 'c', '/'), { minLength: 0, maxLength: 6 })
      .map((cs) => cs.join(''));
    const selectors = fc.array(
      fc.oneof(
        text.map((s) => ['template', s] as const),
        text.map((s) => ['exact', s] as const),
        topic.map((s) => ['urlpattern', `/${s}`] as const),
        fc.constant(['exact', '*'] as const),
      ),
      { maxLength: 4 },
    );
    const toSet = (list: ReadonlyArray<readonly [SelectorSyntax, string]>) =>
      new SelectorSet(list.map(([syntax, source]) => compileSelector(source, syntax)));
    fc.assert(
      fc.property(
        fc.array(topic, { minLength: 1, maxLength: 3 }),
        selectors,
        fc.option(selectors, { nil: undefined }),
        (topics, subscribed, claim) => {
          const claimSet = claim === undefined ? undefined : toSet(claim);
          const received = canReceive({ topics, private: true }, toSet(subscribed), claimSet);
          const matchedBy = (list: ReadonlyArray<readonly [SelectorSyntax, string]>) =>
            topics.some((t) => list.some(([syntax, source]) => compileSelector(source, syntax).matches(t)));
          // The rule exactly: routing matches one topic, and a grant matches one topic.
          return received === (matchedBy(subscribed) && claim !== undefined && matchedBy(claim));
        },
      ),
      { seed: 20261125, numRuns: 400 },
    );
  });
});
