// for await over a source: every message type or a chosen set, ends with close(), throws when the
// connection fails, closes the source when the loop breaks, bounded queue.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { EventSource, EventSourceError } from '../../src/client/index.js';
import { EVENT_STREAM_HEADERS, startStreamServer } from './stream-server.js';

const EVENTS =
  'data: 1\n\nevent: price\ndata: 2\n\nevent: news\ndata: 3\n\ndata: 4\n\nevent: price\ndata: 5\n\n';

test('yields every message event in order, whatever its type; break closes the source', async (t) => {
  let closedByClient: Promise<unknown> | undefined;
  const server = await startStreamServer(t, (_req, res) => {
    closedByClient = once(res, 'close');
    res.writeHead(200, EVENT_STREAM_HEADERS).write(EVENTS);
  });
  const es = new EventSource(server.url);
  t.after(() => es.close());
  const seen: string[] = [];
  for await (const event of es) {
    seen.push(`${event.type}:${event.data}`);
    if (event.data === '4') break;
  }
  assert.deepEqual(seen, ['message:1', 'price:2', 'news:3', 'message:4']);
  assert.equal(es.readyState, EventSource.CLOSED);
  await closedByClient; // the server saw the connection go
});

test('events([types]) yields only those types', async (t) => {
  const server = await startStreamServer(t, (_req, res) => {
    res.writeHead(200, EVENT_STREAM_HEADERS).write(EVENTS);
  });
  const es = new EventSource(server.url);
  t.after(() => es.close());
  const seen: string[] = [];
  for await (const event of es.events(['price'])) {
    seen.push(`${event.type}:${event.data}`);
    if (event.data === '5') es.close(); // ends the loop normally
  }
  assert.deepEqual(seen, ['price:2', 'price:5']);
});

test('keeps iterating across reconnects; throws an EventSourceError when the connection fails', async (t) => {
  const server = await startStreamServer(t, (_req, res, n) => {
    if (n === 1) res.writeHead(200, EVENT_STREAM_HEADERS).end('retry: 1\ndata: a\n\n');
    else if (n === 2) res.writeHead(200, EVENT_STREAM_HEADERS).end('data: b\n\n');
    else res.writeHead(401, { 'content-type': 'text/plain' }).end('expired');
  });
  const es = new EventSource(server.url);
  t.after(() => es.close());
  const seen: string[] = [];
  await assert.rejects(
    async () => {
      for await (const event of es) seen.push(event.data);
    },
    (error: unknown) =>
      error instanceof EventSourceError && error.code === 'HERALD_ERR_BAD_STATUS' && error.status === 401,
  );
  assert.deepEqual(seen, ['a', 'b']);
  assert.equal(es.readyState, EventSource.CLOSED);
});

test('a consumer more than maxQueued events behind gets HERALD_ERR_QUEUE_OVERFLOW; the source closes', async (t) => {
  let served: ServerResponse | undefined;
  const server = await startStreamServer(t, (_req, res) => {
    served = res;
    res.writeHead(200, EVENT_STREAM_HEADERS).write('data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n');
  });
  const es = new EventSource(server.url);
  t.after(() => es.close());
  const iterator = es.events(undefined, { maxQueued: 2 });
  const seenByListener: string[] = [];
  await new Promise<void>((resolve) => {
    es.addEventListener('message', (e) => {
      seenByListener.push(e.data);
      if (e.data === '3') resolve();
    });
  });
  // The third event found the queue full: the iteration failed and closed the source, which stops
  // the rest of the chunk.
  assert.equal(es.readyState, EventSource.CLOSED);
  // Once the server sees the connection gone, nothing more can arrive: the fourth event never did.
  if (!served!.destroyed) await once(served!, 'close');
  assert.deepEqual(seenByListener, ['1', '2', '3']);
  assert.equal((await iterator.next()).value?.data, '1');
  assert.equal((await iterator.next()).value?.data, '2');
  await assert.rejects(
    iterator.next(),
    (error: unknown) => error instanceof EventSourceError && error.code === 'HERALD_ERR_QUEUE_OVERFLOW',
  );
  assert.deepEqual(await iterator.next(), { value: undefined, done: true });
});

test('an iteration started after close() ends at once', async () => {
  const es = new EventSource('http://127.0.0.1:1/');
  es.close();
  const seen: unknown[] = [];
  for await (const event of es) seen.push(event);
  assert.deepEqual(seen, []);
});
