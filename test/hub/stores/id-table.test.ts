import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdTable } from '../../../src/hub/stores/id-table.js';
import { seededRandom } from '../../support/seeded-random.js';

test('IdTable: agrees with a Map through 30,000 random adds, re-adds and deletes', () => {
  const next = seededRandom(7);
  const ids: string[] = []; // position -> ID
  const table = new IdTable((position) => ids[position]);
  const model = new Map<string, number>();
  const live: string[] = [];
  for (let op = 0; op < 30_000; op++) {
    const r = next();
    if (r < 0.55 || live.length === 0) {
      // IDs from a small alphabet, so that some come back after being deleted, and long ones too.
      const id =
        next() < 0.1
          ? `https://example.com/${'x'.repeat(200)}/${op % 50}`
          : `id-${Math.floor(next() * 3000)}`;
      const position = ids.length;
      ids.push(id);
      const added = table.add(id, position);
      assert.equal(added, !model.has(id), `add(${id}) at op ${op}`);
      if (added) {
        model.set(id, position);
        live.push(id);
      }
    } else {
      const at = Math.floor(next() * live.length);
      const id = live[at]!;
      live[at] = live[live.length - 1]!;
      live.pop();
      table.delete(id, model.get(id)!);
      model.delete(id);
    }
    assert.equal(table.size, model.size);
    if (op % 500 === 0) {
      for (const [id, position] of model) assert.equal(table.get(id), position, `get(${id}) at op ${op}`);
      for (let k = 0; k < 50; k++) {
        const absent = `id-${3000 + k}`;
        assert.equal(table.get(absent), -1);
      }
    }
  }
  for (const [id, position] of model) assert.equal(table.get(id), position);
});

test('IdTable: a re-added ID is refused while held and leaves the first position in place', () => {
  const ids = ['a', 'b', 'a'];
  const table = new IdTable((position) => ids[position]);
  assert.equal(table.add('a', 0), true);
  assert.equal(table.add('b', 1), true);
  assert.equal(table.add('a', 2), false);
  assert.equal(table.get('a'), 0);
  table.delete('a', 0);
  assert.equal(table.get('a'), -1);
  assert.equal(table.add('a', 2), true);
  assert.equal(table.get('a'), 2);
  assert.equal(table.get('b'), 1);
});

test('IdTable: reset empties it, and it grows past its first size', () => {
  const ids = Array.from({ length: 10_000 }, (_, i) => `urn:uuid:${i}`);
  const table = new IdTable((position) => ids[position]);
  for (let i = 0; i < ids.length; i++) assert.equal(table.add(ids[i]!, i), true);
  for (let i = 0; i < ids.length; i += 97) assert.equal(table.get(ids[i]!), i);
  table.reset(10);
  assert.equal(table.size, 0);
  assert.equal(table.get(ids[0]!), -1);
  assert.equal(table.add(ids[5]!, 5), true);
  assert.equal(table.get(ids[5]!), 5);
});
