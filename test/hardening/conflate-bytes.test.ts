/**
 * `slowConsumerPolicy: 'conflate'`: a subscriber that never reads keeps one update per key, and
 * keys alone did not bound its memory: 10,000 keys of any size (78 -> 569 MiB measured). Past
 * `maxConflationBytes` (all keys together) the stream is closed as one key too many would be; the
 * client resumes with Last-Event-ID, and the drop is counted.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { eventually } from '../server/helpers.js';
import { publish, signDraft07, startHub } from '../support/hub.js';

const TOPIC = 'https://example.com/prices';

test('conflate: a client that never reads is closed once its keys hold maxConflationBytes, and it is counted', async (t) => {
  const maxConflationBytes = 1024 * 1024;
  const hub = await startHub({
    anonymous: true,
    slowConsumerPolicy: 'conflate',
    maxQueuedBytes: 64 * 1024,
    maxConflationBytes,
  });
  const token = await signDraft07({ publish: ['*'] });

  // A raw socket with a small receive buffer, never read.
  const url = new URL(hub.hubUrl);
  const slow = net.connect({ port: Number(url.port), host: '127.0.0.1' });
  // Hooks run in order: the socket first, or a client still stuck (the bound broken) holds the
  // server's close forever and the test times out instead of failing on its assertion.
  t.after(() => slow.destroy());
  t.after(() => hub.close());
  slow.setNoDelay(true);
  await new Promise((resolve) => slow.once('connect', resolve));
  slow.pause();
  slow.write(
    `GET ${url.pathname}?topic=${encodeURIComponent(TOPIC)} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`,
  );
  await eventually(() => hub.hub.subscriberCount === 1, 'the slow subscriber joined');

  // 200 keys of 32 KB: 6.4 MB, well under the 10,000 keys, six times the byte bound.
  let published = 0;
  for (let i = 0; i < 200 && hub.hub.metrics.slowClientsDropped === 0; i++) {
    const data = `${i}:${'x'.repeat(32 * 1024)}`;
    const res = await publish(hub, { topic: TOPIC, 'herald.key': `k${i}`, data }, token);
    assert.equal(res.status, 200, res.body);
    published++;
  }
  await eventually(() => hub.hub.metrics.slowClientsDropped === 1, 'the slow subscriber was closed');
  assert.equal(hub.hub.subscriberCount, 0);
  // It was closed near the bound: the socket buffers, its 64 KiB budget, then 1 MiB of keys.
  assert.ok(published * 32 * 1024 < maxConflationBytes + 8 * 1024 * 1024, `closed after ${published} keys`);
});
