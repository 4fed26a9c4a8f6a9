import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readStream, StreamAbortedError, StreamReadError } from '../../../src/client/index.js';
import { createRedisResumableStore } from '../../../src/hub/stores/redis-resumable.js';
import { openStream, signDraft07, startHub, type TestHub } from '../../support/hub.js';
import { REDIS_URL, redisPrefix } from '../stores/redis-support.js';

const TOPIC = 'https://example.com/builds/42/log';

async function publish(hub: TestHub, token: string, fields: [string, string][]): Promise<Response> {
  return fetch(hub.hubUrl, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

function readerUrl(hub: TestHub, topic = TOPIC): string {
  return `${hub.hubUrl}/streams?topic=${encodeURIComponent(topic)}`;
}

async function collect(url: string, headers?: Record<string, string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of readStream(url, { retryMs: 5, headers })) out.push(chunk);
  return out;
}

test('hub: a publisher starts, appends to and ends a stream; readers replay, follow and see the end', async (t) => {
  const hub = await startHub({ anonymous: true, retryMs: 10 });
  t.after(() => hub.close());
  const token = await signDraft07({ publish: [TOPIC] });
  const started = await publish(hub, token, [
    ['topic', TOPIC],
    ['herald.stream', 'start'],
    ['data', 'step 1\n'],
  ]);
  assert.equal(started.status, 200);
  const firstId = await started.text();
  assert.match(firstId, /^[0-9a-z]{8}\.1$/);
  const early = collect(readerUrl(hub));
  const appended = await publish(hub, token, [
    ['topic', TOPIC],
    ['herald.stream', 'append'],
    ['data', 'step 2\n'],
    ['data', 'step 3\n'],
  ]);
  assert.equal(await appended.text(), firstId.replace(/1$/, '3'));
  const ended = await publish(hub, token, [
    ['topic', TOPIC],
    ['herald.stream', 'end'],
  ]);
  assert.equal(await ended.text(), firstId.replace(/1$/, 'end'));
  assert.deepEqual(await early, ['step 1\n', 'step 2\n', 'step 3\n']);
  assert.deepEqual(await collect(readerUrl(hub)), ['step 1\n', 'step 2\n', 'step 3\n']);
  // Resuming after the end's ID: 204.
  const done = await fetch(readerUrl(hub), { headers: { 'Last-Event-ID': firstId.replace(/1$/, 'end') } });
  assert.equal(done.status, 204);
  // Appending to the ended stream: 409.
  const late = await publish(hub, token, [
    ['topic', TOPIC],
    ['herald.stream', 'append'],
    ['data', 'too late'],
  ]);
  assert.equal(late.status, 409);
  assert.match(await late.text(), /is ended: a finished stream takes no more chunks/);
});

test('hub: stream authorization and bad input', async (t) => {
  const hub = await startHub({ anonymous: false, retryMs: 10, resumable: { maxChunkBytes: 10 } });
  t.after(() => hub.close());
  const writer = await signDraft07({ publish: ['https://example.com/builds/{id}/log'] });
  const other = await signDraft07({ publish: ['https://example.com/other'] });
  const reader = await signDraft07({ subscribe: [TOPIC] });
  const stranger = await signDraft07({ subscribe: ['https://example.com/other'] });
  // Writing needs a publish selector matching the stream's topic.
  const refused = await publish(hub, other, [
    ['topic', TOPIC],
    ['herald.stream', 'start'],
  ]);
  assert.equal(refused.status, 403);
  assert.equal(
    (
      await publish(hub, writer, [
        ['topic', TOPIC],
        ['herald.stream', 'start'],
      ])
    ).status,
    200,
  );
  // Starting it again: 409; an unknown action: 400; two topics: 400; an oversized chunk: 413.
  assert.equal(
    (
      await publish(hub, writer, [
        ['topic', TOPIC],
        ['herald.stream', 'start'],
      ])
    ).status,
    409,
  );
  assert.equal(
    (
      await publish(hub, writer, [
        ['topic', TOPIC],
        ['herald.stream', 'rewind'],
      ])
    ).status,
    400,
  );
  assert.equal(
    (
      await publish(hub, writer, [
        ['topic', TOPIC],
        ['topic', `${TOPIC}/2`],
        ['herald.stream', 'append'],
      ])
    ).status,
    400,
  );
  const big = await publish(hub, writer, [
    ['topic', TOPIC],
    ['herald.stream', 'append'],
    ['data', 'x'.repeat(11)],
  ]);
  assert.equal(big.status, 413);
  assert.match(await big.text(), /at most 10 bytes \(got 11/);
  // Reading: 401 without a token (anonymous off), 403 with one that does not match, 404 unknown.
  assert.equal((await fetch(readerUrl(hub))).status, 401);
  assert.equal(
    (await fetch(readerUrl(hub), { headers: { Authorization: `Bearer ${stranger}` } })).status,
    403,
  );
  const unknown = `${TOPIC}/none`;
  const missing = await fetch(readerUrl(hub, unknown), {
    headers: { Authorization: `Bearer ${await signDraft07({ subscribe: ['*'] })}` },
  });
  assert.equal(missing.status, 404);
  // An abort reaches the readers as an error with the publisher's reason.
  await publish(hub, writer, [
    ['topic', TOPIC],
    ['herald.stream', 'append'],
    ['data', 'partial'],
  ]);
  const reading = collect(readerUrl(hub), { Authorization: `Bearer ${reader}` }).then(
    () => null,
    (error: unknown) => error,
  );
  await publish(hub, writer, [
    ['topic', TOPIC],
    ['herald.stream', 'abort'],
    ['data', 'runner lost'],
  ]);
  const error = await reading;
  assert.ok(error instanceof StreamAbortedError && error.reason === 'runner lost', String(error));
  // A Last-Event-ID of another stream: 400.
  const foreign = await fetch(readerUrl(hub), {
    headers: { Authorization: `Bearer ${reader}`, 'Last-Event-ID': 'zzzzzzzz.3' },
  });
  assert.equal(foreign.status, 400);
  await assert.rejects(
    collect(readerUrl(hub, unknown), { Authorization: `Bearer ${reader}` }),
    (e: unknown) => e instanceof StreamReadError && e.status === 403,
  );
});

test('hub: on Redis, a reader on one hub follows a stream written through another', async (t) => {
  const prefix = await redisPrefix(t);
  if (prefix === undefined) return;
  const stores = [
    createRedisResumableStore(REDIS_URL, { prefix }),
    createRedisResumableStore(REDIS_URL, { prefix }),
  ];
  await Promise.all(stores.map((s) => s.ready()));
  const a = await startHub({ anonymous: true, retryMs: 10, resumableStore: stores[0] });
  const b = await startHub({ anonymous: true, retryMs: 10, resumableStore: stores[1] });
  t.after(async () => {
    await a.close();
    await b.close();
    await Promise.all(stores.map((s) => s.close()));
  });
  const token = await signDraft07({ publish: ['*'] });
  await publish(a, token, [
    ['topic', TOPIC],
    ['herald.stream', 'start'],
    ['data', 'Hello'],
  ]);
  const reading = collect(readerUrl(b));
  const words = Array.from({ length: 50 }, (_, i) => ` w${i}`);
  for (const word of words)
    await publish(a, token, [
      ['topic', TOPIC],
      ['herald.stream', 'append'],
      ['data', word],
    ]);
  await publish(a, token, [
    ['topic', TOPIC],
    ['herald.stream', 'end'],
  ]);
  assert.deepEqual(await reading, ['Hello', ...words]);
});

test("hub: a stream reader's response closes when its token expires, without the end event", async (t) => {
  const hub = await startHub({ anonymous: false, retryMs: 10 });
  t.after(() => hub.close());
  const writer = await signDraft07({ publish: [TOPIC] });
  const started = await publish(hub, writer, [
    ['topic', TOPIC],
    ['herald.stream', 'start'],
    ['data', 'step 1\n'],
  ]);
  assert.equal(started.status, 200);
  const token = await signDraft07({ subscribe: [TOPIC] }, { expiresInSec: 2 });
  const reader = await openStream(readerUrl(hub), { authorization: `Bearer ${token}` });
  assert.equal(reader.status, 200);
  assert.equal((await reader.next()).data, 'step 1\n');
  // The stream is still open: only the token's expiry can end this response.
  await reader.ended;
  assert.deepEqual(
    reader.events.map((e) => e.type),
    ['message'],
  );
  // Resuming with a fresh token gets what followed.
  await publish(hub, writer, [
    ['topic', TOPIC],
    ['herald.stream', 'end'],
    ['data', 'step 2\n'],
  ]);
  const fresh = await signDraft07({ subscribe: [TOPIC] });
  const resumed = await openStream(readerUrl(hub), {
    authorization: `Bearer ${fresh}`,
    'last-event-id': reader.events[0]!.lastEventId,
  });
  await resumed.ended;
  assert.deepEqual(
    resumed.events.map((e) => e.type),
    ['message', 'end'],
  );
  assert.equal(resumed.events[0]!.data, 'step 2\n');
});
