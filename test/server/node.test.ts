import assert from 'node:assert/strict';
import type http from 'node:http';
import { test } from 'node:test';
import { encodeEvent } from '../../src/protocol/index.js';
import { Channel, createStream, SseServer, type SseStream } from '../../src/server/index.js';
import { eventually, listen, RawClient, spyNoDelay } from './helpers.js';

test('node:http: headers, opening comment and retry hint arrive before any event', async () => {
  const sse = new SseServer();
  let stream!: SseStream;
  const { port, close } = await listen((req, res) => {
    stream = sse.stream(req, res);
  });
  const client = new RawClient(port, '/events');
  await client.until((c) => c.body().includes('retry:'));
  const head = client.head().toLowerCase();
  assert.match(head, /^http\/1\.1 200 ok/);
  assert.match(head, /\r\ncontent-type: text\/event-stream; charset=utf-8\r\n/);
  assert.match(head, /\r\ncache-control: no-cache, no-transform\r\n/);
  assert.match(head, /\r\nx-accel-buffering: no\r\n/);
  assert.match(head, /\r\nconnection: keep-alive\r\n/);
  assert.match(head, /\r\ntransfer-encoding: chunked/);
  assert.doesNotMatch(head, /content-length|content-encoding/);
  assert.equal(client.body(), ': ok\nretry: 3000\n\n');
  stream.send({ event: 'greeting', id: '1', data: 'hi' });
  await client.until((c) => c.body().endsWith('\n\n') && c.body().includes('data: hi'));
  assert.equal(client.body(), ': ok\nretry: 3000\n\nevent: greeting\nid: 1\ndata: hi\n\n');
  client.close();
  await eventually(() => stream.closed, 'stream closed after client left');
  assert.equal(sse.size, 0);
  await close();
});

test('node:http: an HTTP/1.0 client gets no keep-alive and no chunked framing', async () => {
  const sse = new SseServer();
  let stream!: SseStream;
  const { port, close } = await listen((req, res) => {
    stream = sse.stream(req, res);
  });
  const client = new RawClient(port, '/', {}, '1.0');
  await client.until((c) => c.text().includes('retry: 3000\n\n'));
  stream.send({ data: 'plain' });
  sse.closeAll();
  await client.untilEnd();
  const [head, body] = client.text().split('\r\n\r\n');
  assert.match(head!.toLowerCase(), /\r\ncontent-type: text\/event-stream; charset=utf-8/);
  assert.doesNotMatch(head!.toLowerCase(), /connection: keep-alive|transfer-encoding/);
  assert.equal(body, ': ok\nretry: 3000\n\ndata: plain\n\n');
  client.close();
  await close();
});

test('node:http: a stream created after the client left is closed at once and not registered', async () => {
  const sse = new SseServer();
  let stream: SseStream | undefined;
  let received = false;
  const { port, close } = await listen((req, res) => {
    received = true;
    req.socket.once('close', () => {
      stream = sse.stream(req, res);
    });
  });
  const client = new RawClient(port);
  await eventually(() => received, 'request received');
  client.close();
  await eventually(() => stream !== undefined, 'handler ran');
  assert.equal(stream!.closed, true);
  assert.equal(sse.size, 0);
  await close();
});

test('node:http: Last-Event-ID from the header, else the query parameter', async () => {
  const seen: Array<string | null> = [];
  const options = { lastEventIdParams: ['lastEventId', 'last_event_id'] };
  const { port, close } = await listen((req, res) => {
    const stream = createStream(req, res, options);
    seen.push(stream.lastEventId);
    stream.close();
  });
  for (const [path, headers] of [
    ['/', { 'Last-Event-ID': 'from-header' }],
    ['/?lastEventId=from-query', { 'Last-Event-ID': 'header-wins' }],
    ['/?x=1&last_event_id=urn%3Auuid%3A42', {}],
    ['/?lastEventId=', {}],
    ['/', {}],
  ] as const) {
    const client = new RawClient(port, path, headers);
    await client.untilEnd();
    client.close();
  }
  assert.deepEqual(seen, ['from-header', 'header-wins', 'urn:uuid:42', null, null]);
  await close();
});

test('node:http: events queued in one turn leave in one write', async () => {
  const sse = new SseServer();
  let writes = 0;
  let stream!: SseStream;
  const { port, close } = await listen((req, res) => {
    const write = res.write;
    // Counts the writes the stream makes on this response (opening bytes + flushes).
    res.write = function (this: http.ServerResponse, ...args: Parameters<typeof write>) {
      writes++;
      return write.apply(this, args);
    } as typeof write;
    stream = sse.stream(req, res);
  });
  const client = new RawClient(port);
  await client.until((c) => c.body().includes('retry:'));
  assert.equal(writes, 1);
  const expected: string[] = [];
  for (let i = 0; i < 100; i++) {
    stream.send({ id: String(i), data: `event ${i}` });
    expected.push(`id: ${i}\ndata: event ${i}\n\n`);
  }
  await client.until((c) => c.body().endsWith('data: event 99\n\n'));
  assert.equal(client.body(), `: ok\nretry: 3000\n\n${expected.join('')}`);
  assert.equal(writes, 2, 'opening bytes + one coalesced write');
  client.close();
  await eventually(() => sse.size === 0, 'registry empty');
  await close();
});

