// Backoff: the delay sequence (seeded, capped), and its use by EventSource: reset after an open,
// the server's retry: as base, maxRetries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, EventSource, type EventSourceErrorEvent } from '../../src/client/index.js';
import { seededRandom } from '../support/seeded-random.js';
import { EVENT_STREAM_HEADERS, startStreamServer } from './stream-server.js';

function delays(backoff: Backoff, base: number, n: number): (number | null)[] {
  return Array.from({ length: n }, () => backoff.next(base));
}

test('without jitter the delay doubles from the base up to maxMs', () => {
  const backoff = new Backoff({ jitter: 'none', maxMs: 50, factor: 2 });
  assert.deepEqual(delays(backoff, 10, 6), [10, 20, 40, 50, 50, 50]);
  backoff.reset();
  assert.deepEqual(delays(backoff, 10, 2), [10, 20]);
});

test('full jitter stays within [0, min(maxMs, base × factor^n)] and repeats with the same seed', () => {
  const a = delays(new Backoff({ jitter: 'full', maxMs: 1000, factor: 3, random: seededRandom(42) }), 100, 8);
  const b = delays(new Backoff({ jitter: 'full', maxMs: 1000, factor: 3, random: seededRandom(42) }), 100, 8);
  assert.deepEqual(a, b);
  a.forEach((delay, n) => {
    assert.ok(delay !== null && delay >= 0 && delay <= Math.min(1000, 100 * 3 ** n), `delay ${n}: ${delay}`);
  });
  assert.notDeepEqual(
    a,
    delays(new Backoff({ jitter: 'full', maxMs: 1000, random: seededRandom(7) }), 100, 8),
  );
  // With random() at its extremes the bounds are reached.
  assert.deepEqual(delays(new Backoff({ jitter: 'full', maxMs: 1000, random: () => 0 }), 100, 3), [0, 0, 0]);
  assert.deepEqual(
    delays(new Backoff({ jitter: 'full', maxMs: 1000, factor: 3, random: () => 0.999999 }), 100, 4),
    [100, 300, 900, 1000],
  );
});

test('decorrelated jitter stays within [base, min(maxMs, previous × factor)]', () => {
  const random = seededRandom(1);
  const backoff = new Backoff({ jitter: 'decorrelated', maxMs: 2000, factor: 3, random });
  let previous = 100;
  for (let n = 0; n < 20; n++) {
    const delay = backoff.next(100)!;
    assert.ok(delay >= 100 && delay <= Math.min(2000, Math.round(previous * 3)), `delay ${n}: ${delay}`);
    previous = delay;
  }
  assert.deepEqual(
    delays(new Backoff({ jitter: 'decorrelated', maxMs: 500, factor: 3, random: () => 0.999999 }), 100, 3),
    [300, 500, 500],
  );
});

test('maxRetries: next() gives null once that many delays were handed out', () => {
  const backoff = new Backoff({ jitter: 'none', maxRetries: 2 });
  assert.deepEqual(delays(backoff, 10, 3), [10, 20, null]);
  backoff.reset();
  assert.equal(backoff.next(10), 10);
});

/** Collects the retryDelayMs of each error event until `done` resolves it. */
function watchErrors(es: EventSource, log: string[]): void {
  es.addEventListener('error', (e) => {
    const event = e as EventSourceErrorEvent;
    log.push(`${event.code}:${event.retryDelayMs ?? 'closed'}:${es.readyState}`);
  });
}

test('EventSource backs off on repeated failures and starts over after a successful open', async (t) => {
  // 1, 2: refused; 3: opens, then ends; 4: refused; 5: opens and stays.
  const server = await startStreamServer(t, (req, res, n) => {
    if (n === 1 || n === 2 || n === 4) req.socket.destroy();
    else if (n === 3) res.writeHead(200, EVENT_STREAM_HEADERS).end('data: three\n\n');
    else res.writeHead(200, EVENT_STREAM_HEADERS).write('data: five\n\n');
  });
  const log: string[] = [];
  const es = new EventSource(server.url, {
    backoff: { initialMs: 5, factor: 2, maxMs: 100, jitter: 'none' },
  });
  t.after(() => es.close());
  watchErrors(es, log);
  await new Promise<void>((resolve) => {
    es.onopen = () => log.push('open');
    es.onmessage = (e) => {
      log.push(e.data);
      if (e.data === 'five') resolve();
    };
  });
  assert.deepEqual(log, [
    'HERALD_ERR_NETWORK:5:0',
    'HERALD_ERR_NETWORK:10:0',
    'open',
    'three',
    'HERALD_ERR_STREAM_ENDED:5:0',
    'HERALD_ERR_NETWORK:10:0',
    'open',
    'five',
  ]);
});

test("the server's retry: becomes the base delay of the backoff", async (t) => {
  const server = await startStreamServer(t, (req, res, n) => {
    if (n === 1) res.writeHead(200, EVENT_STREAM_HEADERS).end('retry: 7\n\n');
    else if (n <= 3) req.socket.destroy();
    else res.writeHead(200, EVENT_STREAM_HEADERS).write('data: ok\n\n');
  });
  const log: string[] = [];
  const es = new EventSource(server.url, { backoff: { initialMs: 1000, maxMs: 20, jitter: 'none' } });
  t.after(() => es.close());
  watchErrors(es, log);
  await new Promise<void>((resolve) => {
    es.onmessage = () => resolve();
  });
  assert.equal(es.reconnectionTime, 7);
  assert.deepEqual(log, [
    'HERALD_ERR_STREAM_ENDED:7:0',
    'HERALD_ERR_NETWORK:14:0',
    'HERALD_ERR_NETWORK:20:0',
  ]);
});

test('after maxRetries failed reconnects the source closes with HERALD_ERR_RETRIES_EXHAUSTED', async (t) => {
  const server = await startStreamServer(t, (req) => req.socket.destroy());
  const log: string[] = [];
  const es = new EventSource(server.url, {
    backoff: { initialMs: 1, maxRetries: 3, jitter: 'full', random: seededRandom(3) },
  });
  t.after(() => es.close());
  const closed = new Promise<EventSourceErrorEvent>((resolve) => {
    es.addEventListener('error', (e) => {
      if (es.readyState === EventSource.CLOSED) resolve(e as EventSourceErrorEvent);
    });
  });
  watchErrors(es, log);
  const last = await closed;
  assert.equal(server.requests.length, 4, 'the first attempt and 3 retries');
  assert.deepEqual(
    log.map((line) => line.replace(/:\d+:/, ':n:')),
    [
      'HERALD_ERR_NETWORK:n:0',
      'HERALD_ERR_NETWORK:n:0',
      'HERALD_ERR_NETWORK:n:0',
      'HERALD_ERR_RETRIES_EXHAUSTED:closed:2',
    ],
  );
  assert.match(last.message, /gave up after 3 failed reconnects/);
  assert.ok(last.cause instanceof TypeError, 'the last network error is the cause');
});
