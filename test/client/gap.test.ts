/**
 * The `gap` event: when the server's answer to a resume shows updates may be missing, every
 * transport dispatches `gap` (the ID asked for, the cursor answered) before the updates of that
 * answer; never when the hub resumed where it was asked to.
 *
 * First against a small server that answers as the hub's contract says (docs/transports.md), so
 * the client is checked whatever the hub sends today; then against a real hub whose history is
 * smaller than what was published, resuming from an evicted ID.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import {
  EventSource,
  type EventSourceOptions,
  GapEvent,
  type TransportName,
  type WebSocketConstructor,
} from '../../src/client/index.js';
import { createMemoryStore } from '../../src/hub/index.js';
import { publish, signDraft07, startHub } from '../support/hub.js';
import { bounded } from '../support/retry.js';

const WS =
  (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ??
  (WebSocket as unknown as WebSocketConstructor);
const TRANSPORTS: readonly TransportName[] = ['sse', 'websocket', 'poll'];
const TOPIC = 'https://example.com/gap';

interface Answer {
  /** The cursor the server names (header, open frame, poll `lastEventID`). */
  cursor: string;
  /** False: the server says it did not find the ID asked for (WebSocket and poll). */
  resumed: boolean;
  updates: { id: string; data: string }[];
}

/**
 * One endpoint answering a subscription on each transport as the hub does: SSE with the cursor in
 * `Last-Event-ID`, a WebSocket opening with `{"herald":"open",…}`, a poll with
 * `{"lastEventID","resumed"?,"updates"}`. Later polls are held until the test ends. Records the
 * ID each request asked for (header or `lastEventID` query parameter).
 */
