// Typed error events: still `error` Events for standard code, with code, status, message, cause and
// retryDelayMs for programs.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { EventSource, EventSourceErrorEvent } from '../../src/client/index.js';
import { HeraldError } from '../../src/errors.js';
import { EVENT_STREAM_HEADERS, nextEvent, startStreamServer } from './stream-server.js';

async function firstError(
  t: import('node:test').TestContext,
  url: string,
): Promise<[EventSourceErrorEvent, number]> {
  const es = new EventSource(url);
  t.after(() => es.close());
  let called = 0;
  es.onerror = () => called++;
  const event = await nextEvent<EventSourceErrorEvent>(es, 'error');
  assert.ok(event instanceof EventSourceErrorEvent && event instanceof Event);
  assert.equal(event.type, 'error');
  assert.equal(event.currentTarget, null, 'dispatch is over');
  assert.equal(called, 1, 'onerror saw it too');
  const state = es.readyState;
  es.close();
  return [event, state];
}

test('a refused status: HERALD_ERR_BAD_STATUS with the status, closed', async (t) => {
  const server = await startStreamServer(t, (_req, res) => res.writeHead(404, EVENT_STREAM_HEADERS).end());
  const [event, state] = await firstError(t, server.url);
  assert.deepEqual(
    [event.code, event.status, state, event.retryDelayMs],
    ['HERALD_ERR_BAD_STATUS', 404, EventSource.CLOSED, undefined],
  );
  assert.match(event.message, /status must be 200 \(got 404\)/);
});

test('a 502, 503 or 504 from a proxy: HERALD_ERR_BAD_STATUS, reconnecting after the reconnection time', async (t) => {
  for (const status of [502, 503, 504]) {
    const server = await startStreamServer(t, (_req, res) =>
      res.writeHead(status, { 'content-type': 'text/html' }).end(),
    );
    const [event, state] = await firstError(t, server.url);
    assert.deepEqual(
      [event.code, event.status, state, event.retryDelayMs],
      ['HERALD_ERR_BAD_STATUS', status, EventSource.CONNECTING, 3000],
    );
    assert.match(event.message, new RegExp(`got ${status}\\); reconnecting`));
  }
});

test('retryOnStatus: false fails on a 503 as the native source does; a list retries those statuses only', async (t) => {
  const server = await startStreamServer(t, (req, res) =>
    res.writeHead(Number(req.url!.slice(1)), { 'content-type': 'text/plain' }).end('no'),
  );
  const states: Array<[number, boolean | number[], number, number | undefined]> = [];
  for (const [status, retryOnStatus] of [
    [503, false],
    [429, [429]],
    [503, [429]],
  ] as const) {
    const es = new EventSource(`${server.url}${status}`, {
      retryOnStatus: retryOnStatus as boolean | number[],
    });
    t.after(() => es.close());
    const event = await nextEvent<EventSourceErrorEvent>(es, 'error');
    states.push([status, retryOnStatus as boolean | number[], es.readyState, event.retryDelayMs]);
    es.close();
  }
  assert.deepEqual(states, [
    [503, false, EventSource.CLOSED, undefined],
    [429, [429], EventSource.CONNECTING, 3000],
    [503, [429], EventSource.CLOSED, undefined],
  ]);
});

test('a wrong media type: HERALD_ERR_BAD_CONTENT_TYPE naming the type received, closed', async (t) => {
  const server = await startStreamServer(t, (_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>login</p>'),
  );
  const [event, state] = await firstError(t, server.url);
  assert.deepEqual(
    [event.code, event.status, state],
    ['HERALD_ERR_BAD_CONTENT_TYPE', 200, EventSource.CLOSED],
  );
  assert.match(event.message, /must be text\/event-stream \(got text\/html\)/);
});

test('nothing listening: HERALD_ERR_NETWORK with the fetch error as cause, reconnecting in 3000 ms', async (t) => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const [event, state] = await firstError(t, `http://127.0.0.1:${port}/`);
  assert.deepEqual(
    [event.code, event.status, state, event.retryDelayMs],
    ['HERALD_ERR_NETWORK', undefined, EventSource.CONNECTING, 3000],
  );
  assert.ok(event.cause instanceof TypeError);
  assert.match(event.message, /ECONNREFUSED/);
});

test('the end of the body: HERALD_ERR_STREAM_ENDED with status 200 and the server retry: delay', async (t) => {
  const server = await startStreamServer(t, (_req, res) =>
    res.writeHead(200, EVENT_STREAM_HEADERS).end('retry: 2500\ndata: x\n\n'),
  );
  const [event, state] = await firstError(t, server.url);
  assert.deepEqual(
    [event.code, event.status, state, event.retryDelayMs],
    ['HERALD_ERR_STREAM_ENDED', 200, EventSource.CONNECTING, 2500],
  );
});

test('a non-http scheme: HERALD_ERR_BAD_SCHEME, closed', async (t) => {
  const [event, state] = await firstError(t, 'ws://127.0.0.1:1/');
  assert.deepEqual([event.code, state], ['HERALD_ERR_BAD_SCHEME', EventSource.CLOSED]);
  assert.match(event.message, /got ws:/);
});

test('EventSource errors are HeraldErrors with stable codes', () => {
  assert.throws(
    () => new EventSource('http://127.0.0.1:1/', { stallTimeoutMs: -5 }),
    (error: unknown) =>
      error instanceof HeraldError &&
      (error as HeraldError).code === 'HERALD_ERR_INVALID_OPTION' &&
      /stallTimeoutMs must be a positive number of milliseconds \(got -5\)/.test((error as Error).message),
  );
});
