/**
 * The client's transports against a real hub over real sockets: the same updates, in order, once,
 * over SSE, WebSocket and long polling, across a drop of every connection; and the fallback list:
 * a transport the hub refuses, and a buffering proxy that holds a stream back, move the source to
 * the next transport without losing or repeating an update.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import WebSocket from 'ws';
import {
  EventSource,
  type EventSourceErrorEvent,
  type EventSourceOptions,
  type WebSocketConstructor,
} from '../../src/client/index.js';
import type { HubOptions } from '../../src/hub/index.js';
import { bufferingProxy } from '../support/buffering-proxy.js';
import { publish, signDraft07, startHub, type TestHub } from '../support/hub.js';

const TOPIC = 'https://example.com/books/1';
// Node 20 has no global WebSocket: the client takes ws's.
const WS =
  (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ??
  (WebSocket as unknown as WebSocketConstructor);
const FAST = { backoff: { initialMs: 20, maxMs: 200, jitter: 'none' as const } };

async function hubFor(t: TestContext, options: HubOptions = {}): Promise<TestHub> {
  // A long poll opens with its first answer: a short wait has an empty one come soon.
  const hub = await startHub({ anonymous: true, pollTimeoutMs: 500, ...options });
  t.after(() => hub.close());
  return hub;
}

function source(t: TestContext, url: string, options: EventSourceOptions): EventSource {
  const es = new EventSource(url, { WebSocket: WS, ...FAST, ...options });
  t.after(() => es.close());
  return es;
}

/** Collects message events; `until(n)` resolves once n arrived. */
function collect(es: EventSource) {
  const seen: { data: string; id: string }[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  es.addEventListener('message', (event) => {
    seen.push({ data: event.data, id: event.lastEventId });
    if (waiting !== undefined && seen.length >= waiting.n) waiting.resolve();
  });
  return {
    seen,
    until(n: number): Promise<void> {
      if (seen.length >= n) return Promise.resolve();
      return new Promise((resolve) => {
        waiting = { n, resolve };
      });
    },
  };
}

function opened(es: EventSource): Promise<void> {
  return es.readyState === EventSource.OPEN ? Promise.resolve() : once(es, 'open').then(() => undefined);
}

async function publishAll(hub: TestHub, data: string[]): Promise<string[]> {
  const token = await signDraft07({ publish: ['*'] });
  const ids: string[] = [];
  for (const d of data) {
    const res = await publish(hub, { topic: TOPIC, data: d }, token);
    assert.equal(res.status, 200, res.body);
    ids.push(res.body);
  }
  return ids;
}

const subscribeUrl = (hub: TestHub | string) =>
  `${typeof hub === 'string' ? hub : hub.hubUrl}?topic=${encodeURIComponent(TOPIC)}`;

for (const transport of ['sse', 'websocket', 'poll'] as const) {
  test(`${transport}: the same updates in order, once, across a drop of every connection`, async (t) => {
    const hub = await hubFor(t);
    const es = source(t, subscribeUrl(hub), { transport });
    assert.equal(es.transport, transport);
    const got = collect(es);
    await opened(es);
    const first = await publishAll(hub, ['one', 'two']);
    await got.until(2);
    assert.equal(es.lastEventId, first[1]);

    // SSE and WebSocket lose their connection and reconnect; a waiting poll is answered early and
    // the next one simply follows.
    const reconnected = transport === 'poll' ? null : Promise.all([once(es, 'error'), once(es, 'open')]);
    hub.hub.disconnectSubscribers();
    // Published while the client is away or coming back: history has them either way.
    const second = await publishAll(hub, ['three', 'four']);
    await reconnected;
    await got.until(4);
    const third = await publishAll(hub, ['five']);
    await got.until(5);
    assert.deepEqual(
      got.seen.map((m) => m.data),
      ['one', 'two', 'three', 'four', 'five'],
    );
    assert.deepEqual(
      got.seen.map((m) => m.id),
      [...first, ...second, ...third],
    );
    assert.equal(es.transport, transport);
  });
}

test('websocket: named events keep their type; for await reads them', async (t) => {
  const hub = await hubFor(t);
  const es = source(t, subscribeUrl(hub), { transport: 'websocket' });
  await opened(es);
  // Iteration sees what arrives once it started.
  const events = es.events();
  const token = await signDraft07({ publish: ['*'] });
  await publish(hub, { topic: TOPIC, data: 'a', type: 'price' }, token);
  await publish(hub, { topic: TOPIC, data: 'b' }, token);
  const seen: string[] = [];
  for await (const event of events) {
    seen.push(`${event.type}:${event.data}`);
    if (seen.length === 2) break;
  }
  assert.deepEqual(seen, ['price:a', 'message:b']);
  assert.equal(es.readyState, EventSource.CLOSED, 'breaking out of the loop closes the source');
});

test('fallback: a transport the hub switched off gives way to the next, which delivers', async (t) => {
  const hub = await hubFor(t, { transports: ['sse', 'poll'] });
  const es = source(t, subscribeUrl(hub), { transport: ['websocket', 'poll'] });
  const fallback = once(es, 'error') as Promise<[EventSourceErrorEvent]>;
  const got = collect(es);
  const [event] = await fallback;
  assert.equal(event.code, 'HERALD_ERR_TRANSPORT_FALLBACK');
  assert.match(event.message, /from 'websocket' to 'poll'/);
  await opened(es);
  assert.equal(es.transport, 'poll');
  await publishAll(hub, ['x', 'y']);
  await got.until(2);
  assert.deepEqual(
    got.seen.map((m) => m.data),
    ['x', 'y'],
  );
});

test('fallback: an event stream the hub refuses (404) gives way to long polling', async (t) => {
  const hub = await hubFor(t, { transports: ['poll'] });
  const es = source(t, subscribeUrl(hub), { transport: ['sse', 'poll'] });
  const [event] = (await once(es, 'error')) as [EventSourceErrorEvent];
  assert.equal(event.code, 'HERALD_ERR_TRANSPORT_FALLBACK');
  assert.equal(event.status, 404);
  await opened(es);
  assert.equal(es.transport, 'poll');
});

test('the last transport of the list refusing closes the source, as a refused stream does', async (t) => {
  const hub = await hubFor(t, { transports: ['ws'] });
  const es = source(t, subscribeUrl(hub), { transport: ['sse', 'poll'] });
  const codes: string[] = [];
  es.addEventListener('error', (e) => codes.push((e as EventSourceErrorEvent).code));
  await new Promise<void>((resolve) =>
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) resolve();
    }),
  );
  assert.deepEqual(codes, ['HERALD_ERR_TRANSPORT_FALLBACK', 'HERALD_ERR_BAD_STATUS']);
});

