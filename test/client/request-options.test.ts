// Extensions of the request: headers (object or function, re-evaluated per reconnect), method and
// body, a custom fetch; and option checks at construction.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EventSource,
  EventSourceErrorEvent,
  type FetchLike,
  InvalidEventSourceOptionError,
} from '../../src/client/index.js';
import { EVENT_STREAM_HEADERS, nextEvent, startStreamServer } from './stream-server.js';

test('a headers function is called before every connect, sync or async, with Last-Event-ID kept', async (t) => {
  const server = await startStreamServer(t, (_req, res, n) => {
    res.writeHead(200, EVENT_STREAM_HEADERS);
    if (n < 3) res.end(`retry: 1\nid: ${n}\ndata: ${n}\n\n`);
    else res.write('data: last\n\n');
  });
  let calls = 0;
  const es = new EventSource(server.url, {
    headers: async () => {
      calls++;
      return { Authorization: `Bearer token-${calls}`, 'X-Sync': 'yes' };
    },
  });
  t.after(() => es.close());
  await new Promise<void>((resolve) => {
    es.onmessage = (e) => e.data === 'last' && resolve();
  });
  assert.equal(calls, 3);
  assert.deepEqual(
    server.requests.map((r) => [r.headers.authorization, r.headers['x-sync'], r.lastEventId]),
    [
      ['Bearer token-1', 'yes', null],
      ['Bearer token-2', 'yes', '1'],
      ['Bearer token-3', 'yes', '2'],
    ],
  );
  for (const request of server.requests) {
    assert.equal(request.headers.accept, 'text/event-stream');
    assert.equal(request.headers['cache-control'], 'no-cache');
    assert.equal(request.headers.pragma, 'no-cache');
  }
});

test('a headers object is sent as given on every request', async (t) => {
  const server = await startStreamServer(t, (_req, res) => {
    res.writeHead(200, EVENT_STREAM_HEADERS).end('data: x\n\n');
  });
  const es = new EventSource(server.url, { headers: { 'X-Api-Key': 'k1' } });
  t.after(() => es.close());
  await nextEvent(es, 'message');
  es.close();
  assert.equal(server.requests[0]!.headers['x-api-key'], 'k1');
});

test('a headers function that throws is reported as HERALD_ERR_REQUEST_INIT, then retried', async (t) => {
  const server = await startStreamServer(t, (_req, res) => {
    res.writeHead(200, EVENT_STREAM_HEADERS).write('data: in\n\n');
  });
  let calls = 0;
  const es = new EventSource(server.url, {
    backoff: { initialMs: 1, jitter: 'none' },
    headers: () => {
      calls++;
      if (calls === 1) throw new Error('token service down');
      return { Authorization: 'Bearer ok' };
    },
  });
  t.after(() => es.close());
  const error = await nextEvent<EventSourceErrorEvent>(es, 'error');
  assert.ok(error instanceof EventSourceErrorEvent);
  assert.equal(error.code, 'HERALD_ERR_REQUEST_INIT');
  assert.match(error.message, /token service down/);
  assert.equal(es.readyState, EventSource.CONNECTING);
  await nextEvent(es, 'message');
  assert.equal(server.requests.length, 1);
  assert.equal(server.requests[0]!.headers.authorization, 'Bearer ok');
});

test('method and body are sent on every request, a body function evaluated each time', async (t) => {
  const server = await startStreamServer(t, (_req, res, n) => {
    res.writeHead(200, EVENT_STREAM_HEADERS);
    if (n === 1) res.end('retry: 1\nid: a\ndata: 1\n\n');
    else res.write('data: 2\n\n');
  });
  let n = 0;
  const es = new EventSource(server.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: () => JSON.stringify({ query: 'prices', attempt: ++n }),
  });
  t.after(() => es.close());
  await new Promise<void>((resolve) => {
    es.onmessage = (e) => e.data === '2' && resolve();
  });
  assert.deepEqual(
    server.requests.map((r) => [r.method, r.headers['content-type'], r.body, r.lastEventId]),
    [
      ['POST', 'application/json', '{"query":"prices","attempt":1}', null],
      ['POST', 'application/json', '{"query":"prices","attempt":2}', 'a'],
    ],
  );
});

test('a custom fetch is called for every request, with the request the source built', async (t) => {
  const server = await startStreamServer(t, (_req, res) => {
    res.writeHead(200, EVENT_STREAM_HEADERS).write('data: via custom fetch\n\n');
  });
  const seen: { url: string; accept: string | null; signal: boolean; cache: string | undefined }[] = [];
  const customFetch: FetchLike = (url, init) => {
    seen.push({
      url,
      accept: new Headers(init.headers).get('accept'),
      signal: init.signal instanceof AbortSignal,
      cache: init.cache,
    });
    return fetch(url, init);
  };
  const es = new EventSource(`${server.url}path?q=1`, { fetch: customFetch });
  t.after(() => es.close());
  const event = await nextEvent<MessageEvent>(es, 'message');
  assert.equal(event.data, 'via custom fetch');
  assert.deepEqual(seen, [
    { url: `${server.url}path?q=1`, accept: 'text/event-stream', signal: true, cache: 'no-store' },
  ]);
});

