/**
 * Random sequences of appends, reads and clock moves, checked against a plain-array model of
 * retention: the newest `maxCount` updates of each topic (an update with several topics stays while
 * one of them counts it), at most `maxBytes` in all (oldest out first, never the newest), none older
 * than `maxAgeMs`. Catches list, queue and trimming bookkeeping the hand-written contract cases
 * would miss. Seeded (HERALD_SEED) and printed on failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeBody } from '../../../src/hub/stores/codec.js';
import { createMemoryStore, type Retention, type Store } from '../../../src/hub/stores/index.js';
import { UPDATE_OVERHEAD_BYTES, updateBytes } from '../../../src/hub/stores/retention.js';
import { createSqliteStore } from '../../../src/hub/stores/sqlite.js';
import type { Update } from '../../../src/hub/update.js';

const seed = Number(process.env.HERALD_SEED ?? 20261125);

/** Multiples of 100 ms, so updates often sit exactly on the age boundary. */
const step = (max: number) => fc.integer({ min: 0, max: max / 100 }).map((k) => k * 100);

type Op =
  | { kind: 'append'; count: number; dt: number; pick: number }
  | { kind: 'after'; pick: number; limit: number }
  | { kind: 'earliest'; limit: number }
  | { kind: 'lastId' }
  | { kind: 'wait'; dt: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      count: fc.integer({ min: 1, max: 8 }),
      dt: step(300),
      pick: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('after' as const),
      pick: fc.nat(),
      limit: fc.integer({ min: 0, max: 12 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('earliest' as const), limit: fc.integer({ min: 0, max: 12 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lastId' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), dt: step(1500) }),
  },
);
const retention: fc.Arbitrary<Retention> = fc.record({
  maxCount: fc.integer({ min: 0, max: 10 }),
  maxAgeMs: fc.oneof(
    fc.constant(0),
    step(1200).filter((ms) => ms > 0),
  ),
  // About 280 bytes an update: 0 (no limit) or room for 1 to 12 of them.
  maxBytes: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1, max: 12 }).map((k) => k * 280),
  ),
});

/** Topic sets updates take in turn: one topic, two, and a topic given twice (counted once). */
const TOPIC_SETS = [['a'], ['b'], ['a', 'b'], ['c'], ['b', 'c'], ['a', 'a']];

/** What the store keeps, modelled with arrays: each kept update and the topics that still count it. */
class Model {
  kept: { u: Update; counting: Set<string> }[] = [];
  constructor(
    readonly r: Retention,
    readonly sizeOf: (u: Update) => number,
  ) {}

  trimAge(now: number): void {
    if (this.r.maxAgeMs === 0) return;
    this.kept = this.kept.filter(({ u }) => u.time >= now - this.r.maxAgeMs);
  }

  append(u: Update): void {
    if (this.r.maxCount === 0) return;
    const counting = new Set(u.topics);
    this.kept.push({ u, counting });
    for (const topic of counting) {
      const inTopic = this.kept.filter((k) => k.counting.has(topic));
      if (inTopic.length > this.r.maxCount) inTopic[0].counting.delete(topic);
    }
    this.kept = this.kept.filter((k) => k.counting.size > 0);
    const bytes = () => this.kept.reduce((sum, k) => sum + this.sizeOf(k.u), 0);
    while (this.r.maxBytes && bytes() > this.r.maxBytes && this.kept[0].u !== u) this.kept.shift();
  }

  /** The expected `after` answer. */
  after(id: string, limit: number): { found: boolean; updates: Update[] } {
    const at = this.kept.findIndex((k) => k.u.id === id);
    if (at < 0 || this.kept[at].counting.size !== new Set(this.kept[at].u.topics).size) {
      return { found: false, updates: [] };
    }
    return { found: true, updates: this.kept.slice(at + 1, at + 1 + limit).map((k) => k.u) };
  }
}

async function check(
  open: (r: Retention, now: () => number) => { store: Store; done: () => void },
  sizeOf: (u: Update) => number,
  runs: number,
) {
  await fc.assert(
    fc.asyncProperty(retention, fc.array(op, { maxLength: 60 }), async (r, ops) => {
      let now = 1_700_000_000_000;
      const { store, done } = open(r, () => now);
      try {
        const all: Update[] = [];
        const model = new Model(r, sizeOf);
        for (const o of ops) {
          model.trimAge(now);
          if (o.kind === 'append') {
            now += o.dt;
            model.trimAge(now);
            const batch = Array.from({ length: o.count }, (_, i): Update => {
              const u = {
                id: `u${all.length}`,
                topics: TOPIC_SETS[(o.pick + i) % TOPIC_SETS.length],
                private: false,
                data: String(all.length),
                time: now,
              };
              all.push(u);
              model.append(u);
              return u;
            });
            await Promise.all(batch.map((u) => store.append(u)));
          } else if (o.kind === 'wait') {
            now += o.dt;
          } else if (o.kind === 'lastId') {
            model.trimAge(now);
            assert.equal(await store.lastId(), model.kept.at(-1)?.u.id);
          } else if (o.kind === 'earliest') {
            model.trimAge(now);
            assert.deepEqual(await store.after('earliest', o.limit), {
              found: true,
              updates: model.kept.slice(0, o.limit).map((k) => k.u),
            });
          } else {
            model.trimAge(now);
            const id = all.length === 0 || o.pick % 5 === 0 ? 'unknown' : all[o.pick % all.length].id;
            assert.deepEqual(await store.after(id, o.limit), model.after(id, o.limit));
          }
        }
      } finally {
        await store.close();
        done();
      }
    }),
    { seed, numRuns: runs },
  );
}

/** The SQLite store counts an update's encoded row: its ID and body, plus the same overhead. */
const sqliteBytes = (u: Update) => UPDATE_OVERHEAD_BYTES + u.id.length + encodeBody(u).length;

test('the memory store keeps exactly what the retention model keeps', async () => {
  await check((r, now) => ({ store: createMemoryStore(r, { now }), done: () => {} }), updateBytes, 300);
});

test('the sqlite store keeps exactly what the retention model keeps', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-model-'));
  let n = 0;
  try {
    await check(
      (r, now) => {
        const path = join(dir, `m${n++}.db`);
        return { store: createSqliteStore(path, r, { now }), done: () => rmSync(path, { force: true }) };
      },
      sqliteBytes,
      60,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
