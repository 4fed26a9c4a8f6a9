/**
 * The contract every store passes. Each `*.test.ts` in this folder calls `storeContract` with a
 * factory for its store; the factory registers the store's cleanup on the test context.
 */
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import {
  DuplicateUpdateIdError,
  type ListenerErrorHandler,
  type Retention,
  type Store,
  StoreClosedError,
} from '../../../src/hub/stores/index.js';
import { newestPublicId } from '../../../src/hub/stores/newest-public.js';
import type { Update } from '../../../src/hub/update.js';

export interface ContractOptions {
  /** The clock for retention by age. */
  now?: () => number;
  onError?: ListenerErrorHandler;
}

/** Opens a fresh, empty store, or returns undefined when the test was skipped (a part is missing). */
export type StoreFactory = (
  t: TestContext,
  retention: Retention,
  options?: ContractOptions,
) => Promise<Store | undefined>;

const roomy: Retention = { maxCount: 1000, maxAgeMs: 0 };

let counter = 0;
/** An update with a unique ID (stores may be shared between runs, as Redis is). */
export function makeUpdate(label: string, time = Date.now(), extra: Partial<Update> = {}): Update {
  return {
    id: `urn:herald:test:${process.pid}:${Date.now()}:${++counter}:${label}`,
    topics: [`https://example.com/books/${label}`],
    private: false,
    data: `{"label":${JSON.stringify(label)}}`,
    time,
    ...extra,
  };
}

/** Resolves with the first `count` updates a listener receives. */
export function receive(store: Store, count: number): { received: Update[]; done: Promise<Update[]> } {
  const received: Update[] = [];
  let stop = () => {};
  const done = new Promise<Update[]>((resolve) => {
    stop = store.subscribe((u) => {
      received.push(u);
      if (received.length === count) {
        stop();
        resolve(received);
      }
    });
    if (count === 0) resolve(received);
  });
  return { received, done };
}

const ids = (updates: Update[]) => updates.map((u) => u.id);

