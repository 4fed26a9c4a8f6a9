/**
 * Random sequences of appends, reads and clock moves, checked against a plain-array model of
 * retention: the newest `maxCount` updates, none older than `maxAgeMs`. Catches ring and trimming
 * arithmetic the hand-written contract cases would miss. Seeded (HERALD_SEED) and printed on failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { createMemoryStore, type Retention, type Store } from '../../../src/hub/stores/index.js';
import { createSqliteStore } from '../../../src/hub/stores/sqlite.js';
import type { Update } from '../../../src/hub/update.js';

const seed = Number(process.env.HERALD_SEED ?? 20261125);

/** Multiples of 100 ms, so updates often sit exactly on the age boundary. */
const step = (max: number) => fc.integer({ min: 0, max: max / 100 }).map((k) => k * 100);

type Op =
  | { kind: 'append'; count: number; dt: number }
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
});

async function check(
  open: (r: Retention, now: () => number) => { store: Store; done: () => void },
  runs: number,
) {
  await fc.assert(
    fc.asyncProperty(retention, fc.array(op, { maxLength: 60 }), async (r, ops) => {
      let now = 1_700_000_000_000;
      const { store, done } = open(r, () => now);
      try {
        const all: Update[] = [];
        const kept = () =>
          all
            .slice(Math.max(0, all.length - r.maxCount))
            .filter((u) => r.maxAgeMs === 0 || u.time >= now - r.maxAgeMs);
        for (const o of ops) {
          if (o.kind === 'append') {
            now += o.dt;
            const batch = Array.from({ length: o.count }, (): Update => {
              const u = {
                id: `u${all.length}`,
                topics: ['t'],
                private: false,
                data: String(all.length),
                time: now,
              };
              all.push(u);
              return u;
            });
            await Promise.all(batch.map((u) => store.append(u)));
          } else if (o.kind === 'wait') {
            now += o.dt;
          } else if (o.kind === 'lastId') {
            assert.equal(await store.lastId(), kept().at(-1)?.id);
          } else if (o.kind === 'earliest') {
            assert.deepEqual(await store.after('earliest', o.limit), {
              found: true,
              updates: kept().slice(0, o.limit),
            });
          } else {
            const id = all.length === 0 || o.pick % 5 === 0 ? 'unknown' : all[o.pick % all.length].id;
            const k = kept();
            const at = k.findIndex((u) => u.id === id);
            const expected =
              at < 0
                ? { found: false, updates: [] }
                : { found: true, updates: k.slice(at + 1, at + 1 + o.limit) };
            assert.deepEqual(await store.after(id, o.limit), expected);
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

test('the memory store keeps exactly what the retention model keeps', async () => {
  await check((r, now) => ({ store: createMemoryStore(r, { now }), done: () => {} }), 300);
});

test('the sqlite store keeps exactly what the retention model keeps', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-model-'));
  let n = 0;
  try {
    await check((r, now) => {
      const path = join(dir, `m${n++}.db`);
      return { store: createSqliteStore(path, r, { now }), done: () => rmSync(path, { force: true }) };
    }, 60);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
