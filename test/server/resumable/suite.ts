/**
 * The resumable-stream suite every store passes, over real sockets: herald/server's
 * `createResumableStreams` on node:http, read with herald/client's `readStream`, connections
 * dropped at random points by the reader's fetch.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { type TestContext, test } from 'node:test';
import { readStream, StreamAbortedError, StreamReadError } from '../../../src/client/index.js';
import { createParser } from '../../../src/protocol/index.js';
import {
  createResumableStreams,
  type ResumableStore,
  type ResumableStreams,
  type ResumableStreamsOptions,
  SseServer,
  StreamCapacityError,
  StreamEndedError,
  StreamExistsError,
  StreamSequenceError,
  StreamTooLargeError,
} from '../../../src/server/index.js';
import { seededRandom } from '../../support/seeded-random.js';

/** Makes a store for one test (closed by the test), or undefined when the test must skip. */
export type StoreFactory = (t: TestContext) => Promise<ResumableStore | undefined>;

export interface Served {
  streams: ResumableStreams;
  url: (id: string) => string;
  port: number;
}

/** A node:http server whose `/s/<id>` serves resumable stream `<id>`; all closed after the test. */
export async function serve(
  t: TestContext,
  store: ResumableStore,
  options: Omit<ResumableStreamsOptions, 'store'> = {},
): Promise<Served> {
  const sse = new SseServer({ heartbeatMs: 0 });
  const streams = createResumableStreams({
    store,
    server: sse,
    streamOptions: { retryMs: 10 },
    ...options,
  });
  const server = http.createServer((req, res) => {
    const id = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(3));
    void streams.respond(id, req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  t.after(async () => {
    await streams.close();
    sse.closeAll();
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return { streams, port, url: (id) => `http://127.0.0.1:${port}/s/${encodeURIComponent(id)}` };
}

/**
 * A fetch whose response bodies break after a random number of bytes (up to `maxBytes`): the
 * connection is cancelled there, as a network drop would, and the reader must resume. Counts drops.
 */
export function droppingFetch(
  rand: () => number,
  maxBytes: number,
): { fetch: typeof fetch; drops: () => number } {
  let drops = 0;
  const dropping = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    if (response.body === null || response.status !== 200) return response;
    let budget = Math.floor(rand() * maxBytes) + 1;
    const source = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await source.read();
        if (done) {
          controller.close();
          return;
        }
        if (value.byteLength < budget) {
          budget -= value.byteLength;
          controller.enqueue(value);
          return;
        }
        controller.enqueue(value.subarray(0, budget));
        drops++;
        await source.cancel();
        controller.error(new Error('connection dropped by the test'));
      },
      cancel(reason) {
        return source.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return { fetch: dropping as typeof fetch, drops: () => drops };
}

/** Reads a whole stream; returns its chunks (or throws what `readStream` threw). */
export async function readAll(
  url: string,
  options: Parameters<typeof readStream>[1] = {},
): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of readStream(url, { retryMs: 5, maxRetries: 50, ...options })) out.push(chunk);
  return out;
}

function chunksOf(n: number, rand: () => number): string[] {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    const kind = rand();
    // Log lines, tokens with leading spaces, multi-line and non-ASCII chunks.
    if (kind < 0.5) out.push(`line ${i}: ${'x'.repeat(Math.floor(rand() * 40))}\n`);
    else if (kind < 0.8) out.push(` tok${i}`);
    else if (kind < 0.95) out.push(`${i}\nsecond line\n\nafter a blank line`);
    else out.push(`é→🙂 ${i}`);
  }
  return out;
}

/** Resolves once `condition()` holds, checking after each macrotask; fails after `limit` checks. */
export async function until(condition: () => boolean | Promise<boolean>, limit = 2000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition never held');
}

/** Registers the suite for one store; `checksLimits` for stores that enforce `StoreLimits`. */
export function resumableSuite(
  name: string,
  makeStore: StoreFactory,
  { checksLimits = true }: { checksLimits?: boolean } = {},
): void {
  test(`${name}: an append naming \`after\` is stored once however often it is retried; a start stores its first chunks`, async (t) => {
    const store = await makeStore(t);
    if (store === undefined) return;
    const created = await store.create('idem', 'tag00001', {
      chunks: ['a'],
      bytes: 1,
      maxStreamBytes: 100,
    });
    assert.equal(created.count, 1);
    assert.equal(await store.append('idem', ['b', 'c'], 2, 100, { after: 1 }), 3);
    // The answer was lost; the producer sends the same append again: nothing changes.
    assert.equal(await store.append('idem', ['b', 'c'], 2, 100, { after: 1 }), 3);
    assert.deepEqual((await store.read('idem', 0, 10)).chunks, ['a', 'b', 'c']);
    assert.equal((await store.read('idem', 0, 0)).info?.bytes, 3);
    // A count the stream does not hold: 409 naming what it holds, nothing stored.
    await assert.rejects(
      store.append('idem', ['x'], 1, 100, { after: 7 }),
      (e: unknown) => e instanceof StreamSequenceError && e.status === 409 && e.count === 3,
    );
    // Part of them stored (after 2, two chunks, the stream at 3): not a retry of this append.
    await assert.rejects(
      store.append('idem', ['x', 'y'], 2, 100, { after: 2 }),
      (e: unknown) => e instanceof StreamSequenceError && e.count === 3,
    );
    assert.equal((await store.read('idem', 0, 0)).info?.count, 3);
    // First chunks over maxStreamBytes: refused, and nothing was created.
    await assert.rejects(
      store.create('heavy', 'tag00002', { chunks: ['x'.repeat(20)], bytes: 20, maxStreamBytes: 10 }),
      (e: unknown) => e instanceof StreamTooLargeError && e.status === 413,
    );
    assert.equal((await store.read('heavy', 0, 0)).info, undefined);
  });

  if (checksLimits) {
    test(`${name}: store limits: open streams and held bytes are bounded; finished streams free them`, async (t) => {
      const store = await makeStore(t);
      if (store === undefined) return;
      const limits = { maxOpenStreams: 2, maxHeldBytes: 10 };
      await store.create('l1', 'tag00001', { ...limits, chunks: ['12345'], bytes: 5 });
      await store.create('l2', 'tag00002', limits);
      await assert.rejects(
        store.create('l3', 'tag00003', limits),
        (e: unknown) => e instanceof StreamCapacityError && e.status === 503 && e.limit === 'maxOpenStreams',
      );
      assert.equal((await store.read('l3', 0, 0)).info, undefined);
      await assert.rejects(
        store.append('l2', ['123456'], 6, 100, { maxHeldBytes: 10 }),
        (e: unknown) => e instanceof StreamCapacityError && e.limit === 'maxHeldBytes',
      );
      assert.equal((await store.read('l2', 0, 0)).info?.count, 0);
      assert.equal(await store.append('l2', ['12345'], 5, 100, { maxHeldBytes: 10 }), 1);
      // An ended stream no longer counts as open; once expired its bytes are free too.
      await store.finish('l1', 'ended', undefined, 0);
      await store.create('l3', 'tag00003', limits);
      assert.equal(await store.append('l3', ['abcde'], 5, 100, { maxHeldBytes: 10 }), 1);
    });
  }

  test(`${name}: every reader gets exactly the producer's chunks, in order, whatever its join time and drops`, async (t) => {
    const store = await makeStore(t);
    if (store === undefined) return;
    const { streams, url } = await serve(t, store);
    const seed = Number(process.env.HERALD_TEST_SEED ?? Date.now() % 100_000);
    t.diagnostic(`seed ${seed}`);
    const rand = seededRandom(seed);
    const chunks = chunksOf(3000, rand);
    const writer = await streams.writer('job/1');
    const readers: Promise<string[]>[] = [];
    const dropper = droppingFetch(rand, 12_000);
    // Readers join at random points while the producer writes in bursts; some drop often.
    const joins = new Set(Array.from({ length: 10 }, () => Math.floor(rand() * chunks.length)));
    for (let i = 0; i < chunks.length; i++) {
      if (joins.has(i)) {
        readers.push(readAll(url('job/1'), rand() < 0.7 ? { fetch: dropper.fetch } : {}));
      }
      writer.write(chunks[i]!);
      if (rand() < 0.05) await new Promise((resolve) => setImmediate(resolve));
      if (rand() < 0.01) await writer.flushed();
    }
    readers.push(readAll(url('job/1'), { fetch: dropper.fetch }));
    await writer.end();
    // A reader joining after the end gets the whole stream too.
    readers.push(readAll(url('job/1'), { fetch: dropper.fetch }));
    const results = await Promise.all(readers);
    for (const got of results) assert.deepEqual(got, chunks);
    t.diagnostic(`${results.length} readers, ${dropper.drops()} dropped connections`);
    assert.ok(dropper.drops() > 0, 'connections were dropped');
  });

  test(`${name}: a reader resuming with its Last-Event-ID gets the rest; with the end's ID, 204`, async (t) => {
    const store = await makeStore(t);
    if (store === undefined) return;
    const { streams, url, port } = await serve(t, store);
    await streams.produce('s', ['a', 'b', 'c']);
    const ids: string[] = [];
    const all = await readAll(url('s'), { onEventId: (id) => ids.push(id) });
    assert.deepEqual(all, ['a', 'b', 'c']);
    const tag = ids[0]!.slice(0, ids[0]!.lastIndexOf('.'));
    assert.deepEqual(ids, [`${tag}.1`, `${tag}.2`, `${tag}.3`]);
    assert.deepEqual(await readAll(url('s'), { lastEventId: ids[0] }), ['b', 'c']);
    // Everything but the end: only the end event comes, and the iteration finishes.
    assert.deepEqual(await readAll(url('s'), { lastEventId: ids[2] }), []);
    // The wire: chunks, then the end event with ID <tag>.end, then the response closes.
    const raw = await rawGet(port, '/s/s');
    assert.match(raw.head, /^HTTP\/1\.1 200/);
    assert.ok(
      raw.body.endsWith(`id: ${tag}.3\ndata: c\n\nevent: end\nid: ${tag}.end\ndata: {"chunks":3}\n\n`),
      raw.body,
    );
    // A browser EventSource reconnecting after the end sends that ID: 204 stops it for good.
    const again = await rawGet(port, '/s/s', { 'Last-Event-ID': `${tag}.end` });
    assert.match(again.head, /^HTTP\/1\.1 204/);
    assert.equal(again.body, '');
  });

  test(`${name}: an iterable that throws aborts the stream; readers get its chunks, then the abort`, async (t) => {
    const store = await makeStore(t);
    if (store === undefined) return;
    const { streams, url } = await serve(t, store);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* failing(): AsyncGenerator<string> {
      yield 'one';
      yield 'two';
      await gate;
      throw new Error('compiler crashed');
    }
    const produced = streams.produce('build', failing());
    await until(async () => (await streams.info('build'))?.count === 2);
    // Read to its end while the producer fails; checked below.
    const early = readAll(url('build')).then(
      () => null,
      (error: unknown) => error,
    );
    release();
    await assert.rejects(produced, /compiler crashed/);
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of readStream(url('build'), { retryMs: 5 })) got.push(chunk);
      })(),
      (error: unknown) =>
        error instanceof StreamAbortedError && error.reason === 'compiler crashed' && error.chunks === 2,
    );
    assert.deepEqual(got, ['one', 'two']);
    assert.ok((await early) instanceof StreamAbortedError);
  });

  test(`${name}: a producer that goes silent is aborted after abortAfterMs; a quiet live writer is not`, async (t) => {
    const store = await makeStore(t);
    if (store === undefined) return;
    const { streams, url } = await serve(t, store, { abortAfterMs: 150 });
    // A producer in another process that died: it appended, then nothing (no writer here).
    const other = createResumableStreams({ store, abortAfterMs: 60_000 });
    t.after(() => other.close());
    const dead = await other.writer('dead');
    dead.write('last words');
    await dead.flushed();
    other.writerDone(dead); // as if its process were gone: nobody touches the stream any more
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of readStream(url('dead'), { retryMs: 5 })) got.push(chunk);
      })(),
      (error: unknown) => error instanceof StreamAbortedError && /no chunk for 150 ms/.test(error.reason),
    );
    assert.deepEqual(got, ['last words']);
    // A writer of this process that is only quiet keeps its stream open well past abortAfterMs.
    const quiet = await streams.writer('quiet');
    quiet.write('thinking...');
    const reading = readAll(url('quiet'));
    await new Promise((resolve) => setTimeout(resolve, 600));
    quiet.write('done');
    await quiet.end();
    assert.deepEqual(await reading, ['thinking...', 'done']);
  });

  test(`${name}: a reader that never reads does not slow the producer nor the other readers`, async (t) => {
    const store = await makeStore(t);
    if (store === undefined) return;
    const { streams, url, port } = await serve(t, store);
    const writer = await streams.writer('big');
    writer.write('start');
    await writer.flushed();
    // A client that connects and then never reads its socket.
    const stuck = net.connect(port, '127.0.0.1');
    t.after(() => stuck.destroy());
    // HTTP/1.0: the body comes unframed and the server closes the connection after the end event.
    stuck.write('GET /s/big HTTP/1.0\r\nHost: x\r\n\r\n');
    const received: Buffer[] = [await once(stuck, 'data').then(([chunk]) => chunk as Buffer)];
    stuck.pause();
    const normal = readAll(url('big'));
    const chunk = 'y'.repeat(1000);
    let n = 1;
    while (n < 8000) {
      if (!writer.write(`${n++} ${chunk}`)) await writer.drained();
    }
    await writer.end(); // resolves: 8 MB written while one reader reads nothing
    const got = await normal;
    assert.equal(got.length, n);
    assert.equal(got.at(-1), `${n - 1} ${chunk}`);
    // The stuck reader, once it reads again, still gets every chunk, in order, then the end.
    stuck.on('data', (part: Buffer) => received.push(part));
    stuck.resume();
    await once(stuck, 'close');
    const raw = Buffer.concat(received).toString('utf8');
    const events: { type: string; data: string }[] = [];
    createParser({ onEvent: (e) => events.push(e) }).feed(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(
      events.filter((e) => e.type === 'message').map((e) => e.data),
      got,
    );
    assert.equal(events.at(-1)?.type, 'end');
  });

  test(`${name}: bad input: 404, 409, 413 and a Last-Event-ID of another stream`, async (t) => {
    const store = await makeStore(t);
    if (store === undefined) return;
    const { streams, url, port } = await serve(t, store, { maxChunkBytes: 100, maxStreamBytes: 250 });
    // Unknown stream: 404 with a message naming it.
    const missing = await rawGet(port, '/s/nope');
    assert.match(missing.head, /^HTTP\/1\.1 404/);
    assert.match(missing.body, /no resumable stream "nope"/);
    await assert.rejects(
      readAll(url('nope')),
      (e: unknown) => e instanceof StreamReadError && e.status === 404,
    );
    // Stream IDs are single-use while the stream is kept.
    await streams.produce('done', ['x']);
    await assert.rejects(
      streams.writer('done'),
      (e: unknown) => e instanceof StreamExistsError && e.status === 409,
    );
    // Appending to an ended stream: 409, in the writer and in the store.
    const w = await streams.writer('w');
    w.write('a');
    await w.end();
    assert.throws(
      () => w.write('b'),
      (e: unknown) => e instanceof StreamEndedError && e.status === 409,
    );
    await assert.rejects(store.append('w', ['b'], 1, 1000), (e: unknown) => e instanceof StreamEndedError);
    // A chunk over maxChunkBytes: 413, and the stream is unchanged and still open.
    const big = await streams.writer('big');
    big.write('ok');
    assert.throws(
      () => big.write('z'.repeat(101)),
      (e: unknown) => e instanceof StreamTooLargeError && e.status === 413 && e.limit === 'maxChunkBytes',
    );
    big.write('still open');
    await big.end();
    assert.deepEqual(await readAll(url('big')), ['ok', 'still open']);
    // A stream that would outgrow maxStreamBytes: 413; produce() aborts it, readers are told.
    const tooLong = (function* () {
      for (let i = 0; i < 10; i++) yield 'q'.repeat(60);
    })();
    await assert.rejects(
      streams.produce('long', tooLong),
      (e: unknown) => e instanceof StreamTooLargeError && e.limit === 'maxStreamBytes',
    );
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of readStream(url('long'), { retryMs: 5 })) got.push(chunk);
      })(),
      (e: unknown) => e instanceof StreamAbortedError && /at most 250 bytes/.test(e.reason),
    );
    assert.ok(got.length >= 1 && got.length <= 4 && got.every((c) => c === 'q'.repeat(60)));
    // A Last-Event-ID from another stream: 400 naming the rule.
    const ids: string[] = [];
    await readAll(url('done'), { onEventId: (id) => ids.push(id) });
    const foreign = await rawGet(port, '/s/big', { 'Last-Event-ID': ids[0]! });
    assert.match(foreign.head, /^HTTP\/1\.1 400/);
    assert.match(foreign.body, /is not an event of resumable stream "big"/);
    const garbage = await rawGet(port, '/s/big', { 'Last-Event-ID': 'whatever' });
    assert.match(garbage.head, /^HTTP\/1\.1 400/);
  });

  test(`${name}: a finished stream expires expireAfterMs after its end`, async (t) => {
    const store = await makeStore(t);
    if (store === undefined) return;
    const { streams, port } = await serve(t, store, { expireAfterMs: 1000 });
    await streams.produce('short-lived', ['a']);
    assert.match((await rawGet(port, '/s/short-lived')).head, /^HTTP\/1\.1 200/);
    await until(async () => (await streams.info('short-lived')) === undefined);
    assert.match((await rawGet(port, '/s/short-lived')).head, /^HTTP\/1\.1 404/);
    // The ID is free again.
    await streams.produce('short-lived', ['b']);
  });
}

