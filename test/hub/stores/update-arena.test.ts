/**
 * The memory store keeps updates encoded as bytes (UpdateArena) and decodes them on reads: every
 * field must come back exactly, for any string a JS update can hold (astral characters, lone
 * surrogates, empty strings), through the arena's compactions and the store's evictions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryStore } from '../../../src/hub/stores/memory.js';
import { UpdateArena } from '../../../src/hub/stores/update-arena.js';
import type { Update } from '../../../src/hub/update.js';

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

function randomString(rnd: () => number, maxLength: number): string {
  const length = Math.floor(rnd() * rnd() * maxLength);
  let s = '';
  while (s.length < length) {
    const kind = rnd();
    if (kind < 0.5) s += String.fromCharCode(32 + Math.floor(rnd() * 95));
    else if (kind < 0.7) s += String.fromCharCode(0x80 + Math.floor(rnd() * 0x7f80));
    else if (kind < 0.85) s += String.fromCodePoint(0x10000 + Math.floor(rnd() * 0xfffff));
    else if (kind < 0.9)
      s += String.fromCharCode(0xd800 + Math.floor(rnd() * 0x800)); // lone surrogate
    else if (kind < 0.95)
      s += String.fromCharCode(Math.floor(rnd() * 32)); // controls, NUL
    else s += '\n\r:';
  }
  return s;
}

let n = 0;
function randomUpdate(rnd: () => number): Update {
  n++;
  const topicPool = ['/a', '/b', '/é', '/😀', randomString(rnd, 20)];
  const topics = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => topicPool[Math.floor(rnd() * 5)]);
  const update: Update = {
    id: `${n}-${randomString(rnd, 10)}`,
    topics,
    private: rnd() < 0.5,
    data: randomString(rnd, 300),
    time: 1_700_000_000_000 + n + (rnd() < 0.5 ? 0.5 : 0),
  };
  // Each optional field: absent, present as undefined (as the publish handler builds it), or set.
  const pick = rnd();
  if (pick < 0.3) update.type = randomString(rnd, 12);
  else if (pick < 0.6) update.type = undefined;
  const pickRetry = rnd();
  if (pickRetry < 0.3)
    update.retry = [0, 1, 2 ** 31, 3000, 1.5, Number.MAX_SAFE_INTEGER][Math.floor(rnd() * 6)];
  else if (pickRetry < 0.6) update.retry = undefined;
  const pickKey = rnd();
  if (pickKey < 0.3) update.key = randomString(rnd, 12);
  else if (pickKey < 0.6) update.key = undefined;
  return update;
}

test('every field of every update comes back exactly from the arena, across compactions', () => {
  const rnd = random(7);
  const arena = new UpdateArena();
  let kept: { offset: number; update: Update }[] = [];
  let compactions = 0;
  for (let i = 0; i < 3000; i++) {
    const update = randomUpdate(rnd);
    const offset = arena.write(update, (move) => {
      compactions++;
      for (const k of kept) k.offset = move(k.offset);
    });
    kept.push({ offset, update });
    // Free a random older one now and then, out of order, as per-topic evictions do.
    if (rnd() < 0.6) {
      const [gone] = kept.splice(Math.floor(rnd() * kept.length), 1);
      arena.free(gone.offset);
    }
  }
  assert.ok(compactions > 3, `the arena was compacted (${compactions} times)`);
  assert.ok(
    arena.capacity <= Math.max(64 * 1024, 4 * arena.liveBytes + 8 * 1024 * 4),
    'freed bytes were reclaimed',
  );
  for (const { offset, update } of kept) {
    assert.deepStrictEqual(arena.read(offset, update.id, update.time), update);
  }
  kept = [];
});

test('the memory store returns equal updates, in order, after evictions and compactions', async () => {
  const rnd = random(11);
  const store = createMemoryStore({ maxCount: 40, maxAgeMs: 0, maxBytes: 200_000 });
  const appended = new Map<string, Update>();
  const order: string[] = [];
  for (let i = 0; i < 4000; i++) {
    const update = randomUpdate(rnd);
    // The store may keep the topics array it is given; the check compares against a copy.
    appended.set(update.id, structuredClone(update));
    order.push(update.id);
    await store.append(update);
    if (i % 500 === 499) {
      const { found, updates } = await store.after('earliest', 10_000);
      assert.equal(found, true);
      assert.ok(updates.length > 100, `history kept updates (${updates.length})`);
      let last = -1;
      for (const u of updates) {
        assert.deepStrictEqual(u, appended.get(u.id));
        const at = order.indexOf(u.id);
        assert.ok(at > last, 'store order');
        last = at;
      }
      // A page after a kept update starts right after it.
      const middle = updates[Math.floor(updates.length / 2)];
      const page = await store.after(middle.id, 3);
      if (page.found) assert.deepStrictEqual(page.updates[0], updates[Math.floor(updates.length / 2) + 1]);
    }
  }
  await store.close();
});
