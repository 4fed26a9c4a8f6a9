import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeraldError } from '../src/errors.js';

class ParseFailure extends HeraldError {}

test('HeraldError carries a stable code and is recognised across package copies', () => {
  const err = new ParseFailure('HERALD_ERR_TEST', 'a rule was broken (got 1)');
  assert.equal(err.code, 'HERALD_ERR_TEST');
  assert.equal(err.name, 'ParseFailure');
  assert.ok(err instanceof HeraldError);
  assert.ok(err instanceof ParseFailure);
  assert.ok(!(new Error('x') instanceof HeraldError));
  // A look-alike from a second copy of the package carries the same registered symbol.
  const foreign = Object.create(null, { [Symbol.for('herald.error')]: { value: true } });
  assert.ok(foreign instanceof HeraldError);
  assert.ok(!(foreign instanceof ParseFailure));
});
