import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { serve } from '@hono/node-server';
import compression from 'compression';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { cors } from 'hono/cors';
import { expressHandler } from '../../src/server/adapters/express.js';
import { fastifyStream } from '../../src/server/adapters/fastify.js';
import { fetchHandler } from '../../src/server/adapters/fetch.js';
import { honoStream } from '../../src/server/adapters/hono.js';
import { nodeHandler } from '../../src/server/adapters/node.js';
import { SseServer, type SseStream } from '../../src/server/index.js';
import { bounded } from '../support/retry.js';
import { eventually, listen, RawClient } from './helpers.js';

/** Checks the head of an event-stream response as received on the wire. */
function assertStreamHead(head: string): void {
  const h = head.toLowerCase();
  assert.match(h, /^http\/1\.1 200 ok/);
  assert.match(h, /\r\ncontent-type: text\/event-stream; charset=utf-8(\r\n|$)/);
  assert.match(h, /\r\ncache-control: no-cache, no-transform(\r\n|$)/);
  assert.match(h, /\r\nx-accel-buffering: no(\r\n|$)/);
  assert.doesNotMatch(h, /content-length|content-encoding/);
}

/** Proves the compression middleware is active: a plain route answers gzip-encoded. */
async function assertCompressesPlain(port: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/plain`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  await res.arrayBuffer();
}

/** Opens a stream through `port`, checks bytes and Last-Event-ID, and that a disconnect is seen. */
async function exercise(port: number, sse: SseServer, streams: SseStream[]): Promise<RawClient> {
  const client = new RawClient(port, '/events?lastEventId=q1', { 'Accept-Encoding': 'gzip, deflate' });
  await client.until((c) => c.body().includes('retry: 3000\n\n'));
  assertStreamHead(client.head());
  await eventually(() => streams.length === 1, 'stream opened');
  const stream = streams[0]!;
  assert.equal(stream.lastEventId, 'q1');
  stream.send({ event: 'e', data: 'x'.repeat(2000) }); // over compression thresholds
  await client.until((c) => c.body().endsWith(`data: ${'x'.repeat(2000)}\n\n`));
  assert.equal(client.body(), `: ok\nretry: 3000\n\nevent: e\ndata: ${'x'.repeat(2000)}\n\n`);
  client.close();
  await eventually(() => stream.closed && sse.size === 0, 'disconnect seen');
  return client;
}

test('node adapter: nodeHandler', async () => {
  const sse = new SseServer();
  const streams: SseStream[] = [];
  const { port, close } = await listen(nodeHandler((s) => streams.push(s), { server: sse }));
  await exercise(port, sse, streams);
  await close();
});

test('express adapter: expressHandler(), bypassed by compression()', async () => {
  const sse = new SseServer();
  const streams: SseStream[] = [];
  const app = express();
  app.use(compression({ threshold: 0 }));
  app.get(
    '/events',
    expressHandler((s) => void streams.push(s), { server: sse }),
  );
  app.get('/plain', (_req, res) => void res.type('text/plain').send('x'.repeat(2000)));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  await assertCompressesPlain((server.address() as AddressInfo).port);
  await exercise((server.address() as AddressInfo).port, sse, streams);
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

test('fastify adapter: hijacked reply keeps headers set before', async () => {
  const sse = new SseServer();
  const streams: SseStream[] = [];
  const app = Fastify();
  app.get('/events', (request, reply) => {
    reply.header('access-control-allow-origin', '*');
    streams.push(fastifyStream(request, reply, { server: sse }));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const probe = new RawClient(port, '/events');
  await probe.until((c) => c.body().includes('retry:'));
  assert.match(probe.head().toLowerCase(), /\r\naccess-control-allow-origin: \*/);
  probe.close();
  await eventually(() => sse.size === 0, 'probe gone');
  streams.length = 0;
  await exercise(port, sse, streams);
  await app.close();
});

test('hono adapter on @hono/node-server: compress() skipped, cors() applied', async () => {
  const sse = new SseServer();
  const streams: SseStream[] = [];
  const app = new Hono();
  app.use(compress({ threshold: 0 }));
  app.use(cors());
  app.get('/events', (c) => {
    const { stream, response } = honoStream(c, { server: sse });
    streams.push(stream);
    return response;
  });
  app.get('/plain', (c) => c.text('x'.repeat(2000)));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  await assertCompressesPlain(port);
  const probe = new RawClient(port, '/events', { Origin: 'http://example.test' });
  await probe.until((c) => c.body().includes('retry:'));
  assert.match(probe.head().toLowerCase(), /\r\naccess-control-allow-origin: \*/);
  probe.close();
  await eventually(() => sse.size === 0, 'probe gone');
  streams.length = 0;
  await exercise(port, sse, streams);
  server.close();
  await once(server, 'close');
});

test('fetch adapter: Response body, abort and cancel close the stream', async () => {
  const sse = new SseServer();
  const streams: SseStream[] = [];
  const handler = fetchHandler((s) => streams.push(s), { server: sse });

  const aborter = new AbortController();
  const response = handler(
    new Request('http://x.test/events?lastEventId=f1', {
      headers: { 'last-event-id': 'h2' },
      signal: aborter.signal,
    }),
  );
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(response.headers.get('cache-control'), 'no-cache, no-transform');
  assert.equal(response.headers.get('x-accel-buffering'), 'no');
  assert.equal(response.headers.get('connection'), null);
  assert.equal(streams[0]!.lastEventId, 'h2');
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  streams[0]!.send({ data: 'one' });
  streams[0]!.send({ data: 'two' });
  while (!text.endsWith('data: two\n\n')) {
    const { value, done } = await bounded(
      reader.read(),
      () => `the second event; got ${JSON.stringify(text)}`,
    );
    assert.ok(!done, `the body ended before the second event: ${JSON.stringify(text)}`);
    text += decoder.decode(value);
  }
  assert.equal(text, ': ok\nretry: 3000\n\ndata: one\n\ndata: two\n\n');
  aborter.abort();
  assert.equal(streams[0]!.closed, true);
  assert.equal((await reader.read()).done, true);

  const second = handler(new Request('http://x.test/events?lastEventId=f2'));
  assert.equal(streams[1]!.lastEventId, 'f2');
  await second.body!.cancel();
  assert.equal(streams[1]!.closed, true);
  assert.equal(sse.size, 0);

  const third = handler(new Request('http://x.test/'));
  streams[2]!.send({ data: 'bye' });
  sse.closeAll({ retryMs: 10 });
  assert.equal(await third.text(), ': ok\nretry: 3000\n\ndata: bye\n\nretry: 10\n\n');
});
