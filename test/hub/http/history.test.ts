import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createMemoryStore } from '../../../src/hub/stores/index.js';
import type { SubscriberRegistry } from '../../../src/hub/subscribers/registry.js';
import { eventually } from '../../server/helpers.js';
import { openStream, publish, signDraft07, startHub, subscribeUrl, type TestHub } from '../../support/hub.js';

describe('history and resume', () => {
  let hub: TestHub;
  let pub: string;
  before(async () => {
    hub = await startHub({ anonymous: true, historyPageSize: 10 });
    pub = await signDraft07({ publish: ['*'] });
    for (const id of ['a', 'b', 'c']) await publish(hub, { topic: 'h', id, data: id }, pub);
    await publish(hub, { topic: 'elsewhere', id: 'x', data: 'x' }, pub);
    await publish(hub, { topic: 'h', id: 'p', data: 'private', private: 'on' }, pub);
    await publish(hub, { topic: 'h', id: 'd', data: 'd' }, pub);
  });
  after(() => hub.close());

  let markers = 0;
  /** The IDs replayed, up to a live marker published on a topic of its own (never replayed). */
  async function ids(params: [string, string][], headers: Record<string, string> = {}) {
    const marker = `marker-${++markers}`;
    const syntax = params.some(([name]) => name === 'topic') ? 'topic' : 'match';
    const sub = await openStream(subscribeUrl(hub, [...params, [syntax, marker]]), headers);
    await publish(hub, { topic: marker, data: marker }, pub);
    const got: string[] = [];
    for (;;) {
      const event = await sub.next();
      if (event.data === marker) break;
      got.push(event.lastEventId);
    }
    sub.close();
    return { got, headers: sub.headers };
  }

  test('Last-Event-ID header: the updates after it, on the subscribed topics, public only', async () => {
    const { got, headers } = await ids([['topic', 'h']], { 'last-event-id': 'a' });
    assert.deepEqual(got, ['b', 'c', 'd']);
    // draft-07: the Last-Event-ID response header holds the ID preceding the first event sent.
    assert.equal(headers['last-event-id'], 'a');
    assert.equal(headers['mercure-last-event-id'], undefined);
  });

  test('private updates are replayed to authorized subscribers only', async () => {
    const token = await signDraft07({ subscribe: ['h'] });
    const { got } = await ids(
      [
        ['topic', 'h'],
        ['authorization', token],
      ],
      { 'last-event-id': 'c' },
    );
    assert.deepEqual(got, ['p', 'd']);
  });

  test('lastEventID (draft-07) and last_event_id (1.0) query parameters; the header wins over both', async () => {
    assert.deepEqual(
      (
        await ids([
          ['topic', 'h'],
          ['lastEventID', 'b'],
        ])
      ).got,
      ['c', 'd'],
    );
    const v1 = await ids([
      ['match', 'h'],
      ['last_event_id', 'b'],
    ]);
    assert.deepEqual(v1.got, ['c', 'd']);
    assert.equal(v1.headers['mercure-last-event-id'], 'b');
    assert.equal(v1.headers['last-event-id'], undefined);
    assert.deepEqual(
      (
        await ids(
          [
            ['topic', 'h'],
            ['lastEventID', 'a'],
          ],
          { 'last-event-id': 'c' },
        )
      ).got,
      ['d'],
    );
  });

  test('earliest replays everything kept; the cursor is then "earliest"', async () => {
    const { got, headers } = await ids([['match', 'h']], { 'last-event-id': 'earliest' });
    assert.deepEqual(got, ['a', 'b', 'c', 'd']);
    assert.equal(headers['mercure-last-event-id'], 'earliest');
  });

  test('an unknown ID replays what the hub still holds, as earliest, and answers "earliest"', async () => {
    const { got, headers } = await ids([['topic', 'h']], { 'last-event-id': 'never-published' });
    assert.deepEqual(got, ['a', 'b', 'c', 'd']);
    assert.equal(headers['last-event-id'], 'earliest');
  });

  test('without a last event ID: no replay, and the cursor is the newest public update, from which a resume misses nothing', async () => {
    await publish(hub, { topic: 'elsewhere', id: 'newest-public', data: 'y' }, pub);
    // Newer, but private: a cursor never names an update the subscriber may not read.
    await publish(hub, { topic: 'elsewhere', id: 'newest-private', data: 'z', private: 'on' }, pub);
    const draft07 = await ids([['topic', 'h']]);
    assert.deepEqual(draft07.got, []);
    assert.equal(draft07.headers['last-event-id'], 'newest-public');
    assert.equal(draft07.headers['mercure-last-event-id'], undefined);
    const v1 = await ids([['match', 'h']]);
    assert.deepEqual(v1.got, []);
    // The marker `ids` published last is the newest public update by now.
    const cursor = v1.headers['mercure-last-event-id'];
    assert.equal(typeof cursor, 'string');
    assert.notEqual(cursor, 'newest-public');
    assert.equal(v1.headers['last-event-id'], undefined);

    // What a client that saw nothing yet relies on: resuming from that cursor brings what came since.
    await publish(hub, { topic: 'h', id: 'e', data: 'e' }, pub);
    assert.deepEqual((await ids([['match', 'h']], { 'last-event-id': cursor as string })).got, ['e']);
  });
});