export function storeContract(name: string, open: StoreFactory): void {
  describe(`${name} store contract`, () => {
    test('an empty store has no last id, an empty earliest history, and does not know any id', async (t) => {
      const store = await open(t, roomy);
      if (!store) return;
      assert.equal(await store.lastId(), undefined);
      assert.deepEqual(await store.after('earliest', 10), { found: true, updates: [] });
      assert.deepEqual(await store.after('urn:uuid:never-published', 10), { found: false, updates: [] });
    });

    test('after() returns what followed an id, oldest first; the newest id gives nothing', async (t) => {
      const store = await open(t, roomy);
      if (!store) return;
      const published = ['a', 'b', 'c', 'd'].map((l) => makeUpdate(l));
      for (const u of published) await store.append(u);
      assert.equal(await store.lastId(), published[3].id);
      assert.deepEqual(await store.after('earliest', 10), { found: true, updates: published });
      assert.deepEqual(await store.after(published[1].id, 10), { found: true, updates: published.slice(2) });
      assert.deepEqual(await store.after(published[3].id, 10), { found: true, updates: [] });
      assert.deepEqual(await store.after('urn:uuid:unknown', 10), { found: false, updates: [] });
    });

    test('every field survives the store, and absent optional fields stay absent', async (t) => {
      const store = await open(t, roomy);
      if (!store) return;
      const full = makeUpdate('full', Date.now(), {
        topics: ['https://example.com/a', 'https://example.com/b/{id}', 'urn:x:ü'],
        private: true,
        type: 'price',
        retry: 2500,
        data: 'line one\nline two\r\n\u0000 é 😀 "quoted"',
        key: 'EUR/USD ü 😀',
      });
      const bare = makeUpdate('bare', Date.now(), { data: '' });
      await store.append(full);
      await store.append(bare);
      const { updates } = await store.after('earliest', 10);
      assert.deepEqual(updates, [full, bare]);
      assert.ok(!('type' in updates[1]) && !('retry' in updates[1]) && !('key' in updates[1]));
    });

    test('limit caps how many updates after() returns', async (t) => {
      const store = await open(t, roomy);
      if (!store) return;
      const published = ['a', 'b', 'c', 'd', 'e'].map((l) => makeUpdate(l));
      for (const u of published) await store.append(u);
      assert.deepEqual(ids((await store.after('earliest', 2)).updates), ids(published.slice(0, 2)));
      assert.deepEqual(ids((await store.after(published[1].id, 2)).updates), ids(published.slice(2, 4)));
      assert.deepEqual(await store.after(published[0].id, 0), { found: true, updates: [] });
      assert.deepEqual(await store.after('earliest', 0), { found: true, updates: [] });
      assert.deepEqual(ids((await store.after('earliest', Infinity)).updates), ids(published));
    });

    test('retention by count keeps the newest maxCount updates of a topic and forgets older ids', async (t) => {
      const store = await open(t, { maxCount: 3, maxAgeMs: 0 });
      if (!store) return;
      const topics = ['https://example.com/one-topic'];
      const published = ['a', 'b', 'c', 'd', 'e'].map((l) => makeUpdate(l, Date.now(), { topics }));
      // Once delivered: a shared store (Redis) learns of evictions as its reader catches up.
      const delivered = receive(store, published.length);
      for (const u of published) await store.append(u);
      await delivered.done;
      assert.deepEqual(ids((await store.after('earliest', 10)).updates), ids(published.slice(2)));
      assert.equal((await store.after(published[1].id, 10)).found, false);
      assert.deepEqual(ids((await store.after(published[2].id, 10)).updates), ids(published.slice(3)));
      assert.equal(await store.lastId(), published[4].id);
    });

    test('retention is per topic: a noisy topic evicts its own updates, never a quiet one', async (t) => {
      const store = await open(t, { maxCount: 3, maxAgeMs: 0 });
      if (!store) return;
      const quiet = ['q1', 'q2'].map((l) =>
        makeUpdate(l, Date.now(), { topics: ['https://example.com/quiet'] }),
      );
      const noisy = Array.from({ length: 10 }, (_, i) =>
        makeUpdate(`n${i}`, Date.now(), { topics: ['https://example.com/noisy'] }),
      );
      const published = [quiet[0], ...noisy.slice(0, 5), quiet[1], ...noisy.slice(5)];
      const delivered = receive(store, published.length);
      for (const u of published) await store.append(u);
      await delivered.done;
      // Store order, with the noisy topic's older updates gone.
      assert.deepEqual(
        ids((await store.after('earliest', 100)).updates),
        ids([quiet[0], quiet[1], ...noisy.slice(7)]),
      );
      // A resume from the quiet topic's first update gets everything still kept after it.
      assert.deepEqual(await store.after(quiet[0].id, 100), {
        found: true,
        updates: [quiet[1], ...noisy.slice(7)],
      });
      assert.deepEqual(ids((await store.after(quiet[0].id, 1)).updates), [quiet[1].id]);
      // An update its own topic evicted is no longer known.
      assert.equal((await store.after(noisy[5].id, 100)).found, false);
      assert.deepEqual(ids((await store.after(noisy[7].id, 100)).updates), ids(noisy.slice(8)));
      assert.equal(await store.lastId(), noisy[9].id);
    });

    test('an update with several topics counts in each and stays while one of them keeps it', async (t) => {
      const store = await open(t, { maxCount: 2, maxAgeMs: 0 });
      if (!store) return;
      const [a, b] = ['https://example.com/a', 'https://example.com/b'];
      const both = makeUpdate('both', Date.now(), { topics: [a, b] });
      const onA = ['a1', 'a2'].map((l) => makeUpdate(l, Date.now(), { topics: [a] }));
      const onB = ['b1', 'b2'].map((l) => makeUpdate(l, Date.now(), { topics: [b] }));
      const first = receive(store, 3);
      for (const u of [both, ...onA]) await store.append(u);
      await first.done;
      // Topic a no longer counts `both`, topic b still does: kept, but a resume from it could miss
      // updates of topic a, so it is not found.
      const kept = (await store.after('earliest', 10)).updates;
      assert.deepEqual(ids(kept), ids([both, ...onA]));
      assert.equal((await store.after(both.id, 10)).found, false);
      assert.deepEqual(await store.after(onA[0].id, 10), { found: true, updates: [onA[1]] });
      const second = receive(store, 2);
      for (const u of onB) await store.append(u);
      await second.done;
      assert.deepEqual(ids((await store.after('earliest', 10)).updates), ids([...onA, ...onB]));
      // Its ID is free again once it is gone.
      await store.append({ ...both, data: 'again' });
    });

    test('retention by bytes evicts the oldest updates, whatever their topics, but never the newest', async (t) => {
      const data = 'x'.repeat(1000);
      const store = await open(t, { maxCount: 100, maxAgeMs: 0, maxBytes: 3 * 1400 });
      if (!store) return;
      const published = Array.from({ length: 6 }, (_, i) =>
        makeUpdate(`b${i}`, Date.now(), { data, topics: [`https://example.com/bytes/${i % 2}`] }),
      );
      const first = receive(store, published.length);
      for (const u of published) await store.append(u);
      await first.done;
      assert.deepEqual(ids((await store.after('earliest', 10)).updates), ids(published.slice(3)));
      const second = receive(store, 1);
      const huge = makeUpdate('huge', Date.now(), { data: 'y'.repeat(10_000) });
      await store.append(huge);
      await second.done;
      assert.deepEqual(ids((await store.after('earliest', 10)).updates), [huge.id]);
      assert.deepEqual(await store.after(huge.id, 10), { found: true, updates: [] });
      assert.equal((await store.after(published[5].id, 10)).found, false);
    });

    test('retention by age drops expired updates, on read as well as on append', async (t) => {
      const base = Date.now();
      let now = base;
      const store = await open(t, { maxCount: 100, maxAgeMs: 1000 }, { now: () => now });
      if (!store) return;
      const old = makeUpdate('old', base);
      const young = makeUpdate('young', base + 500);
      now = base + 500;
      await store.append(old);
      await store.append(young);
      assert.deepEqual(ids((await store.after('earliest', 10)).updates), [old.id, young.id]);
      now = base + 1200; // `old` is now 1,200 ms old; nothing was appended since
      assert.deepEqual(ids((await store.after('earliest', 10)).updates), [young.id]);
      assert.equal((await store.after(old.id, 10)).found, false);
      assert.deepEqual(await store.after(young.id, 10), { found: true, updates: [] });
      now = base + 2000;
      const fresh = makeUpdate('fresh', base + 2000);
      await store.append(fresh);
      assert.deepEqual(ids((await store.after('earliest', 10)).updates), [fresh.id]);
      assert.equal(await store.lastId(), fresh.id);
      now = base + 5000;
      assert.equal(await store.lastId(), undefined);
    });

    test('the newest public update: private ones and evicted ones are skipped', async (t) => {
      const store = await open(t, { maxCount: 1, maxAgeMs: 0 });
      if (!store) return;
      assert.equal(await newestPublicId(store), undefined);
      const [a, b] = ['https://example.com/np/a', 'https://example.com/np/b'];
      const older = makeUpdate('older', Date.now(), { topics: [a] });
      const newer = makeUpdate('newer', Date.now(), { topics: [b] });
      const secret = makeUpdate('secret', Date.now(), { topics: [a], private: true });
      // Delivered first: Redis counts only what its reader handed to listeners.
      const first = receive(store, 3);
      for (const u of [older, newer, secret]) await store.append(u);
      await first.done;
      assert.equal(await newestPublicId(store), newer.id);
      // `newer` evicted by its topic's retention, by a private update: the newest public one is gone.
      const second = receive(store, 1);
      await store.append(makeUpdate('secret-b', Date.now(), { topics: [b], private: true }));
      await second.done;
      assert.equal(await newestPublicId(store), undefined);
    });

    test('maxCount 0 keeps no history but still delivers to listeners', async (t) => {
      const store = await open(t, { maxCount: 0, maxAgeMs: 0 });
      if (!store) return;
      const { done } = receive(store, 1);
      const u = makeUpdate('a');
      await store.append(u);
      assert.deepEqual(await done, [u]);
      assert.deepEqual(await store.after('earliest', 10), { found: true, updates: [] });
      assert.equal((await store.after(u.id, 10)).found, false);
      assert.equal(await store.lastId(), undefined);
    });

    test('an id already kept is refused with DuplicateUpdateIdError', async (t) => {
      const store = await open(t, roomy);
      if (!store) return;
      const u = makeUpdate('a');
      await store.append(u);
      await assert.rejects(store.append({ ...u, data: 'other' }), DuplicateUpdateIdError);
      assert.deepEqual(await store.after('earliest', 10), { found: true, updates: [u] });
    });

    test('subscribers receive appended updates in order until they unsubscribe', async (t) => {
      const store = await open(t, roomy);
      if (!store) return;
      const first = receive(store, 3);
      const all: Update[] = [];
      const stop = store.subscribe((u) => all.push(u));
      const published = ['a', 'b', 'c'].map((l) => makeUpdate(l));
      for (const u of published) await store.append(u);
      assert.deepEqual(await first.done, published);
      stop();
      // A later subscriber proves the next update was delivered; the stopped one must not see it.
      const later = receive(store, 1);
      const last = makeUpdate('d');
      await store.append(last);
      assert.deepEqual(await later.done, [last]);
      assert.deepEqual(ids(all), ids(published));
    });

    test('a listener that throws is reported, and the other listeners still receive', async (t) => {
      const reported: [unknown, Update][] = [];
      const store = await open(t, roomy, { onError: (error, update) => reported.push([error, update]) });
      if (!store) return;
      store.subscribe(() => {
        throw new Error('listener bug');
      });
      const others = receive(store, 2);
      const published = [makeUpdate('a'), makeUpdate('b')];
      for (const u of published) await store.append(u);
      assert.deepEqual(await others.done, published);
      assert.equal(reported.length, 2);
      assert.equal((reported[0][0] as Error).message, 'listener bug');
      assert.deepEqual(ids(reported.map(([, u]) => u)), ids(published));
    });

    test('concurrent appends keep their call order, in history and for subscribers', async (t) => {
      const store = await open(t, roomy);
      if (!store) return;
      const published = Array.from({ length: 200 }, (_, i) => makeUpdate(`c${i}`));
      const delivered = receive(store, published.length);
      await Promise.all(published.map((u) => store.append(u)));
      assert.deepEqual(ids((await store.after('earliest', 1000)).updates), ids(published));
      assert.deepEqual(ids(await delivered.done), ids(published));
    });

    test('close() flushes pending appends; the closed store refuses further use', async (t) => {
      const store = await open(t, roomy);
      if (!store) return;
      const u = makeUpdate('a');
      const appended = store.append(u);
      await store.close();
      await appended;
      await assert.rejects(store.append(makeUpdate('b')), StoreClosedError);
      await assert.rejects(store.after('earliest', 10), StoreClosedError);
      await store.close(); // closing twice is harmless
    });
  });
}