test('Channel: one buffer to every member; members leave when they close', async () => {
  const sse = new SseServer();
  const channel = new Channel();
  const { port, close } = await listen((req, res) => {
    channel.add(sse.stream(req, res));
  });
  const clients = [new RawClient(port), new RawClient(port), new RawClient(port)];
  await eventually(() => channel.size === 3, 'three members');
  for (const c of clients) await c.until((x) => x.body().includes('retry:'));
  assert.equal(channel.broadcast(encodeEvent({ data: 'to all' })), 3);
  for (const c of clients) await c.until((x) => x.body().endsWith('data: to all\n\n'));
  // A burst: every member's queue holds the same buffers, joined once and shared (coalesce.ts).
  const burst: string[] = [];
  for (let i = 0; i < 50; i++) {
    channel.broadcast(encodeEvent({ id: String(i), data: `burst ${i}` }));
    burst.push(`id: ${i}\ndata: burst ${i}\n\n`);
  }
  for (const c of clients) {
    await c.until((x) => x.body().endsWith('data: burst 49\n\n'));
    assert.equal(c.body(), `: ok\nretry: 3000\n\ndata: to all\n\n${burst.join('')}`);
  }
  clients[0]!.close();
  await eventually(() => channel.size === 2 && sse.size === 2, 'closed member removed');
  // Streams with different queues do not share a join.
  const [s1, s2] = channel.streams();
  s1!.send({ data: 'only one' });
  s1!.send({ data: 'and two' });
  s2!.send({ data: 'and two' });
  s2!.send({ data: 'only one' });
  for (const c of [clients[1]!, clients[2]!]) {
    await c.until((x) => x.body().includes('data: only one\n\n') && x.body().includes('data: and two\n\n'));
  }
  const tails = [clients[1]!.body(), clients[2]!.body()].map((b) => b.slice(b.indexOf('burst 49') + 10));
  assert.deepEqual(tails.sort(), [
    'data: and two\n\ndata: only one\n\n',
    'data: only one\n\ndata: and two\n\n',
  ]);
  const [first] = channel.streams();
  assert.equal(channel.remove(first!), true);
  assert.equal(channel.size, 1);
  assert.equal(channel.broadcast(encodeEvent({ data: 'again' })), 1);
  sse.closeAll();
  await eventually(() => channel.size === 0 && sse.size === 0, 'all gone');
  for (const c of clients) c.close();
  await close();
});

test('heartbeat: one timer for all streams; comments reach idle streams', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();
  const sse = new SseServer({ heartbeatMs: 40 });
  const { port, close } = await listen((req, res) => {
    sse.stream(req, res);
  });
  const clients = Array.from({ length: 20 }, () => new RawClient(port));
  await eventually(() => sse.size === 20, 'twenty streams');
  // One interval for twenty streams (the polling helper may hold one more).
  assert.ok(timers() - before <= 2, `timers: ${timers() - before}`);
  for (const c of clients) await c.until((x) => x.body().includes('retry: 3000\n\n: \n'));
  sse.closeAll();
  await eventually(() => sse.size === 0, 'closed');
  assert.ok(timers() - before <= 1, 'heartbeat timer stopped with the last stream');
  for (const c of clients) c.close();
  await close();
});

test('heartbeat: a comment goes to a stream once it was silent for all but one tick of the interval', async () => {
  const sse = new SseServer({ heartbeatMs: 3_600_000 });
  const streams: SseStream[] = [];
  const { port, close } = await listen((req, res) => {
    streams.push(sse.stream(req, res));
  });
  const idle = new RawClient(port);
  await eventually(() => streams.length === 1, 'first stream');
  const busy = new RawClient(port);
  await eventually(() => streams.length === 2, 'second stream');
  await idle.until((c) => c.body().includes('retry:'));
  await busy.until((c) => c.body().includes('retry:'));
  // The timer ticks eight times per interval; the opening bytes count as the last write.
  for (let tick = 1; tick <= 6; tick++) sse.beat();
  streams[1]!.send({ data: 'busy' });
  await busy.until((c) => c.body().endsWith('data: busy\n\n'));
  sse.beat(); // the seventh tick: the idle stream is due, the busy one wrote one tick ago
  await idle.until((c) => c.body().endsWith(': \n'));
  sse.closeAll();
  await busy.untilEnd();
  await idle.untilEnd();
  assert.equal(busy.body(), ': ok\nretry: 3000\n\ndata: busy\n\n');
  assert.equal(idle.body(), ': ok\nretry: 3000\n\n: \n');
  idle.close();
  busy.close();
  await close();
});