test('a custom fetch may return a Response without a URL: origin falls back to the request URL', async (t) => {
  const es = new EventSource('https://stream.example/events', {
    fetch: async () =>
      new Response('id: 1\ndata: synthetic\n\n', { headers: { 'content-type': 'text/event-stream' } }),
  });
  t.after(() => es.close());
  const event = await nextEvent<MessageEvent>(es, 'message');
  assert.deepEqual(
    [event.data, event.origin, event.lastEventId],
    ['synthetic', 'https://stream.example', '1'],
  );
});

test('options that cannot work throw InvalidEventSourceOptionError at construction', () => {
  const cases: [string, object][] = [
    ['stallTimeoutMs', { stallTimeoutMs: 0 }],
    ['stallTimeoutMs', { stallTimeoutMs: -1 }],
    ['maxBufferSize', { maxBufferSize: 1.5 }],
    ['body', { body: 'x' }],
    ['body', { method: 'HEAD', body: 'x' }],
    ['fetch', { fetch: 'nope' }],
    ['backoff.factor', { backoff: { factor: 0.5 } }],
    ['backoff.maxRetries', { backoff: { maxRetries: -1 } }],
    ['backoff.jitter', { backoff: { jitter: 'some' } }],
    ['backoff.initialMs', { backoff: { initialMs: Number.NaN } }],
    ['lastEventId', { lastEventId: 'a\nb' }],
    ['retryOnStatus', { retryOnStatus: 'yes' }],
    ['retryOnStatus', { retryOnStatus: [503, 200] }],
    ['retryOnStatus', { retryOnStatus: [5030] }],
  ];
  for (const [option, options] of cases) {
    assert.throws(
      () => new EventSource('http://127.0.0.1:1/', options),
      (error: unknown) =>
        error instanceof InvalidEventSourceOptionError &&
        error.code === 'HERALD_ERR_INVALID_OPTION' &&
        error.option === option &&
        error.message.includes(option),
      option,
    );
  }
});

test('a custom fetch that ignores cache modes still sends Cache-Control: no-cache and Pragma: no-cache', async () => {
  let seen: Headers | undefined;
  const es = new EventSource('http://stream.example/', {
    fetch: async (_url, init) => {
      seen = new Headers(init.headers);
      return new Response('data: x\n\n', { headers: { 'content-type': 'text/event-stream' } });
    },
  });
  await nextEvent(es, 'message');
  es.close();
  assert.deepEqual([seen?.get('cache-control'), seen?.get('pragma')], ['no-cache', 'no-cache']);
});

test('lastEventId resumes from a stored ID: sent on the first request, then replaced by the stream', async (t) => {
  const server = await startStreamServer(t, (_req, res, n) => {
    res.writeHead(200, EVENT_STREAM_HEADERS);
    if (n === 1) res.end('retry: 1\ndata: no id\n\nid: 43\ndata: x\n\n');
    else res.write('data: y\n\n');
  });
  const es = new EventSource(server.url, { lastEventId: 'prix-42€' });
  t.after(() => es.close());
  const seen: string[] = [];
  await new Promise<void>((resolve) => {
    es.onmessage = (e) => {
      seen.push(`${e.data}:${e.lastEventId}`);
      if (e.data === 'y') resolve();
    };
  });
  assert.deepEqual(seen, ['no id:prix-42€', 'x:43', 'y:43']);
  assert.deepEqual(
    server.requests.map((r) => r.lastEventId),
    ['prix-42€', '43'],
  );
});

test('lastEventIdParam sends the ID in the query instead of the header', async (t) => {
  const server = await startStreamServer(t, (_req, res, n) => {
    res.writeHead(200, EVENT_STREAM_HEADERS);
    if (n === 1) res.end('retry: 1\nid: 5/6 é\ndata: a\n\n');
    else if (n === 2) res.end('id\ndata: b\n\n');
    else res.write('data: c\n\n');
  });
  const es = new EventSource(`${server.url}sub?topic=a&lastEventID=stale`, {
    lastEventIdParam: 'lastEventID',
  });
  t.after(() => es.close());
  await new Promise<void>((resolve) => {
    es.onmessage = (e) => e.data === 'c' && resolve();
  });
  assert.deepEqual(
    server.requests.map((r) => [r.url, r.lastEventId]),
    [
      ['/sub?topic=a&lastEventID=stale', null], // no ID yet: the URL as given
      ['/sub?topic=a&lastEventID=5%2F6+%C3%A9', null],
      ['/sub?topic=a&lastEventID=stale', null], // the stream cleared the ID
    ],
  );
});

test('a custom fetch that resolves to something unusable is a network error, not a crash', async (t) => {
  const es = new EventSource('https://stream.example/events', {
    fetch: async () =>
      ({ status: 200, headers: new Headers({ 'content-type': 'text/event-stream' }) }) as Response,
  });
  t.after(() => es.close());
  const error = await nextEvent<EventSourceErrorEvent>(es, 'error');
  assert.equal(error.code, 'HERALD_ERR_NETWORK');
  assert.equal(es.readyState, EventSource.CONNECTING);
});
