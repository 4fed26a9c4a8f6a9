/**
 * The hub's wire meter (what /why-sse.html divides by updates): per transport, every byte on the
 * subscriber sockets, both ways. Each test holds the other end of those sockets, so the hub's count
 * must equal what the client's own socket counted, to the byte: request heads, response heads,
 * framing, and for long polling every request on a keep-alive connection, but not a request of
 * another kind on that same connection.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { eventually } from '../../server/helpers.js';
import { startHub, subscribeUrl, type TestHub } from '../../support/hub.js';

/** Both directions of a client socket, as its own counters have them. */
const clientBytes = (socket: net.Socket) => socket.bytesRead + socket.bytesWritten;

/** A raw HTTP/1.1 client on one keep-alive connection, its bytes read kept as text. */
async function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.setEncoding('latin1');
  let text = '';
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  return {
    socket,
    text: () => text,
    get: (path: string) => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n`),
  };
}

/** The number of complete responses with a Content-Length in `text`. */
function completeResponses(text: string): number {
  let count = 0;
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end === -1) return count;
    const length = Number(/^content-length: (\d+)$/im.exec(text.slice(at, end))?.[1]);
    assert.ok(Number.isInteger(length), `a Content-Length in ${text.slice(at, end)}`);
    if (text.length < end + 4 + length) return count;
    count++;
    at = end + 4 + length;
  }
}

describe('wire meter', () => {
  let hub: TestHub;
  let port: number;
  before(async () => {
    hub = await startHub({ anonymous: true });
    hub.hub.metrics.wire.enabled = true;
    port = Number(new URL(hub.origin).port);
  });
  after(() => hub.close());
  const totals = () => hub.hub.metrics.wire.totals();
  const path = (topic: string, extra = '') =>
    `/.well-known/mercure?topic=${encodeURIComponent(topic)}${extra}`;

  test('SSE: open and after its end, the hub counts what the client socket counts, both ways', async () => {
    const before = totals().sse;
    const client = await rawClient(port);
    client.get(path('wire/sse'));
    await eventually(() => client.text().includes('\r\n\r\n'), 'the response head');
    await eventually(() => hub.hub.subscriberCount > 0, 'the subscriber registered');
    for (let i = 0; i < 3; i++) await hub.hub.publish({ topics: ['wire/sse'], data: `update ${i}` });
    await eventually(() => client.text().includes('update 2'), 'three updates');
    await eventually(() => totals().sse - before === clientBytes(client.socket), 'the open count');
    client.socket.destroy();
    await once(client.socket, 'close');
    await eventually(() => hub.hub.subscriberCount === 0, 'the subscriber gone');
    assert.equal(totals().sse - before, clientBytes(client.socket));
  });

  test('long polling: every request and answer on a keep-alive connection, not the other requests on it', async () => {
    const before = totals().poll;
    await hub.hub.publish({ topics: ['wire/poll'], data: 'first', id: 'wire-poll-1' });
    const client = await rawClient(port);
    client.get(path('wire/poll', '&transport=poll&lastEventID=earliest'));
    await eventually(() => completeResponses(client.text()) === 1, 'the first answer');
    // Another request on the same connection: no subscriber, so not counted.
    const beforeHealth = clientBytes(client.socket);
    client.get('/healthz');
    await eventually(() => completeResponses(client.text()) === 2, 'the health answer');
    const health = clientBytes(client.socket) - beforeHealth;
    client.get(path('wire/poll', '&transport=poll&lastEventID=wire-poll-1'));
    await eventually(() => hub.hub.subscriberCount > 0, 'the second poll waiting');
    await hub.hub.publish({ topics: ['wire/poll'], data: 'second', id: 'wire-poll-2' });
    await eventually(() => completeResponses(client.text()) === 3, 'the second answer');
    await eventually(() => hub.hub.subscriberCount === 0, 'the poll answered');
    assert.match(client.text(), /"second"/);
    assert.ok(health > 0);
    assert.equal(totals().poll - before, clientBytes(client.socket) - health);
    client.socket.destroy();
  });

  test('WebSocket: the upgrade, frames both ways and the close handshake', async () => {
    const before = totals().ws;
    const ws = new WebSocket(subscribeUrl(hub, [['topic', 'wire/ws']]).replace(/^http/, 'ws'));
    const messages: string[] = [];
    ws.on('message', (data) => messages.push(data.toString()));
    await once(ws, 'open');
    const socket = (ws as unknown as { _socket: net.Socket })._socket;
    await eventually(() => hub.hub.subscriberCount > 0, 'the subscriber registered');
    for (let i = 0; i < 3; i++) await hub.hub.publish({ topics: ['wire/ws'], data: `update ${i}` });
    await eventually(() => messages.length >= 4, 'the opening frame and three updates');
    ws.ping(); // a frame from the client: bytes read, counted too
    await once(ws, 'pong');
    await eventually(() => totals().ws - before === clientBytes(socket), 'the open count');
    ws.close();
    await once(ws, 'close');
    await eventually(() => hub.hub.metrics.wire.openCount === 0, 'the socket closed on the hub');
    assert.equal(totals().ws - before, clientBytes(socket));
  });

  test('off by default: a hub that did not turn it on counts nothing', async (t) => {
    const plain = await startHub({ anonymous: true });
    t.after(() => plain.close());
    const client = await rawClient(Number(new URL(plain.origin).port));
    client.get(path('wire/off'));
    await eventually(() => client.text().includes('\r\n\r\n'), 'the response head');
    assert.deepEqual(plain.hub.metrics.wire.totals(), { sse: 0, ws: 0, poll: 0 });
    assert.equal(plain.hub.metrics.wire.openCount, 0);
    client.socket.destroy();
  });
});
