/**
 * The history index over many appends: its ring fills with holes where a noisy topic evicts its
 * own updates, and is rebuilt (renumbered, without holes) again and again. What it keeps, in what
 * order, and what a resume may start from must not change across rebuilds: checked against a
 * plain-array model after every append.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HistoryIndex } from '../../../src/hub/stores/history-index.js';

interface Kept {
  id: string;
  topics: string[];
  counting: Set<string>;
  size: number;
  time: number;
}

function model(maxCount: number, maxBytes: number) {
  let kept: Kept[] = [];
  return {
    get kept() {
      return kept;
    },
    add(k: Kept): string[] {
      kept.push(k);
      for (const topic of k.counting) {
        const inTopic = kept.filter((x) => x.counting.has(topic));
        if (inTopic.length > maxCount) inTopic[0].counting.delete(topic);
      }
      const evicted = kept.filter((x) => x.counting.size === 0).map((x) => x.id);
      kept = kept.filter((x) => x.counting.size > 0);
      const bytes = () => kept.reduce((s, x) => s + x.size, 0);
      while (maxBytes && bytes() > maxBytes && kept[0] !== k) evicted.push(kept.shift()!.id);
      return evicted;
    },
    trimAge(cutoff: number): string[] {
      const evicted = kept.filter((x) => x.time < cutoff).map((x) => x.id);
      kept = kept.filter((x) => x.time >= cutoff);
      return evicted;
    },
  };
}

function checkSame(index: HistoryIndex<number>, m: ReturnType<typeof model>, step: number): void {
  const all = index.after(undefined, Infinity);
  assert.deepEqual(
    all.map((e) => e.id),
    m.kept.map((k) => k.id),
    `kept updates after step ${step}`,
  );
  assert.equal(index.size, m.kept.length);
  assert.equal(
    index.bytes,
    m.kept.reduce((s, k) => s + k.size, 0),
  );
  assert.equal(index.newest?.id, m.kept.at(-1)?.id);
  // Every kept update: found, its value, whole exactly when each of its topics still counts it, and
  // what follows it.
  for (let i = 0; i < m.kept.length; i += 7) {
    const k = m.kept[i];
    const entry = index.get(k.id)!;
    assert.equal(entry.value, Number(k.id.slice(1)));
    assert.equal(index.isWhole(entry), k.counting.size === new Set(k.topics).size, `isWhole(${k.id})`);
    assert.deepEqual(
      index.after(entry, 3).map((e) => e.id),
      m.kept.slice(i + 1, i + 4).map((x) => x.id),
    );
  }
}

test('a noisy topic beside quiet ones: order, resumes and evictions stay exact across ring rebuilds', () => {
  const evicted: string[] = [];
  const maxCount = 5;
  const maxBytes = 4_000;
  const index = new HistoryIndex<number>({ maxCount, maxBytes }, (id, value) => {
    assert.equal(value, Number(id.slice(1)));
    evicted.push(id);
  });
  const m = model(maxCount, maxBytes);
  const expectedEvictions: string[] = [];
  const topicsOf = (n: number): string[] => {
    if (n % 97 === 0) return ['quiet', 'noisy']; // counted by both, then by the quiet one only
    if (n % 31 === 0) return [`quiet${n % 3}`];
    return ['noisy'];
  };
  let time = 1_000;
  let widest = 0;
  for (let n = 0; n < 3_000; n++) {
    const topics = topicsOf(n);
    // Sizes vary so that the byte limit evicts now and then, oldest first, whatever the topic.
    const size = 50 + (n % 13) * 20;
    time += n % 50 === 0 ? 100 : 1;
    const id = `u${n}`;
    assert.equal(index.has(id), false);
    index.add(id, time, topics, size, n);
    expectedEvictions.push(...m.add({ id, topics, counting: new Set(topics), size, time }));
    assert.equal(index.has(id), true);
    widest = Math.max(widest, (n + 1 - Number(m.kept[0].id.slice(1))) / m.kept.length);
    if (n % 37 === 0) checkSame(index, m, n);
    if (n % 500 === 499) {
      index.trimAge(time - 150);
      expectedEvictions.push(...m.trimAge(time - 150));
      checkSame(index, m, n);
    }
  }
  checkSame(index, m, 3_000);
  assert.deepEqual(evicted, expectedEvictions);
  // The premise of the test: quiet topics kept old updates with many holes after them.
  assert.ok(widest > 8, `at most ${widest.toFixed(1)} appends per kept update`);
  index.clear();
  assert.equal(index.size, 0);
  assert.equal(index.bytes, 0);
  assert.equal(index.topicCount, 0);
  assert.equal(index.newest, undefined);
  assert.deepEqual(index.after(undefined, 10), []);
});

test('an update given the same topic twice counts once, and an evicted entry is no longer whole', () => {
  const index = new HistoryIndex<number>({ maxCount: 2, maxBytes: 0 });
  index.add('a', 1, ['t', 't'], 10, 0);
  const a = index.get('a')!;
  assert.equal(index.isWhole(a), true);
  index.add('b', 2, ['t'], 10, 1);
  index.add('c', 3, ['t'], 10, 2);
  assert.equal(index.has('a'), false);
  assert.equal(index.isWhole(a), false);
  assert.deepEqual(index.after(a, 10), []);
  assert.deepEqual(
    index.after(undefined, 10).map((e) => e.id),
    ['b', 'c'],
  );
});
