import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HubHttpError } from '../../../src/hub/http/errors.js';
import { type FormFields, parseStrictForm } from '../../../src/hub/http/strict-form.js';
import { seededRandom } from '../../support/seeded-random.js';

/** Every field through the three reading methods. */
function fields(form: FormFields, names: string[]): unknown {
  return names.map((name) => [name, form.has(name), form.get(name), form.getAll(name)]);
}

const isHex = (byte: number | undefined) =>
  byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66));
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The WHATWG URL standard's form parsing, step by step on bytes (application/x-www-form-urlencoded
 * parser, percent-decode, UTF-8 decode without BOM), but fatal where the standard puts U+FFFD:
 * the oracle the strict parser is held to. Undefined when a name or value is not UTF-8.
 */
function whatwgStrict(text: string): URLSearchParams | undefined {
  const out = new URLSearchParams();
  for (const sequence of Buffer.from(text, 'utf8').toString('latin1').split('&')) {
    if (sequence === '') continue;
    const eq = sequence.indexOf('=');
    const parts = eq === -1 ? [sequence, ''] : [sequence.slice(0, eq), sequence.slice(eq + 1)];
    const decoded: string[] = [];
    for (const part of parts) {
      const bytes = Buffer.from(part.replaceAll('+', ' '), 'latin1');
      const result: number[] = [];
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] === 0x25 && isHex(bytes[i + 1]) && isHex(bytes[i + 2])) {
          result.push(Number.parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16));
          i += 2;
        } else result.push(bytes[i]!);
      }
      try {
        decoded.push(fatal.decode(Uint8Array.from(result)));
      } catch {
        return undefined;
      }
    }
    out.append(decoded[0]!, decoded[1]!);
  }
  return out;
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

test('parseStrictForm reads forms as the WHATWG standard does, and refuses what is not UTF-8 (random forms, seeded)', () => {
  const random = seededRandom(0x5eed);
  const names = ['a', 'topic', 'data', 'x', '', 'a b', 'a+b', 'é', '%', '%4', '%zz', '%é'];
  let refused = 0;
  let likePlatform = 0;
  for (let round = 0; round < 5000; round++) {
    let text = '';
    const length = Math.floor(random() * 24);
    for (let i = 0; i < length; i++) text += PIECES[Math.floor(random() * PIECES.length)]!;
    const expected = whatwgStrict(text);
    if (expected === undefined) {
      // Pieces joined at random can make an escape of a byte that is not UTF-8 (`%` then `da...`).
      assert.throws(
        () => parseStrictForm(text, 'body'),
        (error: unknown) => error instanceof HubHttpError && error.status === 400,
        `form ${JSON.stringify(text)} refused`,
      );
      refused++;
      continue;
    }
    const seen = [...new Set([...expected.keys(), ...names])];
    const actual = parseStrictForm(text, 'body');
    assert.deepEqual(fields(actual, seen), fields(expected, seen), `form ${JSON.stringify(text)}`);
    // The oracle itself agrees with the platform, except where a bare `%` is: there Node's
    // URLSearchParams mangles literal non-ASCII characters (`%zz😀` reads `%zz=\0`, Node 20-26).
    if (!/%(?![0-9A-Fa-f]{2})/.test(text)) {
      assert.deepEqual(
        fields(new URLSearchParams(text), seen),
        fields(expected, seen),
        `platform, ${JSON.stringify(text)}`,
      );
      likePlatform++;
    }
  }
  assert.ok(refused > 50 && refused < 2500, `${refused} of 5000 refused: both kinds were tried`);
  assert.ok(likePlatform > 1000, `${likePlatform} of 5000 also checked against URLSearchParams`);
});

test('parseStrictForm keeps literal non-ASCII text beside a bare "%" (URLSearchParams mangles it)', () => {
  const form = parseStrictForm('data=50%é&topic=a%%41&type=%zz😀&id=%C3%A9x😀%zz', 'body');
  assert.equal(form.get('data'), '50%é');
  assert.equal(form.get('topic'), 'a%A');
  assert.equal(form.get('type'), '%zz😀');
  assert.equal(form.get('id'), 'éx😀%zz');
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