async function contractServer(t: TestContext, answer: Answer) {
  const asked: string[] = [];
  const held = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    asked.push(String(req.headers['last-event-id'] ?? url.searchParams.get('lastEventID') ?? ''));
    if (url.searchParams.get('transport') === 'poll') {
      if (asked.length > 1) {
        held.add(res);
        return;
      }
      const body: Record<string, unknown> = {
        lastEventID: answer.updates.at(-1)?.id ?? answer.cursor,
        updates: answer.updates,
      };
      if (!answer.resumed) body.resumed = false;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'last-event-id': answer.cursor });
    res.write(': hello\n\n');
    for (const u of answer.updates) res.write(`id: ${u.id}\ndata: ${u.data}\n\n`);
    held.add(res);
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    asked.push(url.searchParams.get('lastEventID') ?? '');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const open: Record<string, unknown> = { herald: 'open', lastEventID: answer.cursor };
      if (!answer.resumed) open.resumed = false;
      ws.send(JSON.stringify(open));
      for (const u of answer.updates) ws.send(JSON.stringify(u));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const res of held) res.destroy();
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hub`, asked };
}

/** Resolves once a message with `data` arrives (bounded: fails the test by name otherwise). */
function received(es: EventSource, data: string): Promise<void> {
  const arrived = new Promise<void>((resolve) =>
    es.addEventListener('message', (event) => event.data === data && resolve()),
  );
  return bounded(arrived, () => `the message ${JSON.stringify(data)}`, 10_000);
}

/** Logs open, gap and message events in order; `until(n)` resolves once n entries are logged. */
function record(es: EventSource) {
  const log: string[] = [];
  const gaps: GapEvent[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  const push = (entry: string) => {
    log.push(entry);
    if (waiting !== undefined && log.length >= waiting.n) waiting.resolve();
  };
  es.addEventListener('open', () => push('open'));
  es.addEventListener('gap', (event) => {
    gaps.push(event);
    push(`gap:${event.requested}>${event.cursor}`);
  });
  es.addEventListener('message', (event) => push(`message:${event.data}`));
  return {
    log,
    gaps,
    until(n: number): Promise<void> {
      if (log.length >= n) return Promise.resolve();
      const logged = new Promise<void>((resolve) => {
        waiting = { n, resolve };
      });
      return bounded(logged, () => `${n} events logged (got ${JSON.stringify(log)})`, 10_000);
    },
  };
}

function source(t: TestContext, url: string, options: EventSourceOptions): EventSource {
  const es = new EventSource(url, { WebSocket: WS, backoff: { initialMs: 20, jitter: 'none' }, ...options });
  t.after(() => es.close());
  return es;
}

const UPDATES = [
  { id: 'u8', data: 'eight' },
  { id: 'u9', data: 'nine' },
];

for (const transport of TRANSPORTS) {
  test(`${transport}: a cursor other than the ID asked for (earliest) fires gap before the updates`, async (t) => {
    const server = await contractServer(t, { cursor: 'earliest', resumed: false, updates: UPDATES });
    const es = source(t, server.url, { transport, lastEventId: 'u2' });
    const seen = record(es);
    await seen.until(4);
    // A poll answer names where it leaves the reader (after its updates), not where it started.
    const cursor = transport === 'poll' ? 'u9' : 'earliest';
    assert.deepEqual(seen.log, ['open', `gap:u2>${cursor}`, 'message:eight', 'message:nine']);
    assert.equal(server.asked[0], 'u2');
    const [gap] = seen.gaps;
    assert.ok(gap instanceof GapEvent && gap instanceof MessageEvent);
    assert.equal(gap.type, 'gap');
    assert.equal(gap.lastEventId, 'u2', 'lastEventId: the ID asked for');
    assert.equal(gap.data, cursor, 'data: the cursor answered');
    assert.equal(es.lastEventId, 'u9');
  });

  test(`${transport}: a hub that resumed where it was asked fires no gap`, async (t) => {
    const server = await contractServer(t, { cursor: 'u7', resumed: true, updates: UPDATES });
    const es = source(t, server.url, { transport, lastEventId: 'u7' });
    const seen = record(es);
    await seen.until(3);
    assert.deepEqual(seen.log, ['open', 'message:eight', 'message:nine']);
  });

  test(`${transport}: no gap for a first subscription (nothing asked) or one from earliest`, async (t) => {
    const fresh = await contractServer(t, { cursor: 'u7', resumed: true, updates: UPDATES });
    const first = record(source(t, fresh.url, { transport }));
    await first.until(3);
    assert.deepEqual(first.log, ['open', 'message:eight', 'message:nine']);
    const all = await contractServer(t, { cursor: 'earliest', resumed: true, updates: UPDATES });
    const fromStart = record(source(t, all.url, { transport, lastEventId: 'earliest' }));
    await fromStart.until(3);
    assert.deepEqual(fromStart.log, ['open', 'message:eight', 'message:nine']);
  });
}

test("websocket and poll: resumed:false alone is a gap, even when the cursor is the hub's last ID", async (t) => {
  for (const transport of ['websocket', 'poll'] as const) {
    const server = await contractServer(t, { cursor: 'u9', resumed: false, updates: [] });
    const es = source(t, server.url, { transport, lastEventId: 'u2' });
    const seen = record(es);
    await seen.until(2);
    assert.deepEqual(seen.log, ['open', 'gap:u2>u9'], transport);
  }
});

test('gap reaches async iterations that name it, not those over every message', async (t) => {
  const server = await contractServer(t, { cursor: 'earliest', resumed: false, updates: UPDATES });
  const es = source(t, server.url, { transport: 'sse', lastEventId: 'u2' });
  const named = es.events(['gap', 'message']);
  const all = es.events();
  const types: string[] = [];
  for await (const event of named) {
    types.push(`${event.type}:${event.data}`);
    if (types.length === 3) break;
  }
  assert.deepEqual(types, ['gap:earliest', 'message:eight', 'message:nine']);
  const rest: string[] = [];
  for await (const event of all) rest.push(event.type);
  assert.deepEqual(rest, ['message', 'message']);
});

for (const transport of TRANSPORTS) {
  test(`${transport}, real hub: resuming from an ID past its history fires gap before any update`, async (t) => {
    const hub = await startHub({
      anonymous: true,
      pollTimeoutMs: 300,
      store: createMemoryStore({ maxCount: 3, maxAgeMs: 0 }),
    });
    t.after(() => hub.close());
    const token = await signDraft07({ publish: ['*'] });
    const ids: string[] = [];
    for (let i = 1; i <= 6; i++) {
      const res = await publish(hub, { topic: TOPIC, data: `d${i}` }, token);
      assert.equal(res.status, 200, res.body);
      ids.push(res.body);
    }
    // d1 is gone: history holds d4..d6.
    const es = source(t, `${hub.hubUrl}?topic=${encodeURIComponent(TOPIC)}`, {
      transport,
      lastEventId: ids[0],
    });
    const seen = record(es);
    await seen.until(2);
    assert.equal(seen.log[0], 'open');
    assert.match(seen.log[1]!, new RegExp(`^gap:${ids[0]}>`));
    const [gap] = seen.gaps;
    assert.notEqual(gap!.cursor, ids[0]);
    if (transport === 'sse') assert.equal(gap!.cursor, 'earliest');
    // Listening before the publish: the hub may deliver the update before the publish's answer
    // reaches this process.
    const after = received(es, 'after');
    await publish(hub, { topic: TOPIC, data: 'after' }, token);
    await after;
    // Whatever the hub replayed comes after the gap, once each, in order, then the live update.
    const messages = seen.log.slice(2).filter((e) => e.startsWith('message:'));
    assert.equal(messages.at(-1), 'message:after');
    assert.equal(seen.gaps.length, 1);
    assert.deepEqual(messages, [...new Set(messages)]);
  });
}

test('sse, real hub: resuming from a held ID beyond ASCII fires no gap (the cursor header is UTF-8 bytes)', async (t) => {
  const hub = await startHub({ anonymous: true });
  t.after(() => hub.close());
  const token = await signDraft07({ publish: ['*'] });
  const id = 'ticket-✓-東京';
  assert.equal((await publish(hub, { topic: TOPIC, data: 'first', id }, token)).status, 200);
  assert.equal((await publish(hub, { topic: TOPIC, data: 'next' }, token)).status, 200);
  const es = source(t, `${hub.hubUrl}?topic=${encodeURIComponent(TOPIC)}`, {
    transport: 'sse',
    lastEventId: id,
  });
  const seen = record(es);
  await received(es, 'next');
  assert.deepEqual(seen.gaps, []);
  assert.deepEqual(
    seen.log.filter((e) => e.startsWith('message:')),
    ['message:next'],
  );
});
