/**
 * The cursor of a subscriber opened without an ID after a restart: the newest public update the
 * store keeps, on every transport, so that a client reconnecting from it before any update arrived
 * replays nothing old (it was `earliest`, which replayed the whole kept history as new).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import type { HubOptions } from '../../../src/hub/index.js';
import { createMemoryStore, DEFAULT_RETENTION, openStore } from '../../../src/hub/stores/index.js';
import type { Store } from '../../../src/hub/stores/store.js';
import type { Update } from '../../../src/hub/update.js';
import { eventually } from '../../server/helpers.js';
import { FaultyStore } from '../../support/faulty-store.js';
import {
  type OpenStream,
  openStream,
  publish,
  signDraft07,
  startHub,
  subscribeUrl,
  type TestHub,
} from '../../support/hub.js';
import { bounded } from '../../support/retry.js';
import {
  openFeed,
  openSocket,
  pollOnce,
  TRANSPORTS,
  type TransportName,
  withQuery,
} from '../../support/transports.js';
import { REDIS_URL, redisPrefix } from '../stores/redis-support.js';

const TOPIC = 'https://example.com/seed';
const HUB_OPTIONS: HubOptions = { anonymous: true, pollTimeoutMs: 100 };

/** The cursor a subscriber opened without an ID is told, on `transport`; with the HTTP status. */
async function cursorOf(
  hub: TestHub,
  transport: TransportName,
): Promise<{ status: number; cursor?: string }> {
  const url = subscribeUrl(hub, [['topic', TOPIC]]);
  if (transport === 'sse') {
    const stream = await openStream(url);
    stream.close();
    const header = stream.headers['last-event-id'];
    return { status: stream.status, cursor: typeof header === 'string' ? header : undefined };
  }
  if (transport === 'ws') {
    const socket = await openSocket(url);
    if (!('ws' in socket)) return { status: socket.status };
    const opening = await socket.opening;
    socket.close();
    return { status: 101, cursor: opening.lastEventID };
  }
  const answer = await pollOnce(withQuery(url, [['transport', 'poll']]));
  return { status: answer.status, cursor: answer.body?.lastEventID };
}

/** Resuming from `cursor` on every transport: the first update received is one published after it. */
async function resumesWithNothingOld(hub: TestHub, cursor: string, pub: string) {
  const feeds = await Promise.all(
    TRANSPORTS.map((transport) => openFeed(transport, subscribeUrl(hub, [['topic', TOPIC]]), {}, cursor)),
  );
  try {
    await Promise.all(feeds.map((feed) => feed.ready));
    await publish(hub, { topic: TOPIC, id: 'fresh', data: 'fresh' }, pub);
    for (const feed of feeds) {
      assert.equal((await bounded(feed.next(), `${feed.transport}: update fresh`, 10_000)).id, 'fresh');
    }
  } finally {
    for (const feed of feeds) feed.close();
  }
}

/**
 * Publishes public `old-1`, `old-2`, then the private `old-secret` (the store's newest) on a hub
 * over the store `open` makes, closes that hub, starts a new one over a new store on the same data,
 * and checks what each transport is told.
 */
async function restartCheck(t: TestContext, open: () => Promise<Store>): Promise<void> {
  const pub = await signDraft07({ publish: ['*'] });
  const first = await startHub({ ...HUB_OPTIONS, store: await open() });
  for (const id of ['old-1', 'old-2']) await publish(first, { topic: TOPIC, id, data: id }, pub);
  await publish(first, { topic: TOPIC, id: 'old-secret', data: 's', private: 'on' }, pub);
  await first.close();

  const second = await startHub({ ...HUB_OPTIONS, store: await open() });
  t.after(() => second.close());
  for (const transport of TRANSPORTS) {
    assert.deepEqual(await cursorOf(second, transport), {
      status: transport === 'ws' ? 101 : 200,
      cursor: 'old-2',
    });
  }
  await resumesWithNothingOld(second, 'old-2', pub);
}

