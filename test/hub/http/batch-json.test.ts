import assert from 'node:assert/strict';
import { test } from 'node:test';
import { itemEnds, parseBatchJson } from '../../../src/hub/http/batch-json.js';
import { seededRandom } from '../../support/seeded-random.js';

// Characters that could fool a cutter: quotes, backslashes, commas and brackets inside strings,
// multi-byte UTF-8, a lone surrogate's escape.
const TRICKY = ['"', '\\', ',', '[', ']', '{', '}', '\\"', 'é', '😀', '\u2028', '\n', ' ', 'x'];

function value(next: () => number, depth: number): unknown {
  const r = next();
  if (depth > 2 || r < 0.5) {
    let text = '';
    const n = Math.floor(next() * 40);
    for (let i = 0; i < n; i++) text += TRICKY[Math.floor(next() * TRICKY.length)];
    return text;
  }
  if (r < 0.6) return Math.floor(next() * 1e6) / 7;
  if (r < 0.65) return next() < 0.5 ? null : true;
  if (r < 0.8) return [value(next, depth + 1), value(next, depth + 1)];
  return { topic: value(next, depth + 1), 'da,ta"]': value(next, depth + 1) };
}

test('parseBatchJson: large bodies read as JSON.parse reads them, whatever their strings hold', () => {
  const next = seededRandom(11);
  for (let round = 0; round < 6; round++) {
    const items = Array.from({ length: 3000 + round * 1500 }, () => value(next, 0));
    // Pretty-printed bodies too: whitespace between and around items.
    const text = round % 2 === 0 ? JSON.stringify(items) : JSON.stringify(items, null, 2);
    const body = Buffer.from(text);
    assert.ok(body.length > 128 * 1024, `round ${round}: ${body.length} bytes is not a large body`);
    assert.deepEqual(parseBatchJson(body), JSON.parse(text));
    if (round % 2 === 0) {
      // The cuts fall exactly between the items (else the pieces would not parse, and the body
      // would quietly be parsed whole).
      const expected = [0];
      for (const item of items) expected.push(expected.at(-1)! + Buffer.byteLength(JSON.stringify(item)) + 1);
      assert.deepEqual(itemEnds(body), expected);
    }
  }
});

test('parseBatchJson: one item larger than a piece, and a byte-order mark, are read whole', () => {
  const items = [{ data: 'a'.repeat(200_000) }, { data: 'b' }, { data: 'c'.repeat(70_000) }];
  const text = JSON.stringify(items);
  assert.deepEqual(parseBatchJson(Buffer.from(text)), items);
  assert.deepEqual(
    parseBatchJson(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])),
    items,
  );
});

test("parseBatchJson: a malformed large body throws JSON.parse's own SyntaxError", () => {
  const good = JSON.stringify(
    Array.from({ length: 2000 }, (_, i) => ({ topic: `/t/${i}`, data: 'x'.repeat(80) })),
  );
  const bad = [
    `${good.slice(0, -1)},]`, // trailing comma
    good.replace('},{', '},,{'), // empty item
    `${good} x`, // trailing garbage
    good.slice(0, -1), // unclosed
    `{"a":${good}}`, // not an array
    good.replace('"/t/5"', '"/t/5'), // unterminated string
  ];
  for (const text of bad) {
    let expected: Error | undefined;
    try {
      JSON.parse(text);
    } catch (error) {
      expected = error as Error;
    }
    if (expected === undefined) {
      assert.deepEqual(parseBatchJson(Buffer.from(text)), JSON.parse(text));
      continue;
    }
    assert.throws(() => parseBatchJson(Buffer.from(text)), {
      name: 'SyntaxError',
      message: expected.message,
    });
  }
});
