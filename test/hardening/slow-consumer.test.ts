/**
 * A subscriber that never reads while others receive tens of megabytes: the hub holds at most its
 * queue bound for it, drops it (policy `close`, counted in metrics), the fast subscriber and the
 * canary receive everything, and the dropped one resumes with Last-Event-ID without losing an
 * update.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { createParser } from '../../src/protocol/index.js';
import { eventually } from '../server/helpers.js';
import { openStream, publish, signDraft07, startHub } from '../support/hub.js';
import { openCanary } from './canary.js';

const TOPIC = 'https://example.com/firehose';
const UPDATES = 400;
const DATA = 'x'.repeat(64 * 1024);
const QUEUE_BYTES = 256 * 1024;

test('a subscriber that never reads is dropped by policy, others unaffected, and it resumes without loss', async (t) => {
  const hub = await startHub({ anonymous: true, maxQueuedBytes: QUEUE_BYTES });
  t.after(() => hub.close());
  const canary = await openCanary(hub);
  t.after(() => canary.close());
  const token = await signDraft07({ publish: ['*'] });

  // The slow one: a raw socket with a small receive buffer that is never read.
  const url = new URL(hub.hubUrl);
  const slow = net.connect({ port: Number(url.port), host: '127.0.0.1' });
  t.after(() => slow.destroy());
  await new Promise((resolve) => slow.once('connect', resolve));
  slow.pause();
  slow.write(
    `GET ${url.pathname}?topic=${encodeURIComponent(TOPIC)} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`,
  );
  const fast = await openStream(`${hub.hubUrl}?topic=${encodeURIComponent(TOPIC)}`);
  t.after(() => fast.close());
  await eventually(() => hub.hub.subscriberCount >= 3, 'slow, fast and canary subscribed');

  const ids: string[] = [];
  for (let i = 0; i < UPDATES; i++) {
    const res = await publish(hub, { topic: TOPIC, id: `u-${i}`, data: DATA }, token);
    assert.equal(res.status, 200);
    ids.push(`u-${i}`);
  }
  // The fast subscriber gets every one of ~25 MiB, in order.
  for (const id of ids) assert.equal((await fast.next()).lastEventId, id);
  await canary.check();

  // The slow one was dropped once its queue passed the bound.
  await eventually(() => hub.hub.metrics.slowClientsDropped >= 1, 'the slow subscriber dropped', 30_000);
  assert.equal(hub.hub.metrics.slowClientsDropped, 1);
  assert.equal(hub.hub.subscriberCount, 2, 'fast subscriber and canary remain');

  // It reads what reached it, then resumes from the last complete event.
  slow.resume();
  const seen: string[] = [];
  const parser = createParser({ onEvent: (e) => seen.push(e.lastEventId) });
  let head = true;
  await new Promise<void>((resolve) => {
    slow.setEncoding('utf8');
    slow.on('data', (chunk: string) => {
      if (head) {
        const end = chunk.indexOf('\r\n\r\n');
        if (end === -1) return;
        head = false;
        chunk = chunk.slice(end + 4);
      }
      // Chunked transfer framing: strip size lines (bodies are plain ASCII here).
      parser.feed(chunk.replace(/\r\n[0-9a-f]+\r\n/g, '').replace(/^[0-9a-f]+\r\n/, ''));
    });
    slow.on('close', () => resolve());
    slow.on('end', () => resolve());
  });
  assert.ok(seen.length < UPDATES, `the slow subscriber got ${seen.length} of ${UPDATES} before the drop`);
  assert.deepEqual(seen, ids.slice(0, seen.length), 'what it got is a prefix, in order');
  const last = seen.at(-1);
  const resumed = await openStream(
    `${hub.hubUrl}?topic=${encodeURIComponent(TOPIC)}`,
    last === undefined ? {} : { 'last-event-id': last },
  );
  t.after(() => resumed.close());
  const rest = ids.slice(seen.length);
  if (last === undefined) {
    // Nothing complete reached it: a fresh resume from the start.
    resumed.close();
    const again = await openStream(`${hub.hubUrl}?topic=${encodeURIComponent(TOPIC)}&lastEventID=earliest`);
    t.after(() => again.close());
    for (const id of rest) assert.equal((await again.next()).lastEventId, id);
  } else {
    for (const id of rest) assert.equal((await resumed.next()).lastEventId, id);
  }
  await canary.check();
});