describe('a hub with no history', () => {
  test('answers every subscription without a last event ID with the cursor "earliest", in the draft\'s header', async (t) => {
    const hub = await startHub({ anonymous: true });
    t.after(() => hub.close());
    const draft07 = await openStream(subscribeUrl(hub, [['topic', 'x']]));
    draft07.close();
    assert.equal(draft07.status, 200);
    assert.equal(draft07.headers['last-event-id'], 'earliest');
    assert.equal(draft07.headers['mercure-last-event-id'], undefined);
    const v1 = await openStream(subscribeUrl(hub, [['match', 'x']]));
    v1.close();
    assert.equal(v1.headers['mercure-last-event-id'], 'earliest');
    assert.equal(v1.headers['last-event-id'], undefined);
  });
});

describe('replay meets live', () => {
  test('updates published during a long replay arrive once each, in order, with no gap', async (t) => {
    const hub = await startHub({ anonymous: true, historyPageSize: 7 });
    t.after(() => hub.close());
    const published: string[] = [];
    for (let i = 0; i < 150; i++) published.push((await hub.hub.publish({ topics: ['r'], data: `${i}` })).id);
    const sub = await openStream(subscribeUrl(hub, [['topic', 'r']]), { 'last-event-id': 'earliest' });
    // Publish while the history pages are being written.
    const live = (async () => {
      for (let i = 150; i < 300; i++) {
        published.push((await hub.hub.publish({ topics: ['r'], data: `${i}` })).id);
        if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const received: string[] = [];
    for (let i = 0; i < 300; i++) received.push((await sub.next()).lastEventId);
    await live;
    assert.deepEqual(received, published);
    sub.close();
  });
});

describe('replay to a slow reader', () => {
  test('waits on the stream draining, with no timer per subscriber, and delivers all history once the reader reads', async (t) => {
    const maxQueuedBytes = 64 * 1024;
    const hub = await startHub({ anonymous: true, maxQueuedBytes, historyPageSize: 50 });
    t.after(() => hub.close());
    const count = 200;
    const data = 'x'.repeat(4096);
    for (let i = 0; i < count; i++) await hub.hub.publish({ topics: ['slow'], data });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const baseline = timers();

    // Readers that do not read: the sockets fill, the streams block, replay has to wait.
    const readers = 20;
    const { port } = new URL(hub.origin);
    const sockets: net.Socket[] = [];
    const texts: string[] = [];
    for (let i = 0; i < readers; i++) {
      const socket = net.connect(Number(port), '127.0.0.1');
      t.after(() => socket.destroy());
      socket.write(
        'GET /.well-known/mercure?topic=slow HTTP/1.0\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: earliest\r\n\r\n',
      );
      socket.pause();
      sockets.push(socket);
      texts.push('');
    }
    const frame = 4096 + 64;
    const waiting = () => {
      // The hub's own registry: what is waiting is server-side state.
      const { registry } = hub.hub as unknown as { registry: SubscriberRegistry };
      const subscribers = [...registry.values()];
      return (
        subscribers.length === readers &&
        subscribers.every(
          (s) =>
            s.state === 'replaying' &&
            s.stream !== null &&
            s.stream.queuedBytes + frame > maxQueuedBytes >> 1,
        )
      );
    };
    await eventually(waiting, 'every replay waiting on a full stream');
    assert.ok(
      timers() - baseline < readers / 2,
      `${timers() - baseline} timers for ${readers} waiting replays`,
    );

    const done = sockets.map(
      (socket, i) =>
        new Promise<void>((resolve) => {
          socket.setEncoding('latin1');
          socket.on('data', (chunk: string) => {
            texts[i] += chunk;
            if (texts[i]!.split('\nid: ').length - 1 >= count) resolve();
          });
          socket.resume();
        }),
    );
    await Promise.all(done);
    for (const text of texts) assert.equal(text.split('\nid: ').length - 1, count);
  });
});

test('history is kept per topic: a subscriber away while a noisy topic ran gets the quiet topic’s updates', async () => {
  // The notifications demo's case: a ticker publishing far more than the history size meanwhile.
  const hub = await startHub({ anonymous: true, store: createMemoryStore({ maxCount: 10, maxAgeMs: 0 }) });
  try {
    const pub = await signDraft07({ publish: ['*'] });
    await publish(hub, { topic: 'notifications', id: 'seen', data: 'seen' }, pub);
    await publish(hub, { topic: 'notifications', id: 'missed-1', data: 'missed 1' }, pub);
    for (let i = 0; i < 50; i++) await publish(hub, { topic: 'ticker', id: `t${i}`, data: String(i) }, pub);
    await publish(hub, { topic: 'notifications', id: 'missed-2', data: 'missed 2' }, pub);
    const sub = await openStream(
      subscribeUrl(hub, [
        ['topic', 'notifications'],
        ['topic', 'marker'],
      ]),
      { 'last-event-id': 'seen' },
    );
    try {
      // Read up to a live marker, so that a replay sending nothing fails instead of waiting.
      await publish(hub, { topic: 'marker', id: 'marker', data: 'marker' }, pub);
      const got: string[] = [];
      for (let event = await sub.next(); event.lastEventId !== 'marker'; event = await sub.next()) {
        got.push(event.lastEventId);
      }
      assert.deepEqual(got, ['missed-1', 'missed-2']);
      assert.equal(sub.headers['last-event-id'], 'seen');
    } finally {
      sub.close();
    }
  } finally {
    await hub.close();
  }
});