/** One GET over a raw socket; resolves with the head and the de-chunked body once the server ends it. */
export async function rawGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ head: string; body: string }> {
  const socket = net.connect(port, '127.0.0.1');
  const lines = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  const parts: Buffer[] = [];
  // Resolves once the response is complete (the server may keep the connection open after it).
  await new Promise<void>((resolve) => {
    const check = () => {
      const all = Buffer.concat(parts);
      const split = all.indexOf('\r\n\r\n');
      if (split === -1) return;
      const head = all.subarray(0, split).toString('latin1');
      const body = all.subarray(split + 4);
      const length = /content-length: (\d+)/i.exec(head);
      if (
        /^HTTP\/1\.1 (204|304)/.test(head) ||
        (length !== null && body.length >= Number(length[1])) ||
        (/transfer-encoding: chunked/i.test(head) && body.toString('latin1').endsWith('0\r\n\r\n'))
      ) {
        resolve();
      }
    };
    socket.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      check();
    });
    socket.on('close', () => resolve());
  });
  socket.destroy();
  const raw = Buffer.concat(parts).toString('utf8');
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split);
  let body = raw.slice(split + 4);
  if (/transfer-encoding: chunked/i.test(head)) body = dechunk(body);
  return { head, body };
}

function dechunk(raw: string): string {
  const bytes = Buffer.from(raw, 'utf8');
  const out: Buffer[] = [];
  let i = 0;
  while (i < bytes.length) {
    const eol = bytes.indexOf('\r\n', i);
    if (eol === -1) break;
    const size = Number.parseInt(bytes.subarray(i, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(bytes.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out).toString('utf8');
}