describe('the cursor of a subscriber opened without an ID, after a restart', () => {
  test('sqlite: the newest public update the file keeps (a newer private one is skipped), on every transport', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-seed-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    await restartCheck(t, () => openStore(`sqlite:${join(dir, 'h.db')}`, DEFAULT_RETENTION));
  });

  test('redis: the newest public update the stream keeps (a newer private one is skipped), on every transport', async (t) => {
    const prefix = await redisPrefix(t);
    if (prefix === undefined) return;
    await restartCheck(t, () => openStore(REDIS_URL, DEFAULT_RETENTION, { prefix }));
  });

  test('a store that keeps no public update: earliest, on every transport', async (t) => {
    const store = createMemoryStore(DEFAULT_RETENTION);
    await store.append(update('only-secret', true));
    const hub = await startHub({ ...HUB_OPTIONS, store });
    t.after(() => hub.close());
    for (const transport of TRANSPORTS) {
      assert.equal((await cursorOf(hub, transport)).cursor, 'earliest');
    }
    const empty = await startHub(HUB_OPTIONS);
    t.after(() => empty.close());
    assert.equal((await cursorOf(empty, 'sse')).cursor, 'earliest');
  });

  test('a store without newestPublicId: read through history pages, past the first page', async (t) => {
    const inner = createMemoryStore({ maxCount: 5000, maxAgeMs: 0 });
    for (let i = 0; i < 2500; i++) await inner.append(update(`u-${i}`, i >= 1800));
    // Only the methods every store has.
    const store: Store = {
      append: (u) => inner.append(u),
      after: (id, limit) => inner.after(id, limit),
      lastId: () => inner.lastId(),
      subscribe: (listener) => inner.subscribe(listener),
      close: () => inner.close(),
    };
    const hub = await startHub({ ...HUB_OPTIONS, store });
    t.after(() => hub.close());
    assert.equal((await cursorOf(hub, 'sse')).cursor, 'u-1799');
  });
});

describe('while the store is read', () => {
  test('a subscriber waits for the answer; an update delivered meanwhile wins over the older one read', async (t) => {
    const store = new FaultyStore(createMemoryStore(DEFAULT_RETENTION));
    await store.append(update('kept', false));
    const held = store.holdSeed();
    let waiting: Promise<OpenStream> | undefined;
    // Should an assertion below fail: nothing left waiting when the hub closes.
    t.after(async () => {
      held.release();
      (await waiting)?.close();
    });
    const hub = await startHub({ ...HUB_OPTIONS, store });
    t.after(() => hub.close());
    await bounded(held.reached, 'the hub reads the store at start', 5000);
    const arrived = once(hub.server, 'request');
    waiting = openStream(subscribeUrl(hub, [['topic', TOPIC]]));
    await arrived;
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    // It joins only once the cursor is known.
    assert.equal(hub.hub.subscriberCount, 0);
    await publish(
      hub,
      { topic: 'elsewhere', id: 'meanwhile', data: 'm' },
      await signDraft07({ publish: ['*'] }),
    );
    held.release();
    const stream = await bounded(waiting, 'the waiting subscription', 10_000);
    stream.close();
    assert.equal(stream.status, 200);
    assert.equal(stream.headers['last-event-id'], 'meanwhile');
    // The read answered `kept` after `meanwhile` was delivered: the newer one stays.
    await bounded(store.lastSeed!, 'the held read', 5000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await cursorOf(hub, 'sse')).cursor, 'meanwhile');
  });

  test('a store failing: subscriptions without an ID are let in, told earliest; with an ID are served; the next one asks again', async (t) => {
    const store = new FaultyStore(createMemoryStore(DEFAULT_RETENTION));
    await store.append(update('kept-1', false));
    await store.append(update('kept-2', false));
    // The read at start and the one the first subscription asks again both fail.
    store.failSeed(2);
    const hub = await startHub({ ...HUB_OPTIONS, store });
    t.after(() => hub.close());
    await eventually(() => store.seedReads === 1, 'the read at start');
    const unseeded = await openStream(subscribeUrl(hub, [['topic', TOPIC]]));
    assert.equal(unseeded.status, 200);
    assert.equal(unseeded.headers['last-event-id'], 'earliest');
    assert.equal(hub.hub.subscriberCount, 1);
    unseeded.close();

    const resumed = await openStream(subscribeUrl(hub, [['topic', TOPIC]]), { 'last-event-id': 'kept-1' });
    assert.equal(resumed.status, 200);
    assert.equal((await bounded(resumed.next(), 'the replay', 10_000)).lastEventId, 'kept-2');
    resumed.close();

    for (const transport of TRANSPORTS) assert.equal((await cursorOf(hub, transport)).cursor, 'kept-2');
    assert.equal(store.seedReads, 3);
  });

  test('a WebSocket or poll subscription is let in the same way', async (t) => {
    const store = new FaultyStore(createMemoryStore(DEFAULT_RETENTION));
    await store.append(update('kept', false));
    store.failSeed(3);
    const hub = await startHub({ ...HUB_OPTIONS, store });
    t.after(() => hub.close());
    await eventually(() => store.seedReads === 1, 'the read at start');
    assert.deepEqual(await cursorOf(hub, 'ws'), { status: 101, cursor: 'earliest' });
    assert.deepEqual(await cursorOf(hub, 'poll'), { status: 200, cursor: 'earliest' });
    assert.deepEqual(await cursorOf(hub, 'poll'), { status: 200, cursor: 'kept' });
  });
});

function update(id: string, isPrivate: boolean): Update {
  return { id, topics: [TOPIC], private: isPrivate, data: id, time: Date.now() };
}
