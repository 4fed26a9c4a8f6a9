// stallTimeoutMs (no bytes for N ms: abort and reconnect) and maxBufferSize (overflow: reconnect).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventSource, type EventSourceErrorEvent } from '../../src/client/index.js';
import { EVENT_STREAM_HEADERS, nextEvent, startStreamServer } from './stream-server.js';

test('a stream that goes silent past stallTimeoutMs is aborted and resumed', async (t) => {
  const server = await startStreamServer(t, (req, res) => {
    res.writeHead(200, EVENT_STREAM_HEADERS);
    if (req.headers['last-event-id'] === undefined)
      res.write('retry: 1\nid: 1\ndata: before\n\n'); // then silence, connection kept open
    else res.write('data: after\n\n');
  });
  const es = new EventSource(server.url, { stallTimeoutMs: 600 });
  t.after(() => es.close());
  const log: string[] = [];
  await new Promise<void>((resolve) => {
    es.onerror = (e) => log.push(`${(e as EventSourceErrorEvent).code}:${es.readyState}`);
    es.onmessage = (e) => {
      log.push(e.data);
      if (e.data === 'after') resolve();
    };
  });
  // A machine too busy to answer the first request in time adds stalls before 'before'.
  assert.deepEqual(log.slice(-3), ['before', 'HERALD_ERR_STALLED:0', 'after']);
  assert.ok(
    log.slice(0, -3).every((entry) => entry === 'HERALD_ERR_STALLED:0'),
    log.join(),
  );
  assert.equal(server.requests.at(-1)!.lastEventId, '1');
});

test('a server that never answers is a stall too', async (t) => {
  const server = await startStreamServer(t, (_req, res, n) => {
    if (n === 1) return; // no response at all
    res.writeHead(200, EVENT_STREAM_HEADERS).write('data: answered\n\n');
  });
  const es = new EventSource(server.url, { stallTimeoutMs: 300, backoff: { initialMs: 1, jitter: 'none' } });
  t.after(() => es.close());
  const error = await nextEvent<EventSourceErrorEvent>(es, 'error');
  assert.equal(error.code, 'HERALD_ERR_STALLED');
  assert.equal((await nextEvent<MessageEvent>(es, 'message')).data, 'answered');
});

test('heartbeat comments keep a quiet stream from stalling', async (t) => {
  const server = await startStreamServer(t, (_req, res) => {
    res.writeHead(200, EVENT_STREAM_HEADERS);
    let beats = 0;
    const timer = setInterval(() => {
      if (++beats < 20) res.write(':\n');
      else {
        clearInterval(timer);
        res.write('data: done\n\n');
      }
    }, 100);
    res.on('close', () => clearInterval(timer));
  });
  const es = new EventSource(server.url, { stallTimeoutMs: 800 });
  t.after(() => es.close());
  const errors: string[] = [];
  es.onerror = (e) => errors.push((e as EventSourceErrorEvent).code);
  assert.equal((await nextEvent<MessageEvent>(es, 'message')).data, 'done');
  assert.deepEqual(errors, []);
  assert.equal(server.requests.length, 1);
});

test('a line or an event past maxBufferSize: HERALD_ERR_BUFFER_OVERFLOW, then reconnect', async (t) => {
  const server = await startStreamServer(t, (_req, res, n) => {
    res.writeHead(200, EVENT_STREAM_HEADERS);
    if (n === 1)
      res.write(`retry: 1\nid: 7\ndata: small\n\ndata: ${'x'.repeat(60)}\ndata: ${'y'.repeat(60)}\n\n`);
    else if (n === 2)
      res.write(`data: ${'z'.repeat(200)}`); // one unfinished line
    else res.write('data: fits\n\n');
  });
  const es = new EventSource(server.url, { maxBufferSize: 100 });
  t.after(() => es.close());
  const log: string[] = [];
  await new Promise<void>((resolve) => {
    es.onerror = (e) => {
      const event = e as EventSourceErrorEvent;
      log.push(`${event.code}:${event.cause instanceof Error && event.cause.name}:${es.readyState}`);
    };
    es.onmessage = (e) => {
      log.push(e.data);
      if (e.data === 'fits') resolve();
    };
  });
  assert.deepEqual(log, [
    'small',
    'HERALD_ERR_BUFFER_OVERFLOW:BufferOverflowError:0',
    'HERALD_ERR_BUFFER_OVERFLOW:BufferOverflowError:0',
    'fits',
  ]);
  assert.deepEqual(
    server.requests.map((r) => r.lastEventId),
    [null, '7', '7'],
  );
});
