import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { http2Handler } from '../../src/server/adapters/http2.js';
import { SseServer, type SseStream } from '../../src/server/index.js';
import { bounded } from '../support/retry.js';
import { eventually } from './helpers.js';

async function request(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{
  session: http2.ClientHttp2Session;
  req: http2.ClientHttp2Stream;
  head: http2.IncomingHttpHeaders;
  body: () => string;
  until: (text: string) => Promise<void>;
}> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const req = session.request({ ':path': path, accept: 'text/event-stream', ...headers });
  let body = '';
  const waiters: Array<() => void> = [];
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    body += chunk;
    for (const w of waiters.splice(0)) w();
  });
  req.on('error', () => {});
  const [head] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
  return {
    session,
    req,
    head,
    body: () => body,
    until: (text) =>
      bounded(
        (async () => {
          while (!body.includes(text)) await new Promise<void>((r) => waiters.push(r));
        })(),
        () => `${JSON.stringify(text)} in ${JSON.stringify(body)}`,
      ),
  };
}

function assertHeaders(head: http2.IncomingHttpHeaders): void {
  assert.equal(head[':status'], 200);
  assert.equal(head['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(head['cache-control'], 'no-cache, no-transform');
  assert.equal(head['x-accel-buffering'], 'no');
  assert.equal(head.connection, undefined);
  assert.equal(head['content-length'], undefined);
  assert.equal(head['content-encoding'], undefined);
}

test('node:http2 core API (http2Handler): headers, opening bytes, events, Last-Event-ID, client reset', async () => {
  const sse = new SseServer();
  const streams: SseStream[] = [];
  const server = http2.createServer();
  server.on(
    'stream',
    http2Handler((stream) => streams.push(stream), { server: sse }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  const a = await request(port, '/events?lastEventId=q-7');
  assertHeaders(a.head);
  await a.until('retry: 3000\n\n');
  assert.equal(streams[0]!.lastEventId, 'q-7');
  streams[0]!.send({ id: '8', data: 'over h2' });
  await a.until('data: over h2\n\n');
  assert.equal(a.body(), ': ok\nretry: 3000\n\nid: 8\ndata: over h2\n\n');

  const b = await request(port, '/events', { 'last-event-id': 'h-1' });
  await b.until('retry:');
  assert.equal(streams[1]!.lastEventId, 'h-1');
  b.req.close(http2.constants.NGHTTP2_CANCEL);
  await eventually(() => streams[1]!.closed, 'reset stream closed');
  assert.equal(sse.size, 1);

  sse.closeAll({ retryMs: 500 });
  await once(a.req, 'end');
  assert.ok(a.body().endsWith('data: over h2\n\nretry: 500\n\n'));
  a.session.close();
  b.session.close();
  server.close();
  await once(server, 'close');
});

test('node:http2 compat API: createStream-style call on (req, res)', async () => {
  const sse = new SseServer();
  const streams: SseStream[] = [];
  const server = http2.createServer((req, res) => {
    streams.push(sse.stream(req, res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const a = await request(port, '/', { 'last-event-id': 'c-3' });
  assertHeaders(a.head);
  await a.until('retry: 3000\n\n');
  assert.equal(streams[0]!.lastEventId, 'c-3');
  streams[0]!.send({ data: 'compat' });
  await a.until('data: compat\n\n');
  a.session.destroy();
  await eventually(() => sse.size === 0, 'session destroyed, stream gone');
  server.close();
  await once(server, 'close');
});

test('node:http2 compat API: headers set on the response before the stream opens are sent', async () => {
  const sse = new SseServer();
  const streams: SseStream[] = [];
  const server = http2.createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', 'https://app.example');
    res.setHeader('x-cursor', 'c-9');
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    // The stream's own headers win over a conflicting one, as with node:http's writeHead.
    res.setHeader('content-type', 'text/plain');
    streams.push(sse.stream(req, res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const a = await request(port, '/');
  assertHeaders(a.head);
  assert.equal(a.head['access-control-allow-origin'], 'https://app.example');
  assert.equal(a.head['x-cursor'], 'c-9');
  assert.deepEqual(a.head['set-cookie'], ['a=1', 'b=2']);
  streams[0]!.send({ data: 'with headers' });
  await a.until('data: with headers\n\n');
  a.session.destroy();
  await eventually(() => sse.size === 0, 'session destroyed, stream gone');
  server.close();
  await once(server, 'close');
});
