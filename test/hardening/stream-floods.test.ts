/**
 * The bounds of resumable streams through the hub: idle streams aborted, a stream that outgrows
 * its bound aborted, hub-wide caps, refused starts that leave nothing, private refused, readers
 * counted per address and in the hub-wide cap on long-lived connections, and appends that a lost
 * answer makes a producer send twice.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { readStream, StreamAbortedError } from '../../src/client/index.js';
import { until } from '../server/resumable/suite.js';
import { signDraft07, startHub, type TestHub } from '../support/hub.js';

const TOPIC = 'https://example.com/jobs/1/log';

async function post(hub: TestHub, token: string, fields: [string, string][]): Promise<Response> {
  return fetch(hub.hubUrl, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

function stream(action: string, topic = TOPIC, ...data: string[]): [string, string][] {
  return [['topic', topic], ['herald.stream', action], ...data.map((d): [string, string] => ['data', d])];
}

function readerUrl(hub: TestHub, topic = TOPIC): string {
  return `${hub.hubUrl}/streams?topic=${encodeURIComponent(topic)}`;
}

async function collect(url: string): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of readStream(url, { retryMs: 5, maxRetries: 5 })) out.push(chunk);
  return out;
}

const writer = () => signDraft07({ publish: ['*'] });

test('hub: an open stream nobody reads is aborted after abortAfterMs without an append', async (t) => {
  const hub = await startHub({ anonymous: true, retryMs: 10, resumable: { abortAfterMs: 150 } });
  t.after(() => hub.close());
  const token = await writer();
  assert.equal((await post(hub, token, stream('start', TOPIC, 'first'))).status, 200);
  await until(async () => (await hub.hub.streams.info(TOPIC))?.state === 'aborted');
  const info = await hub.hub.streams.info(TOPIC);
  assert.match(info?.reason ?? '', /no chunk for 150 ms/);
  const late = await post(hub, token, stream('append', TOPIC, 'too late'));
  assert.equal(late.status, 409);
  await assert.rejects(
    collect(readerUrl(hub)),
    (e: unknown) => e instanceof StreamAbortedError && /no chunk for 150 ms/.test(e.reason),
  );
});

test('hub: an append past maxStreamBytes answers 413 and aborts the stream; readers are told', async (t) => {
  const hub = await startHub({ anonymous: true, retryMs: 10, resumable: { maxStreamBytes: 20 } });
  t.after(() => hub.close());
  const token = await writer();
  assert.equal((await post(hub, token, stream('start', TOPIC, '0123456789'))).status, 200);
  const over = await post(hub, token, stream('append', TOPIC, 'abcdefghijk'));
  assert.equal(over.status, 413);
  assert.match(await over.text(), /at most 20 bytes/);
  assert.equal((await hub.hub.streams.info(TOPIC))?.state, 'aborted');
  const got: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const chunk of readStream(readerUrl(hub), { retryMs: 5 })) got.push(chunk);
    })(),
    (e: unknown) => e instanceof StreamAbortedError && /at most 20 bytes/.test(e.reason),
  );
  assert.deepEqual(got, ['0123456789']);
});

test('hub: a start refused with 413 creates nothing: its retry is accepted, not 409', async (t) => {
  const hub = await startHub({
    anonymous: true,
    retryMs: 10,
    resumable: { maxChunkBytes: 10, maxStreamBytes: 15 },
  });
  t.after(() => hub.close());
  const token = await writer();
  const chunkTooBig = await post(hub, token, stream('start', TOPIC, 'x'.repeat(11)));
  assert.equal(chunkTooBig.status, 413);
  assert.equal(await hub.hub.streams.info(TOPIC), undefined);
  const streamTooBig = await post(hub, token, stream('start', TOPIC, 'x'.repeat(10), 'y'.repeat(10)));
  assert.equal(streamTooBig.status, 413);
  assert.equal(await hub.hub.streams.info(TOPIC), undefined);
  const retried = await post(hub, token, stream('start', TOPIC, 'ok'));
  assert.equal(retried.status, 200);
  assert.match(await retried.text(), /^[0-9a-z]{8}\.1$/);
});

test('hub: caps on open streams and on bytes held refuse with 503 and Retry-After, and free up', async (t) => {
  const hub = await startHub({
    anonymous: true,
    retryMs: 10,
    resumable: { maxOpenStreams: 2, maxHeldBytes: 50, expireAfterMs: 0 },
  });
  t.after(() => hub.close());
  const token = await writer();
  assert.equal((await post(hub, token, stream('start', `${TOPIC}/a`))).status, 200);
  assert.equal((await post(hub, token, stream('start', `${TOPIC}/b`, 'x'.repeat(30)))).status, 200);
  const third = await post(hub, token, stream('start', `${TOPIC}/c`));
  assert.equal(third.status, 503);
  assert.equal(third.headers.get('retry-after'), '5');
  assert.match(await third.text(), /2 streams are open, the most this server holds \(maxOpenStreams\)/);
  assert.equal(await hub.hub.streams.info(`${TOPIC}/c`), undefined);
  // Bytes: a held total past 50 is refused, the stream unchanged and still open.
  const heavy = await post(hub, token, stream('append', `${TOPIC}/a`, 'y'.repeat(25)));
  assert.equal(heavy.status, 503);
  assert.match(await heavy.text(), /hold 50 bytes|maxHeldBytes/);
  assert.deepEqual(await hub.hub.streams.info(`${TOPIC}/a`), {
    tag: (await hub.hub.streams.info(`${TOPIC}/a`))!.tag,
    state: 'open',
    count: 0,
    bytes: 0,
  });
  // Ended streams (expired at once here) free their place and bytes.
  assert.equal((await post(hub, token, stream('end', `${TOPIC}/b`))).status, 200);
  assert.equal((await post(hub, token, stream('start', `${TOPIC}/c`, 'z'.repeat(40)))).status, 200);
});

test('hub: private on a stream start is refused with 400, and nothing is created', async (t) => {
  const hub = await startHub({ anonymous: true, retryMs: 10 });
  t.after(() => hub.close());
  const response = await post(hub, await writer(), [...stream('start', TOPIC, 'salary'), ['private', 'on']]);
  assert.equal(response.status, 400);
  assert.match(await response.text(), /resumable streams cannot be private/);
  assert.equal(await hub.hub.streams.info(TOPIC), undefined);
});

test('hub: stream readers count against maxConnectionsPerAddress', async (t) => {
  const hub = await startHub({ anonymous: true, retryMs: 10, maxConnectionsPerAddress: 2 });
  t.after(() => hub.close());
  assert.equal((await post(hub, await writer(), stream('start'))).status, 200);
  const open: http.ClientRequest[] = [];
  t.after(() => {
    for (const req of open) req.destroy();
  });
  const get = () =>
    new Promise<number>((resolve, reject) => {
      const req = http.get(readerUrl(hub), { agent: false }, (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      open.push(req);
    });
  assert.equal(await get(), 200);
  assert.equal(await get(), 200);
  assert.equal(await get(), 429);
  // One leaves: its place is free again.
  open[0]!.destroy();
  await until(async () => (await get()) === 200);
});

test('hub: stream readers count against maxSubscribers with subscribers: 503 with Retry-After past it', async (t) => {
  const hub = await startHub({ anonymous: true, retryMs: 10, maxSubscribers: 3 });
  t.after(() => hub.close());
  assert.equal((await post(hub, await writer(), stream('start'))).status, 200);
  const open: http.ClientRequest[] = [];
  t.after(() => {
    for (const req of open) req.destroy();
  });
  const get = (url: string) =>
    new Promise<{ status: number; retryAfter?: string }>((resolve, reject) => {
      const req = http.get(url, { agent: false }, (res) =>
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }),
      );
      req.on('error', reject);
      open.push(req);
    });
  const subscriber = `${hub.hubUrl}?topic=${encodeURIComponent('https://example.com/news')}`;
  assert.equal((await get(readerUrl(hub))).status, 200);
  assert.equal((await get(readerUrl(hub))).status, 200);
  assert.equal((await get(subscriber)).status, 200);
  // Three long-lived connections held: neither a fourth reader nor a fourth subscriber gets in.
  for (const url of [readerUrl(hub), subscriber]) {
    const refused = await get(url);
    assert.deepEqual(refused, { status: 503, retryAfter: '1' }, url);
  }
  // A reader leaves: its place is free again, for either kind.
  open[0]!.destroy();
  await until(async () => (await get(subscriber)).status === 200);
});

test('hub: an append naming herald.after is stored once however often it is retried', async (t) => {
  const hub = await startHub({ anonymous: true, retryMs: 10 });
  t.after(() => hub.close());
  const token = await writer();
  const started = await (await post(hub, token, stream('start', TOPIC, 'a'))).text();
  const tag = started.slice(0, 8);
  const append = () => post(hub, token, [...stream('append', TOPIC, 'b', 'c'), ['herald.after', '1']]);
  const first = await append();
  const retry = await append();
  assert.equal(first.status, 200);
  assert.equal(retry.status, 200);
  assert.equal(await first.text(), `${tag}.3`);
  assert.equal(await retry.text(), `${tag}.3`);
  // An append after a count the stream does not hold: 409 naming the count.
  const gap = await post(hub, token, [...stream('append', TOPIC, 'x'), ['herald.after', '7']]);
  assert.equal(gap.status, 409);
  assert.match(await gap.text(), /holds 3 chunks, not the 7 this append follows/);
  const bad = await post(hub, token, [...stream('append', TOPIC, 'x'), ['herald.after', '-1']]);
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /herald\.after must be one chunk count/);
  // A retried end is answered as the first was.
  const end = () => post(hub, token, [...stream('end', TOPIC, 'd'), ['herald.after', '3']]);
  assert.equal(await (await end()).text(), `${tag}.end`);
  const again = await end();
  assert.equal(again.status, 200);
  assert.equal(await again.text(), `${tag}.end`);
  assert.deepEqual(await collect(readerUrl(hub)), ['a', 'b', 'c', 'd']);
});
