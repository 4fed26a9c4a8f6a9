/**
 * Conflation through the hub, over real sockets: the `herald.key` publish field, the `maxRate`
 * subscribe parameter, the `conflate` slow-consumer policy, latest-per-key resume in every store,
 * the metrics, and the 400s for bad keys and rates.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_RETENTION, openStore, type Store } from '../../../src/hub/stores/index.js';
import type { SubscriberRegistry } from '../../../src/hub/subscribers/registry.js';
import type { ParsedEvent } from '../../../src/protocol/index.js';
import { eventually } from '../../server/helpers.js';
import { openStream, publish, signDraft07, startHub, subscribeUrl, type TestHub } from '../../support/hub.js';
import { mustOpenSocket, openSocket } from '../../support/transports.js';
import { REDIS_URL, redisPrefix } from '../stores/redis-support.js';

const KEY = 'herald.key';

/** The hub's subscribers (not part of the Hub interface): to look at a stream's queue. */
function registryOf(hub: TestHub): SubscriberRegistry {
  return (hub.hub as unknown as { registry: SubscriberRegistry }).registry;
}

/** A subscriber on a raw socket, to stop reading at will; `text` is what it read. */
async function rawSubscriber(hub: TestHub, query: string) {
  const socket = net.connect(Number(new URL(hub.origin).port), '127.0.0.1');
  socket.setEncoding('latin1');
  const state = { socket, text: '' };
  socket.on('data', (chunk: string) => {
    state.text += chunk;
  });
  socket.write(`GET /.well-known/mercure?${query} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
  await eventually(() => state.text.includes('\r\n\r\n'), 'the response head');
  await eventually(() => registryOf(hub).size > 0, 'the subscriber registered');
  return state;
}

/** Reads events up to one whose data is `marker`; returns those before it. */
async function until(sub: { next(): Promise<ParsedEvent> }, marker: string): Promise<ParsedEvent[]> {
  const got: ParsedEvent[] = [];
  for (;;) {
    const event = await sub.next();
    if (event.data === marker) return got;
    got.push(event);
  }
}

describe('herald.key and maxRate', () => {
  let hub: TestHub;
  let pub: string;
  before(async () => {
    hub = await startHub({ anonymous: true, maxRateCap: 10 });
    pub = await signDraft07({ publish: ['*'] });
  });
  after(() => hub.close());

  test('a rate-limited subscriber gets the latest of each key, never an older after a newer; keyless all, in order; a full-rate one gets every update', async () => {
    const slow = await openStream(
      subscribeUrl(hub, [
        ['topic', 'prices'],
        ['maxRate', '2'],
      ]),
    );
    const fast = await openStream(subscribeUrl(hub, [['topic', 'prices']]));
    assert.equal(slow.status, 200);
    const metrics = await (await fetch(`${hub.origin}/metrics`)).text();
    assert.match(metrics, /^herald_hub_rate_limited_streams 1$/m);
    const last = new Map<string, number>();
    const keyless: string[] = [];
    for (let i = 0; i < 120; i++) {
      const symbol = ['EURUSD', 'BTCUSD', 'AAPL'][i % 3]!;
      await hub.hub.publish({ topics: ['prices'], data: `${symbol}=${i}`, key: symbol });
      // One flush pass per update: the full-rate subscriber sends each before the next arrives
      // (within one pass, its queue conflates too: an unsent update is an unsent update).
      await new Promise((resolve) => setImmediate(resolve));
      last.set(symbol, i);
      if (i % 20 === 0) {
        await publish(hub, { topic: 'prices', data: `note ${i}` }, pub);
        keyless.push(`note ${i}`);
      }
    }
    // A keyless marker: after every keyed update, so once it is in, so are their latest values.
    await hub.hub.publish({ topics: ['prices'], data: 'end' });
    const slowGot = await until(slow, 'end');
    const fastGot = await until(fast, 'end');
    assert.equal(fastGot.length, 120 + keyless.length, 'the full-rate subscriber gets every update');
    for (const got of [slowGot, fastGot]) {
      assert.deepEqual(
        got.filter((e) => e.data.startsWith('note')).map((e) => e.data),
        keyless,
      );
      const seen = new Map<string, number>();
      for (const e of got.filter((e) => !e.data.startsWith('note'))) {
        const [symbol, n] = e.data.split('=') as [string, string];
        assert.ok((seen.get(symbol) ?? -1) < Number(n), `${e.data} after ${seen.get(symbol)}`);
        seen.set(symbol, Number(n));
      }
      assert.deepEqual(seen, last, 'the latest value of every key arrives');
    }
    assert.ok(slowGot.length < fastGot.length, `conflated: ${slowGot.length} of ${fastGot.length}`);
    const after = await (await fetch(`${hub.origin}/metrics`)).text();
    const conflated = Number(/^herald_hub_updates_conflated_total (\d+)$/m.exec(after)?.[1]);
    assert.equal(conflated, fastGot.length - slowGot.length);
    slow.close();
    fast.close();
  });

  test('WebSocket subscribers conflate too: maxRate on the upgrade URL, latest of each key, keyless in order', async () => {
    const s = await mustOpenSocket(
      subscribeUrl(hub, [
        ['topic', 'ws-prices'],
        ['maxRate', '1'],
      ]),
    );
    await s.opening;
    await hub.hub.publish({ topics: ['ws-prices'], data: 'first', key: 'k' });
    assert.equal((await s.next()).data, 'first'); // the first send goes at once
    for (let i = 0; i < 30; i++) {
      await hub.hub.publish({ topics: ['ws-prices'], data: `k=${i}`, key: 'k' });
      if (i % 10 === 0) await hub.hub.publish({ topics: ['ws-prices'], data: `note ${i}` });
    }
    await hub.hub.publish({ topics: ['ws-prices'], data: 'end' });
    const got: string[] = [];
    for (let u = await s.next(); u.data !== 'end'; u = await s.next()) got.push(u.data);
    // All of these waited for the next send: one slot for k, at its first place.
    assert.deepEqual(got, ['k=29', 'note 0', 'note 10', 'note 20']);
    s.close();
    const bad = await openSocket(
      subscribeUrl(hub, [
        ['topic', 'ws-prices'],
        ['maxRate', '0'],
      ]),
    );
    assert.ok(!('ws' in bad) && bad.status === 400, 'a bad rate refuses the upgrade');
  });

  test('the same key on two topics: two keys (the canonical topic is part of it)', async () => {
    const slow = await openStream(
      subscribeUrl(hub, [
        ['topic', 'bids'],
        ['topic', 'asks'],
        ['maxRate', '1'],
      ]),
    );
    await hub.hub.publish({ topics: ['bids'], data: 'first', key: 'k' });
    await slow.next(); // the first send goes at once; the next ones wait a second
    await hub.hub.publish({ topics: ['bids'], data: 'bid', key: 'k' });
    await hub.hub.publish({ topics: ['asks'], data: 'ask', key: 'k' });
    await hub.hub.publish({ topics: ['bids'], data: 'end' });
    assert.deepEqual(
      (await until(slow, 'end')).map((e) => e.data),
      ['bid', 'ask'],
    );
    slow.close();
  });

  test('bad keys: 400 naming the rule, nothing published', async () => {
    const before = await hub.hub.store.lastId();
    const cases: [string, RegExp][] = [
      ['', /herald\.key must not be empty/],
      ['k'.repeat(257), /herald\.key may be at most 256 bytes long \(got 257 bytes\)/],
      ['é'.repeat(129), /at most 256 bytes long \(got 258 bytes\)/],
      ['a\u0000b', /herald\.key must not contain control/],
    ];
    for (const [key, message] of cases) {
      const res = await publish(hub, { topic: 'prices', data: 'x', [KEY]: key }, pub);
      assert.equal(res.status, 400, JSON.stringify(key));
      assert.match(res.body, message);
    }
    // Invalid UTF-8 in a percent-encoded field.
    const res = await fetch(hub.hubUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${pub}` },
      body: 'topic=prices&data=x&herald.key=%FF%FE',
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /herald\.key" is not valid UTF-8/);
    await assert.rejects(hub.hub.publish({ topics: ['prices'], data: 'x', key: '\uD800' }), /valid UTF-8/);
    assert.equal(await hub.hub.store.lastId(), before);
    // 256 bytes is fine.
    assert.equal(
      (await publish(hub, { topic: 'prices', data: 'x', [KEY]: 'k'.repeat(256) }, pub)).status,
      200,
    );
  });

  test('bad rates: 400 naming the rule and the cap', async () => {
    const cases: [string[], RegExp][] = [
      [['0'], /maxRate must be a positive number of updates per second, such as 1 or 0.5 \(got "0"\)/],
      [['-1'], /must be a positive number/],
      [['abc'], /must be a positive number/],
      [[''], /must be a positive number/],
      [['Infinity'], /must be a positive number/],
      [['11'], /maxRate may be at most 10 updates per second on this hub \(got 11\); ask for 10 or less/],
      [['1', '2'], /maxRate may be given once/],
    ];
    for (const [values, message] of cases) {
      const sub = await openStream(
        subscribeUrl(hub, [['topic', 'prices'], ...values.map((v): [string, string] => ['maxRate', v])]),
      );
      await sub.ended;
      assert.equal(sub.status, 400, values.join());
      assert.match(sub.text, message);
    }
    const ok = await openStream(
      subscribeUrl(hub, [
        ['topic', 'prices'],
        ['maxRate', '0.5'],
      ]),
    );
    assert.equal(ok.status, 200);
    ok.close();
  });
});