test('fallback: behind a buffering proxy, a silent stream gives way to long polling, resuming after the last event ID', async (t) => {
  const hub = await hubFor(t);
  const proxy = await bufferingProxy(t, hub.origin);
  const [before] = await publishAll(hub, ['kept from an earlier session']);
  const missed = await publishAll(hub, ['m1', 'm2']);
  const es = source(t, subscribeUrl(`${proxy}/.well-known/mercure`), {
    transport: ['websocket', 'sse', 'poll'],
    fallbackAfterMs: 300,
    lastEventId: before,
  });
  const errors: string[] = [];
  es.addEventListener('error', (e) => errors.push((e as EventSourceErrorEvent).message));
  const got = collect(es);
  await got.until(2);
  assert.equal(es.transport, 'poll');
  assert.equal(errors.length, 2, errors.join('\n'));
  assert.match(errors[0]!, /from 'websocket' to 'sse'/);
  assert.match(errors[1]!, /delivered nothing .* in 300 ms .*from 'sse' to 'poll'/);
  const later = await publishAll(hub, ['l1']);
  await got.until(3);
  assert.deepEqual(
    got.seen.map((m) => m.id),
    [...missed, ...later],
  );
});

test('fallback: behind a buffering proxy, a source opened with no ID gets every update published while its stream was silent, once', async (t) => {
  const hub = await hubFor(t);
  const proxy = await bufferingProxy(t, hub.origin);
  // Published before the source opened: not for it.
  const [earlier] = await publishAll(hub, ['before the source opened']);
  const es = source(t, subscribeUrl(`${proxy}/.well-known/mercure`), {
    transport: ['sse', 'poll'],
    // Long enough for Node's first fetch, which loads undici, to open the stream.
    fallbackAfterMs: 2000,
  });
  const got = collect(es);
  await opened(es);
  assert.equal(es.transport, 'sse', 'the stream opened (its head passed the proxy)');
  assert.equal(es.lastEventId, earlier, "the hub's cursor header: where the subscription starts");
  // Published while the proxy holds the stream back, up to the fallback; paced, so that history
  // (1,000 updates a topic) keeps them all however fast the machine publishes.
  const silent: string[] = [];
  for (let i = 0; es.transport === 'sse'; i++) {
    assert.ok(i < 1000, 'the silent stream gives way within fallbackAfterMs');
    silent.push(...(await publishAll(hub, [`silent ${i}`])));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const later = await publishAll(hub, ['after the fallback']);
  await got.until(silent.length + 1);
  assert.equal(es.transport, 'poll');
  assert.ok(silent.length > 0);
  assert.deepEqual(
    got.seen.map((m) => m.id),
    [...silent, ...later],
  );
});

test('a source keeps to the transport that delivered: a later drop reconnects on it', async (t) => {
  const hub = await hubFor(t);
  const es = source(t, subscribeUrl(hub), { transport: ['websocket', 'poll'], fallbackAfterMs: 200 });
  const got = collect(es);
  await opened(es);
  await publishAll(hub, ['a']);
  await got.until(1);
  hub.hub.disconnectSubscribers();
  await once(es, 'error');
  await once(es, 'open');
  assert.equal(es.transport, 'websocket');
  await publishAll(hub, ['b']);
  await got.until(2);
  assert.deepEqual(
    got.seen.map((m) => m.data),
    ['a', 'b'],
  );
});

test('bad transport options are refused at construction, naming the rule', () => {
  assert.throws(
    () => new EventSource('http://127.0.0.1/', { transport: 'carrier-pigeon' as 'sse' }),
    /option transport must be one of 'sse', 'websocket', 'poll'/,
  );
  assert.throws(
    () => new EventSource('http://127.0.0.1/', { transport: ['sse', 'sse'] }),
    /list of distinct ones/,
  );
  assert.throws(() => new EventSource('http://127.0.0.1/', { transport: [] }), /option transport/);
  assert.throws(
    () => new EventSource('http://127.0.0.1/', { transport: ['sse', 'websocket'], method: 'POST' }),
    /option method applies to the 'sse' transport only/,
  );
  assert.throws(
    () => new EventSource('http://127.0.0.1/', { transport: 'poll', fallbackAfterMs: 0 }),
    /fallbackAfterMs must be a positive number/,
  );
});

test('websocket without a WebSocket class (Node 20) fails with a message saying what to pass', async (t) => {
  if ((globalThis as { WebSocket?: unknown }).WebSocket !== undefined) {
    t.skip('this Node has a global WebSocket');
    return;
  }
  const es = new EventSource('http://127.0.0.1:9/', { transport: 'websocket' });
  t.after(() => es.close());
  const [event] = (await once(es, 'error')) as [EventSourceErrorEvent];
  assert.equal(event.code, 'HERALD_ERR_TRANSPORT_UNAVAILABLE');
  assert.match(event.message, /pass one as the WebSocket option/);
  assert.equal(es.readyState, EventSource.CLOSED);
});

test("fallback from a stream that opened but delivered nothing resumes from the response's cursor, not from now", async (t) => {
  // The hub answered (its cursor header passed the proxy) but the proxy holds the body back.
  const asked: (string | null)[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('transport') === 'poll') {
      asked.push(url.searchParams.get('lastEventID'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          lastEventID: 'c7',
          updates: [
            { id: 'c6', data: 'six' },
            { id: 'c7', data: 'seven' },
          ],
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'last-event-id': 'c5' });
    res.flushHeaders();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const es = source(t, `http://127.0.0.1:${(server.address() as AddressInfo).port}/hub`, {
    transport: ['sse', 'poll'],
    // Long enough for Node's first fetch, which loads undici.
    fallbackAfterMs: 1500,
  });
  const open = once(es, 'open');
  const got = collect(es);
  await open;
  assert.equal(es.transport, 'sse', 'the stream opened first');
  await got.until(2);
  assert.equal(asked[0], 'c5', 'the first poll resumes from the cursor the stream was given');
  assert.deepEqual(
    got.seen.map((m) => m.data),
    ['six', 'seven'],
  );
});
