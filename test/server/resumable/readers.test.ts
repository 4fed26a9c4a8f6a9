/**
 * Readers of resumable streams at the edges of their life: admitted together with a refused one,
 * catching up under a queue that refuses writes, and a shutdown while they catch up.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { type TestContext, test } from 'node:test';
import {
  createMemoryResumableStore,
  createResumableStreams,
  type ReaderStart,
  type ResumableStore,
  type ResumableStreams,
  SseServer,
  type StreamOptions,
} from '../../../src/server/index.js';
import { bounded } from '../../support/retry.js';
import { rawGet, readAll, serve } from './suite.js';

/**
 * A server whose every request gets an event stream of `sse` (with `options`), attached to the
 * reader start set through `attach`; closes the streams, the server and the store after the test.
 */
async function readerServer(
  t: TestContext,
  parts: { sse: SseServer; streams: ResumableStreams; store: ResumableStore },
  options: StreamOptions,
): Promise<{ port: number; attach(start: ReaderStart | null): void }> {
  const { sse, streams, store } = parts;
  let start: ReaderStart | null = null;
  const server = http.createServer((req, res) => start?.attach(sse.stream(req, res, options)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    await streams.close();
    sse.closeAll();
    server.closeAllConnections();
    server.close();
    await store.close();
  });
  return {
    port: (server.address() as AddressInfo).port,
    attach(next) {
      start = next;
    },
  };
}

test('two readers admitted at once, one refused: the other still gets every chunk and the end', async (t) => {
  const store = createMemoryResumableStore();
  const sse = new SseServer({ heartbeatMs: 0 });
  const streams = createResumableStreams({ store, server: sse, streamOptions: { retryMs: 10 } });
  const server = await readerServer(t, { sse, streams, store }, streams.streamOptions);
  await streams.start('s');
  // The refused one (a Last-Event-ID of another stream) is looked up first: its refusal used to
  // release the live stream the other had just been handed.
  const [refused, admitted] = await Promise.allSettled([
    streams.open('s', 'other-stream.3'),
    streams.open('s', null),
  ]);
  assert.equal(refused.status, 'rejected');
  assert.equal(admitted.status, 'fulfilled');
  server.attach((admitted as PromiseFulfilledResult<ReaderStart | null>).value);
  const port = server.port;
  const res = await new Promise<http.IncomingMessage>((resolve) =>
    http.get({ port, host: '127.0.0.1', path: '/', agent: false }, resolve),
  );
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (part: string) => {
    text += part;
  });
  const ended = once(res, 'end');
  await streams.append('s', ['one', 'two']);
  await streams.finish('s', 'ended');
  await bounded(ended, 'the admitted reader', 5000);
  assert.match(text, /data: one\n\n[\s\S]*data: two\n\n[\s\S]*event: end\n/);
});

test("a catching-up reader under the 'drop' policy gets every chunk (none dropped), resuming as needed", async (t) => {
  const store = createMemoryResumableStore();
  t.after(() => store.close());
  const { streams, url } = await serve(t, store, {
    maxChunkBytes: 1000,
    streamOptions: { retryMs: 10, maxQueueBytes: 70_000, overflow: 'drop' },
  });
  const chunks = Array.from({ length: 300 }, (_, i) => `${i} ${'d'.repeat(900)}`);
  await streams.produce('drop', chunks);
  const got = await readAll(url('drop'));
  assert.equal(got.length, 300);
  assert.deepEqual(got, chunks);
});

test("a catching-up reader whose stream refuses a page ('drop') ends without the end event", async (t) => {
  const store = createMemoryResumableStore();
  const sse = new SseServer({ heartbeatMs: 0 });
  const streams = createResumableStreams({ store, server: sse });
  // A server opening its own event streams, with a queue smaller than a page: the stream refuses it.
  const server = await readerServer(
    t,
    { sse, streams, store },
    { retryMs: 10, maxQueueBytes: 4096, overflow: 'drop' },
  );
  const chunks = Array.from({ length: 20 }, (_, i) => `${i} ${'r'.repeat(900)}`);
  await streams.produce('refused', chunks);
  server.attach(await streams.open('refused', null));
  const { head, body } = await bounded(rawGet(server.port, '/'), 'the refused reader', 10_000);
  assert.match(head, /^HTTP\/1\.1 200/);
  // Read past the refused page, the client would lose its chunks and see a normal end.
  assert.ok(!body.includes('event: end'), 'ended so that its client resumes, not as complete');
  const got = [...body.matchAll(/^data: (.*)$/gm)].map((m) => m[1]);
  assert.deepEqual(got, chunks.slice(0, got.length), 'what arrived has no hole');
});

test("a catching-up reader under the 'close' policy is not closed by a page larger than its queue", async (t) => {
  const store = createMemoryResumableStore();
  t.after(() => store.close());
  const { streams, url } = await serve(t, store, {
    maxChunkBytes: 1000,
    streamOptions: { retryMs: 10, maxQueueBytes: 70_000, overflow: 'close' },
  });
  // Line breaks make each chunk's event larger than the chunk: pages are bounded as encoded.
  const chunks = Array.from({ length: 300 }, (_, i) => `${i}${'\n'.repeat(120)}${'c'.repeat(700)}`);
  await streams.produce('close', chunks);
  let reconnects = 0;
  const got = await readAll(url('close'), {
    maxRetries: 3,
    fetch: (input, init) => {
      reconnects++;
      return fetch(input, init);
    },
  });
  assert.deepEqual(got, chunks);
  assert.equal(reconnects, 1, 'read in one response');
});

test('close() ends readers that are still catching up, without the end event', async (t) => {
  const store = createMemoryResumableStore();
  t.after(() => store.close());
  const { streams, port } = await serve(t, store);
  const line = 'z'.repeat(1000);
  await streams.produce(
    'long',
    Array.from({ length: 8000 }, (_, i) => `${i} ${line}`),
  );
  // A client that reads the first bytes, then nothing: its reader stays behind, catching up.
  const stuck = net.connect(port, '127.0.0.1');
  t.after(() => stuck.destroy());
  stuck.write('GET /s/long HTTP/1.0\r\nHost: x\r\n\r\n');
  const received: Buffer[] = [(await once(stuck, 'data'))[0] as Buffer];
  stuck.pause();
  await streams.close();
  stuck.on('data', (part: Buffer) => received.push(part));
  const closed = once(stuck, 'close');
  stuck.resume();
  await bounded(closed, 'the stuck reader', 10_000);
  const raw = Buffer.concat(received).toString('utf8');
  // Not `doesNotMatch`: its failure would print megabytes of events.
  assert.ok(!raw.includes('event: end'), 'closed by the shutdown, not read to its end');
});

test('a reader start attaches once; after close() no reader is admitted', async (t) => {
  const store = createMemoryResumableStore();
  t.after(() => store.close());
  const { streams, port } = await serve(t, store);
  await streams.start('once');
  const start = await streams.open('once', null);
  assert.ok(start !== null);
  start.cancel();
  assert.throws(() => start.attach(null as never), /attaches one stream, once/);
  await streams.close();
  await assert.rejects(streams.open('once', null), /resumable streams are closed/);
  const refused = await rawGet(port, '/s/once');
  assert.match(refused.head, /^HTTP\/1\.1 503/);
});