describe("slowConsumerPolicy 'conflate'", () => {
  test('a subscriber that never reads keeps its stream, bounded by keys, and gets the latest of each key when it reads', async (t) => {
    const maxQueuedBytes = 64 * 1024;
    const hub = await startHub({ anonymous: true, slowConsumerPolicy: 'conflate', maxQueuedBytes });
    t.after(() => hub.close());
    const raw = await rawSubscriber(hub, 'topic=ticker');
    const socket = raw.socket;
    t.after(() => socket.destroy());
    socket.pause(); // reads nothing from here on
    const [subscriber] = [...registryOf(hub).values()];
    const stream = subscriber!.stream!;
    const keys = 20;
    const data = 'x'.repeat(4000);
    let maxQueued = 0;
    const last = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const key = `s${i % keys}`;
      hub.hub.publish({ topics: ['ticker'], data: `${key}=${i} ${data}`, key });
      last.set(key, i);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      maxQueued = Math.max(maxQueued, stream.queuedBytes);
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(stream.closed, false, 'kept its stream');
    assert.equal(hub.hub.metrics.slowClientsDropped, 0);
    // 16 MB published; queued: the budget, what the socket held (64 KiB and one write), 20 keys.
    const bound = maxQueuedBytes + 64 * 1024 + keys * 4100 + keys * 4100;
    assert.ok(maxQueued <= bound, `queued ${maxQueued} <= ${bound}`);
    assert.ok(hub.hub.metrics.updatesConflated > 0);
    // It reads again: the latest of every key arrives, never an older after a newer.
    socket.resume();
    // Past its budget a keyless update would close it: the marker goes once it has drained.
    await stream.whenDrained();
    hub.hub.publish({ topics: ['ticker'], data: 'end' });
    await eventually(() => raw.text.includes('data: end\n'), 'the end marker', 20_000);
    const seen = new Map<string, number>();
    for (const m of raw.text.matchAll(/data: (s\d+)=(\d+) /g)) {
      const [key, n] = [m[1]!, Number(m[2])];
      assert.ok((seen.get(key) ?? -1) < n, `${key}=${n} after ${seen.get(key)}`);
      seen.set(key, n);
    }
    assert.deepEqual(seen, last);
  });

  test('a keyless update past the budget still closes the stream', async (t) => {
    const hub = await startHub({
      anonymous: true,
      slowConsumerPolicy: 'conflate',
      maxQueuedBytes: 32 * 1024,
    });
    t.after(() => hub.close());
    const raw = await rawSubscriber(hub, 'topic=ticker');
    t.after(() => raw.socket.destroy());
    raw.socket.pause();
    const stream = [...registryOf(hub).values()][0]!.stream!;
    for (let i = 0; i < 2000 && !stream.closed; i++) {
      hub.hub.publish({ topics: ['ticker'], data: 'y'.repeat(8000) });
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.equal(stream.closed, true);
    assert.equal(hub.hub.metrics.slowClientsDropped, 1);
  });
});

for (const kind of ['memory', 'sqlite', 'redis'] as const) {
  test(`resume (${kind} store): the latest update of each key since the ID, every keyless one, in order; history keeps all`, async (t) => {
    let store: Store;
    if (kind === 'memory') store = await openStore('memory', DEFAULT_RETENTION);
    else if (kind === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'herald-conflation-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      store = await openStore(`sqlite:${join(dir, 'history.db')}`, DEFAULT_RETENTION);
    } else {
      const prefix = await redisPrefix(t);
      if (prefix === undefined) return;
      store = await openStore(REDIS_URL, DEFAULT_RETENTION, { prefix });
    }
    const hub = await startHub({ anonymous: true, store, historyPageSize: 100 });
    t.after(() => hub.close());
    const updates: [string, string | undefined][] = [
      ['a1', 'a'],
      ['x', undefined],
      ['b1', 'b'],
      ['a2', 'a'],
      ['y', undefined],
      ['b2', 'b'],
      ['a3', 'a'],
    ];
    for (const [id, key] of updates) await hub.hub.publish({ topics: ['t'], id, data: id, key });
    await hub.hub.publish({ topics: ['other'], id: 'o1', data: 'o1', key: 'a' });
    const resume = async (from: string) => {
      const sub = await openStream(
        subscribeUrl(hub, [
          ['topic', 't'],
          ['topic', `m-${from}`],
        ]),
        {
          'last-event-id': from,
        },
      );
      await hub.hub.publish({ topics: [`m-${from}`], data: 'marker' });
      const got = (await until(sub, 'marker')).map((e) => e.lastEventId);
      sub.close();
      return got;
    };
    assert.deepEqual(await resume('a1'), ['x', 'y', 'b2', 'a3']);
    assert.deepEqual(await resume('a2'), ['y', 'b2', 'a3']);
    assert.deepEqual(await resume('b2'), ['a3']);
    // Every update is still kept for the next reader.
    const { updates: kept } = await hub.hub.store.after('earliest', 100);
    assert.deepEqual(
      kept.filter((u) => u.topics[0] === 't').map((u) => [u.id, u.key]),
      updates,
    );
  });
}
