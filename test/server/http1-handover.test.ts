/**
 * The HTTP/1.1 hand-over reads node:http internals; where they are not what it expects (another Node
 * line), it must leave the connection to node:http and the stream must not change by a byte. These
 * tests make the internals differ the way a Node release would (a listener of another name), on a
 * real connection, next to one that is handed over.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { encodeEvent } from '../../src/protocol/index.js';
import { unexpected } from '../../src/server/http1-handover.js';
import { SseServer, type SseStream } from '../../src/server/index.js';
import { eventually, listen, RawClient } from './helpers.js';

type Listener = (...args: unknown[]) => void;

/** Replaces node's listener `name` on `emitter` by a wrapper of another name that does the same. */
function rename(emitter: NodeJS.EventEmitter, event: string, name: string): void {
  const original = emitter.listeners(event).find((fn) => fn.name === name) as Listener | undefined;
  assert.ok(original, `node:http added a '${event}' listener named '${name}'`);
  emitter.removeListener(event, original);
  emitter.on(event, function renamedByANewNodeLine(this: unknown, ...args: unknown[]) {
    original.apply(this, args);
  });
}

/** What each path simulates: a Node line whose internals differ in one place, or none. */
const CHANGES: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {
  '/as-is': () => {},
  '/socket-data-renamed': (req) => rename(req.socket, 'data', 'bound socketOnData'),
  '/socket-end-renamed': (req) => rename(req.socket, 'end', 'bound socketOnEnd'),
  '/finish-renamed': (_req, res) => {
    const name = res.listeners('finish').find((fn) => /resOnFinish|onResponseFinish/.test(fn.name))?.name;
    rename(res, 'finish', name ?? 'missing');
  },
};

async function start() {
  const sse = new SseServer({ heartbeatMs: 0, detachConnections: true });
  const streams = new Map<string, SseStream>();
  const sockets = new Map<string, Socket>();
  const reasons = new Map<string, string | undefined>();
  const { port, close } = await listen((req, res) => {
    const path = req.url!;
    CHANGES[path]!(req, res);
    reasons.set(path, unexpected(res, req.socket));
    sockets.set(path, req.socket);
    streams.set(path, sse.stream(req, res));
  });
  const clients = new Map<string, RawClient>();
  for (const path of Object.keys(CHANGES)) {
    const client = new RawClient(port, path);
    await client.until((c) => c.body().includes('retry:'));
    clients.set(path, client);
  }
  // The hand-over runs on the turn after the first body write.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return { sse, streams, sockets, reasons, clients, close };
}

test('hand-over: where node:http internals differ, the connection stays with node:http, byte for byte the same', async () => {
  const { sse, streams, sockets, reasons, clients, close } = await start();

  assert.equal(reasons.get('/as-is'), undefined, 'the internals of this Node line are recognised');
  assert.match(reasons.get('/socket-data-renamed')!, /'data' listener named 'bound socketOnData'/);
  assert.match(reasons.get('/socket-end-renamed')!, /'end' listener named 'bound socketOnEnd'/);
  assert.match(reasons.get('/finish-renamed')!, /'finish' listener/);
  const parserOf = (path: string) => (sockets.get(path) as unknown as { parser: unknown }).parser;
  assert.equal(parserOf('/as-is'), null, 'handed over');
  for (const path of ['/socket-data-renamed', '/socket-end-renamed', '/finish-renamed']) {
    assert.notEqual(parserOf(path), null, `${path}: left to node:http`);
  }

  // The same events to every stream: small ones, several in one turn, a large one, then a last one
  // with the close.
  for (const stream of streams.values()) {
    stream.send({ id: '1', event: 'greeting', data: 'hello' });
    for (let i = 2; i < 20; i++) stream.send({ id: String(i), data: `line ${i}\nsecond line` });
  }
  await new Promise((resolve) => setImmediate(resolve));
  for (const stream of streams.values()) stream.send({ id: 'big', data: 'x'.repeat(200_000) });
  for (const stream of streams.values()) stream.close(encodeEvent({ id: 'last', data: 'bye' }));
  for (const client of clients.values()) await client.untilEnd();

  const body = (path: string) => {
    const raw = Buffer.concat(clients.get(path)!.chunks);
    return raw.subarray(raw.indexOf('\r\n\r\n') + 4);
  };
  const reference = body('/as-is');
  assert.ok(reference.toString('latin1').endsWith('data: bye\n\n\r\n0\r\n\r\n'), 'chunked body terminated');
  for (const path of ['/socket-data-renamed', '/socket-end-renamed', '/finish-renamed']) {
    assert.ok(body(path).equals(reference), `${path}: the same bytes as the handed-over stream`);
  }
  for (const path of Object.keys(CHANGES)) {
    await eventually(() => streams.get(path)!.closed, `${path}: stream closed`);
  }
  assert.equal(sse.size, 0);
  for (const client of clients.values()) client.close();
  await close();
});

test('hand-over: a connection left to node:http closes with its client and with the server', async () => {
  const { streams, clients, close } = await start();
  clients.get('/socket-data-renamed')!.close();
  await eventually(() => streams.get('/socket-data-renamed')!.closed, 'stream closed when the client left');
  // closeAllConnections() reaches the connections node:http kept, and the handed-over one ends
  // with its stream.
  streams.get('/as-is')!.close();
  await close();
  for (const path of Object.keys(CHANGES)) {
    await eventually(() => streams.get(path)!.closed, `${path}: stream closed`);
  }
  for (const client of clients.values()) client.close();
});
