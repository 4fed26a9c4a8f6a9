import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HubHttpError } from '../../../src/hub/http/errors.js';
import { type FormFields, parseStrictForm } from '../../../src/hub/http/strict-form.js';
import { seededRandom } from '../../support/seeded-random.js';

/** Every field as URLSearchParams reads it, through the three reading methods. */
function fields(form: FormFields, names: string[]): unknown {
  return names.map((name) => [name, form.has(name), form.get(name), form.getAll(name)]);
}

// Pieces a form body is made of: separators, escapes of every kind (valid UTF-8, a `%` without
// hex after it, which WHATWG keeps, `+`, escaped `+` and `&`), literal non-ASCII text.
const PIECES = [
  'a',
  'topic',
  'data',
  'x',
  '=',
  '=',
  '&',
  '&',
  '+',
  '%2B',
  '%26',
  '%3D',
  '%20',
  '%',
  '%4',
  '%zz',
  '%C3%A9',
  '%E2%82%AC',
  '%F0%9F%98%80',
  '%EF%BB%BF',
  'é',
  '€',
  '😀',
  '%0A',
  '%00',
];

test('parseStrictForm reads every valid form as URLSearchParams does, and refuses the others (random forms, seeded)', () => {
  const random = seededRandom(0x5eed);
  const names = ['a', 'topic', 'data', 'x', '', 'a b', 'a+b', 'é', '%', '%4', '%zz'];
  let refused = 0;
  for (let round = 0; round < 5000; round++) {
    let text = '';
    const length = Math.floor(random() * 24);
    for (let i = 0; i < length; i++) text += PIECES[Math.floor(random() * PIECES.length)]!;
    const expected = new URLSearchParams(text);
    let actual: FormFields;
    try {
      actual = parseStrictForm(text, 'body');
    } catch (error) {
      // Pieces joined at random can make an escape of a byte that is not UTF-8 (`%` then `da...`):
      // refused, where URLSearchParams would have put U+FFFD in its place.
      assert.ok(error instanceof HubHttpError && error.status === 400, String(error));
      assert.match(`${expected}`, /%EF%BF%BD/, `form ${JSON.stringify(text)} refused`);
      refused++;
      continue;
    }
    const seen = [...new Set([...expected.keys(), ...names])];
    assert.deepEqual(fields(actual, seen), fields(expected, seen), `form ${JSON.stringify(text)}`);
  }
  assert.ok(refused > 50 && refused < 2500, `${refused} of 5000 refused: both kinds were tried`);
});

test('parseStrictForm: a 64 KiB value, repeated and empty fields, fields without "="', () => {
  const big = 'x'.repeat(65536);
  const text = `topic=a&&topic=b&data=${big}&private&=v&id=&topic=%2Fc`;
  const form = parseStrictForm(text, 'body');
  assert.deepEqual(form.getAll('topic'), ['a', 'b', '/c']);
  assert.equal(form.get('data'), big);
  assert.equal(form.has('private'), true);
  assert.equal(form.get('private'), '');
  assert.equal(form.get(''), 'v');
  assert.equal(form.get('id'), '');
  assert.equal(form.get('type'), null);
  assert.deepEqual(form.getAll('type'), []);
});

test('parseStrictForm: escapes that are not UTF-8 are a 400 naming the field, wherever they are', () => {
  for (const [text, field] of [
    ['topic=a&data=%FF%FE', '"data"'],
    ['data=ok%E0%A4&topic=a', '"data"'],
    ['topic=a&id=%ED%A0%80', '"id"'], // an encoded lone surrogate
    ['topic=%C0%80', '"topic"'], // overlong NUL
    ['topic=a&data=%25&type=%zz%FF', '"type"'], // beside a `%` that WHATWG keeps
  ] as const) {
    assert.throws(
      () => parseStrictForm(text, 'body'),
      (error: unknown) =>
        error instanceof HubHttpError &&
        error.status === 400 &&
        error.message.includes(field) &&
        error.message.includes('not valid UTF-8'),
      text,
    );
  }
});
