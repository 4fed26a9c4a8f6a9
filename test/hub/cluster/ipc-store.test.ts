import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIpcPresence, createIpcStore, PrimaryConnection } from '../../../src/hub/cluster/ipc-store.js';
import { createStoreRelay } from '../../../src/hub/cluster/relay.js';
import { createMemoryStore } from '../../../src/hub/stores/index.js';
import type { Update } from '../../../src/hub/update.js';
import { makeUpdate, storeContract } from '../stores/contract.js';
import { createPortPair } from './port-pair.js';

// The worker's store passes the same contract as the store it fronts.
storeContract('cluster worker (IPC to a memory store)', async (t, retention, options) => {
  const real = createMemoryStore(retention, options?.now ? { now: options.now } : {});
  const relay = createStoreRelay(real);
  const [primaryEnd, workerEnd] = createPortPair();
  relay.attach(1, primaryEnd);
  const connection = new PrimaryConnection(workerEnd, options?.onError);
  const store = createIpcStore(connection);
  t.after(async () => {
    await store.close();
    connection.close();
    relay.close();
    await real.close();
  });
  return store;
});

test('every worker receives every update once, in order, whichever worker appended it', async (t) => {
  const real = createMemoryStore({ maxCount: 1000, maxAgeMs: 0 });
  const relay = createStoreRelay(real);
  const workers = [1, 2, 3].map((key) => {
    const [primaryEnd, workerEnd] = createPortPair();
    relay.attach(key, primaryEnd);
    const connection = new PrimaryConnection(workerEnd);
    return { connection, store: createIpcStore(connection), received: [] as Update[] };
  });
  t.after(async () => {
    for (const w of workers) {
      await w.store.close();
      w.connection.close();
    }
    relay.close();
    await real.close();
  });
  for (const w of workers) w.store.subscribe((u) => w.received.push(u));
  const published = Array.from({ length: 90 }, (_, i) => makeUpdate(`u${i}`));
  // Interleaved appends from the three workers; each worker's own appends keep their order.
  await Promise.all(published.map((u, i) => workers[i % 3]!.store.append(u)));
  const order = (await real.after('earliest', 1000)).updates.map((u) => u.id);
  for (const w of workers)
    assert.deepEqual(
      w.received.map((u) => u.id),
      order,
    );
  assert.equal(relay.relayed, 90);
});

test('a worker sees its own update before its append resolves', async (t) => {
  const real = createMemoryStore({ maxCount: 10, maxAgeMs: 0 });
  const relay = createStoreRelay(real);
  const [primaryEnd, workerEnd] = createPortPair();
  relay.attach(1, primaryEnd);
  const connection = new PrimaryConnection(workerEnd);
  const store = createIpcStore(connection);
  t.after(async () => {
    await store.close();
    connection.close();
    relay.close();
    await real.close();
  });
  const seen: string[] = [];
  store.subscribe((u) => seen.push(u.id));
  const u = makeUpdate('own');
  await store.append(u);
  assert.deepEqual(seen, [u.id]);
});

test('presence lists the subscribers of every worker, and forgets a worker that detaches', async (t) => {
  const real = createMemoryStore({ maxCount: 10, maxAgeMs: 0 });
  const relay = createStoreRelay(real);
  const ends = [createPortPair(), createPortPair()];
  relay.attach('a', ends[0]![0]);
  relay.attach('b', ends[1]![0]);
  const connections = ends.map(([, workerEnd]) => new PrimaryConnection(workerEnd));
  t.after(async () => {
    for (const c of connections) c.close();
    relay.close();
    await real.close();
  });
  const [a, b] = connections.map((c) => createIpcPresence(c));
  a!.join({ id: 'urn:uuid:1', selectors: [{ source: '*', syntax: 'topic' }], since: 1 });
  b!.join({ id: 'urn:uuid:2', selectors: [{ source: 'x', syntax: 'match' }], since: 2 });
  b!.join({ id: 'urn:uuid:3', selectors: [{ source: 'y', syntax: 'match' }], since: 3 });
  b!.leave('urn:uuid:3');
  // Two workers' messages have no order between them; b's own request follows b's notes.
  await b!.list();
  assert.deepEqual((await a!.list()).map((r) => r.id).sort(), ['urn:uuid:1', 'urn:uuid:2']);
  relay.detach('b');
  assert.deepEqual(
    (await a!.list()).map((r) => r.id),
    ['urn:uuid:1'],
  );
});

test('when the primary is lost, waiting and later calls fail as unavailable', async (t) => {
  const [, workerEnd] = createPortPair(); // nobody answers on the other end
  const connection = new PrimaryConnection(workerEnd);
  const store = createIpcStore(connection);
  t.after(() => connection.close());
  const waiting = store.lastId();
  connection.lost('channel closed');
  await assert.rejects(waiting, { code: 'HERALD_ERR_STORE_UNAVAILABLE' });
  await assert.rejects(store.append(makeUpdate('late')), { code: 'HERALD_ERR_STORE_UNAVAILABLE' });
});