test('closeAll sends the retry hint, then ends each response', async () => {
  const sse = new SseServer({ heartbeatMs: 0 });
  let stream!: SseStream;
  const { port, close } = await listen((req, res) => {
    stream = sse.stream(req, res);
  });
  const client = new RawClient(port);
  await client.until((c) => c.body().includes('retry:'));
  let closed = 0;
  stream.on('close', () => closed++);
  stream.send({ data: 'last' });
  sse.closeAll({ retryMs: 1234 });
  await client.untilEnd();
  assert.equal(client.body(), ': ok\nretry: 3000\n\ndata: last\n\nretry: 1234\n\n');
  assert.ok(client.text().endsWith('\r\n0\r\n\r\n'), 'chunked body terminated');
  assert.equal(closed, 1);
  assert.equal(stream.write(new Uint8Array(1)), false);
  client.close();
  await close();
});

/** A server whose stream's socket records its setNoDelay calls, and one client on it. */
async function spiedStream(options: ConstructorParameters<typeof SseServer>[0]) {
  const sse = new SseServer({ heartbeatMs: 0, ...options });
  let stream!: SseStream;
  let calls: boolean[] = [];
  const { port, close } = await listen((req, res) => {
    calls = spyNoDelay(req.socket);
    stream = sse.stream(req, res);
  });
  const client = new RawClient(port);
  await client.until((c) => c.body().includes('retry:'));
  return { stream, calls: () => calls, client, close };
}

test('node:http: Nagle is on while a stream lasts (tcpNoDelay false), and off again after', async () => {
  const { stream, calls, client, close } = await spiedStream({});
  assert.deepEqual(calls(), [false], 'Nagle turned on when the stream opened');
  for (let i = 0; i < 20; i++) stream.send({ data: String(i) });
  await client.until((c) => c.body().includes('data: 19\n\n'));
  stream.close();
  await client.untilEnd();
  assert.deepEqual(calls(), [false, true], 'TCP_NODELAY restored when the stream ended');
  client.close();
  await close();
});

test('node:http: tcpNoDelay true leaves TCP_NODELAY alone; a bad value is refused', async () => {
  const { stream, calls, client, close } = await spiedStream({ tcpNoDelay: true });
  stream.close();
  await client.untilEnd();
  assert.deepEqual(calls(), []);
  client.close();
  await close();
  assert.throws(
    () => new SseServer({ tcpNoDelay: 'yes' as unknown as boolean }),
    /tcpNoDelay must be true or false \(got "yes"\)/,
  );
});

test('node:http: detachConnections hands the connection over: events, close by either side, no parser kept', async () => {
  const sse = new SseServer({ heartbeatMs: 0, detachConnections: true });
  const streams: SseStream[] = [];
  const sockets: import('node:net').Socket[] = [];
  const { port, close } = await listen((req, res) => {
    sockets.push(req.socket);
    streams.push(sse.stream(req, res));
  });

  // The server ends the stream: every event, the last chunk, then the connection closes.
  const a = new RawClient(port);
  await a.until((c) => c.body().includes('retry:'));
  assert.equal((sockets[0] as unknown as { parser: unknown }).parser, null, "node:http's parser released");
  for (let i = 0; i < 50; i++) streams[0]!.send({ id: String(i), data: `e${i}` });
  await a.until((c) => c.body().includes('data: e49\n\n'));
  streams[0]!.close(encodeEvent({ data: 'bye' }));
  await a.untilEnd();
  assert.ok(a.text().endsWith('data: bye\n\n\r\n0\r\n\r\n'), 'chunked body terminated');
  await eventually(() => sockets[0]!.destroyed, 'connection closed after the stream ended');

  // The client goes away: the stream closes.
  const b = new RawClient(port);
  await eventually(() => streams.length === 2, 'second stream');
  await b.until((c) => c.body().includes('retry:'));
  b.socket.destroy();
  await eventually(() => streams[1]!.closed, 'stream closed when the client left');

  // The client half-closes (FIN) and sends more bytes first: they are ignored, the stream ends.
  const c = new RawClient(port);
  await eventually(() => streams.length === 3, 'third stream');
  await c.until((x) => x.body().includes('retry:'));
  c.socket.end('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
  await eventually(() => streams[2]!.closed, 'stream closed on the client FIN');
  await c.untilEnd();
  assert.equal(sse.size, 0);
  await close();
});

test('node:http: by default node:http keeps the connection (closeAllConnections reaches it)', async () => {
  const sse = new SseServer({ heartbeatMs: 0 });
  let stream!: SseStream;
  let socket!: import('node:net').Socket;
  const { port, close } = await listen((req, res) => {
    socket = req.socket;
    stream = sse.stream(req, res);
  });
  const client = new RawClient(port);
  await client.until((c) => c.body().includes('retry:'));
  assert.notEqual((socket as unknown as { parser: unknown }).parser, null);
  await close(); // closeAllConnections() then close(): would hang on a detached stream
  await eventually(() => stream.closed, 'stream closed with the server');
  client.close();
});
