import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomUrnUuid } from '../../src/hub/urn-uuid.js';

const V4 = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('randomUrnUuid: version 4 UUIDs in urn:uuid form, never the same twice, across pool refills', () => {
  const seen = new Set<string>();
  // 300 pools of random bytes (256 IDs each): every refill path and byte position is exercised.
  for (let i = 0; i < 300 * 256; i++) {
    const id = randomUrnUuid();
    assert.match(id, V4);
    assert.ok(!seen.has(id), `${id} came twice`);
    seen.add(id);
  }
});

test('randomUrnUuid: every hex digit of the random part varies', () => {
  // A digit stuck at one value (a byte written to the wrong offset, a missed refill) shows here.
  const digits = Array.from({ length: 45 }, () => new Set<string>());
  for (let i = 0; i < 2000; i++) {
    const id = randomUrnUuid();
    for (let c = 0; c < id.length; c++) digits[c]!.add(id[c]!);
  }
  const fixed = new Set([17, 22, 23, 27, 32]); // the dashes and the version digit
  for (let c = 9; c < 45; c++) {
    if (fixed.has(c)) continue;
    const expected = c === 28 ? 4 : 16; // the variant digit is one of 8, 9, a, b
    assert.equal(digits[c]!.size, expected, `digit ${c} took ${digits[c]!.size} values`);
  }
});
