import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createHub, type Hub } from '../../../src/hub/index.js';
import { openStream, signDraft07, TEST_AUDIENCE, TEST_ISSUER, TEST_KEY } from '../../support/hub.js';
import { bounded } from '../../support/retry.js';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One raw keep-alive connection: write bytes, read answers in order. */
async function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let buffer = '';
  const answers: Answer[] = [];
  let wake: (() => void) | undefined;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) break;
      const [statusLine, ...lines] = buffer.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (buffer.length < end + 4 + length) break;
      answers.push({
        status: Number(statusLine!.split(' ')[1]),
        headers,
        body: Buffer.from(buffer.slice(end + 4, end + 4 + length), 'latin1').toString('utf8'),
      });
      buffer = buffer.slice(end + 4 + length);
    }
    wake?.();
  });
  return {
    socket,
    write: (text: string) => socket.write(text),
    /** Resolves once `count` answers arrived in all (rejects if the connection closes first). */
    answers(count: number): Promise<Answer[]> {
      const wait = async () => {
        while (answers.length < count) {
          if (socket.destroyed || socket.readableEnded)
            throw new Error(`closed after ${answers.length} answers`);
          await new Promise<void>((resolve) => {
            wake = resolve;
            socket.once('close', resolve);
          });
        }
        return answers.slice(0, count);
      };
      return bounded(wait(), () => `${count} answers (${answers.length} so far)`);
    },
  };
}

function publishRequest(body: string, token: string, type = 'application/x-www-form-urlencoded'): string {
  return (
    `POST /.well-known/mercure HTTP/1.1\r\nHost: hub\r\nContent-Type: ${type}\r\n` +
    `Authorization: Bearer ${token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

describe('keep-alive publishers read without node:http (servePublishConnections)', () => {
  let hub: Hub;
  let server: http.Server;
  let port: number;
  let token: string;
  /** Requests node:http handled: the ones handed back. */
  let viaNode = 0;
  before(async () => {
    hub = createHub({
      jwt: { key: TEST_KEY },
      audience: TEST_AUDIENCE,
      issuer: TEST_ISSUER,
      anonymous: true,
    });
    server = http.createServer((req, res) => {
      viaNode++;
      hub.handle(req, res);
    });
    assert.equal(hub.servePublishConnections(server), true);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    token = await signDraft07({ publish: ['*'] });
  });
  after(async () => {
    await hub.close();
    server.closeAllConnections();
    server.close();
  });

  test('pipelined publishes on one connection: answered in order with their IDs, delivered, no node:http', async () => {
    const sub = await openStream(`http://127.0.0.1:${port}/.well-known/mercure?topic=https://example.com/k`);
    const before = viaNode;
    const conn = await connect(port);
    conn.write(
      publishRequest('topic=https://example.com/k&data=one&id=k-1', token) +
        publishRequest('topic=https://example.com/k&data=two', token) +
        publishRequest(
          JSON.stringify([{ topic: 'https://example.com/k', data: 'three' }]),
          token,
          'application/json',
        ),
    );
    const [a, b, c] = await conn.answers(3);
    assert.deepEqual([a!.status, a!.body], [200, 'k-1']);
    assert.equal(a!.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(a!.headers['cache-control'], 'no-store');
    assert.equal(b!.status, 200);
    assert.match(b!.body, /^urn:uuid:/);
    assert.equal(c!.status, 200);
    assert.equal(c!.headers['content-type'], 'application/json');
    const [third] = JSON.parse(c!.body) as string[];
    assert.deepEqual(
      [await sub.next(), await sub.next(), await sub.next()].map((e) => [e.data, e.lastEventId]),
      [
        ['one', 'k-1'],
        ['two', b!.body],
        ['three', third],
      ],
    );
    assert.equal(viaNode, before, 'node:http saw none of them');
    conn.socket.destroy();
    sub.close();
  });

  test('a request it does not take goes to node:http on the same connection, bytes intact', async () => {
    const conn = await connect(port);
    const before = viaNode;
    conn.write(
      publishRequest('topic=t&data=fast', token) +
        'GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n' +
        publishRequest('topic=t&data=after', token),
    );
    const [first, health, last] = await conn.answers(3);
    assert.equal(first!.status, 200);
    assert.deepEqual([health!.status, health!.body], [200, 'ok\n']);
    assert.equal(last!.status, 200);
    // From the GET on, node:http holds the connection.
    assert.equal(viaNode, before + 2);
    conn.socket.destroy();
  });

  test('a refused publish gets node:http answer (401 with its challenge), and the connection goes on', async () => {
    const conn = await connect(port);
    conn.write(publishRequest('topic=t&data=x', 'not-a-token') + publishRequest('topic=t&data=y', token));
    const [refused, ok] = await conn.answers(2);
    assert.equal(refused!.status, 401);
    assert.match(refused!.headers['www-authenticate']!, /^Bearer/);
    assert.equal(ok!.status, 200);
    conn.socket.destroy();
  });

  test('a refused batch stores nothing; a chunked body goes to node:http and works', async () => {
    const { updates: before } = await hub.store.after('earliest', 10_000);
    const conn = await connect(port);
    conn.write(
      publishRequest(JSON.stringify([{ topic: 'ok', data: '1' }, { topic: '*' }]), token, 'application/json'),
    );
    const [refused] = await conn.answers(1);
    assert.equal(refused!.status, 400);
    assert.equal(refused!.headers['herald-batch-index'], '1');
    assert.deepEqual((await hub.store.after('earliest', 10_000)).updates, before);
    const body = 'topic=t&data=chunked';
    conn.write(
      'POST /.well-known/mercure HTTP/1.1\r\nHost: hub\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
        `Authorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
    const [, chunked] = await conn.answers(2);
    assert.equal(chunked!.status, 200);
    conn.socket.destroy();
  });

  test('a store refusal is answered here: 409 for an ID already kept, counted', async () => {
    const published = hub.metrics.published;
    const rejected = hub.metrics.publishRejected;
    const conn = await connect(port);
    conn.write(publishRequest('topic=t&id=dup-fast', token) + publishRequest('topic=t&id=dup-fast', token));
    const [first, second] = await conn.answers(2);
    assert.equal(first!.status, 200);
    assert.equal(second!.status, 409);
    assert.match(second!.body, /unique/);
    assert.deepEqual(
      [hub.metrics.published - published, hub.metrics.publishRejected - rejected],
      [1, 1],
      'one published, one refused',
    );
    conn.socket.destroy();
  });

  test('a token taken at once while valid is refused once it expires (401 from node:http), on the same connection', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const exp = Math.floor(Date.now() / 1000) + 60;
    const expiring = await signDraft07({ publish: ['*'] }, { exp });
    const conn = await connect(port);
    // The first is verified, the second is served from the verified-token cache in the turn it
    // arrived: both before exp.
    conn.write(publishRequest('topic=t&data=1', expiring) + publishRequest('topic=t&data=2', expiring));
    const [one, two] = await conn.answers(2);
    assert.deepEqual([one!.status, two!.status], [200, 200]);
    // The Date header is the clock's, read once with the update's time.
    assert.equal(two!.headers.date, new Date().toUTCString());
    const stored = await hub.store.after('earliest', 10_000);
    assert.equal(stored.updates.find((u) => u.data === '2')?.time, Date.now());
    const before = viaNode;
    t.mock.timers.setTime((exp + 10) * 1000); // past exp and the 5 s clock tolerance
    conn.write(publishRequest('topic=t&data=3', expiring));
    const [, , late] = await conn.answers(3);
    assert.equal(late!.status, 401);
    assert.match(late!.headers['www-authenticate']!, /invalid_token/);
    assert.equal(viaNode, before + 1, 'refused by node:http, with its challenge');
    const { updates } = await hub.store.after('earliest', 10_000);
    assert.equal(
      updates.some((u) => u.data === '3'),
      false,
      'nothing of the refused publish is stored',
    );
    conn.socket.destroy();
  });

  test('header names are read in any case; a header it does not know, or a bare LF, goes to node:http', async () => {
    const body = 'topic=t&data=case';
    const shouted =
      `POST /.well-known/mercure HTTP/1.1\r\nHOST: hub\r\ncontent-TYPE: application/x-www-form-urlencoded\r\n` +
      `AUTHORIZATION:   Bearer ${token}  \r\nContent-length: ${body.length}\r\nCONNECTION: Keep-Alive\r\n\r\n${body}`;
    const before = viaNode;
    const conn = await connect(port);
    conn.write(shouted);
    const [taken] = await conn.answers(1);
    assert.equal(taken!.status, 200);
    assert.equal(viaNode, before, 'read here');
    // A cookie brings CSRF rules: node:http's path decides, and answers.
    conn.write(shouted.replace('HOST: hub', 'Host: hub\r\nCookie: a=b'));
    const [, cookie] = await conn.answers(2);
    assert.equal(cookie!.status, 200);
    assert.equal(viaNode, before + 1, 'node:http took the request with a cookie');
    conn.socket.destroy();

    const bare = await connect(port);
    bare.write(shouted.replace('HOST: hub\r\n', 'Host: hub\nX: y\r\n'));
    const [refused] = await bare.answers(1);
    assert.equal(refused!.status, 400, "node:http's own answer to a bare LF");
    bare.socket.destroy();
  });

  test('Connection: close is answered here, then the connection ends; a request pipelined after it is not read', async () => {
    const before = viaNode;
    const published = hub.metrics.published;
    const conn = await connect(port);
    const ended = once(conn.socket, 'end');
    const closing = (body: string, bearer = token) =>
      publishRequest(body, bearer).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n');
    conn.write(closing('topic=t&data=last-one') + publishRequest('topic=t&data=after-close', token));
    const [answer] = await conn.answers(1);
    assert.equal(answer!.status, 200);
    assert.match(answer!.body, /^urn:uuid:/);
    assert.equal(answer!.headers.connection, 'close');
    assert.equal(answer!.headers['keep-alive'], undefined);
    await bounded(ended, () => 'the hub to end the connection');
    assert.equal(viaNode, before, 'node:http saw none of it');
    assert.equal(hub.metrics.published - published, 1, 'the pipelined request was not served');
    const { updates } = await hub.store.after('earliest', 10_000);
    assert.equal(updates.filter((u) => u.data === 'after-close').length, 0);
    conn.socket.destroy();

    // A token not verified yet: the publish waits for the verification, and still closes.
    const fresh = await signDraft07({ publish: ['*'], subscribe: ['fresh'] });
    const second = await connect(port);
    const secondEnded = once(second.socket, 'end');
    second.write(closing('topic=t&data=fresh', fresh));
    const [freshAnswer] = await second.answers(1);
    assert.deepEqual([freshAnswer!.status, freshAnswer!.headers.connection], [200, 'close']);
    await bounded(secondEnded, () => 'the hub to end the second connection');
    assert.equal(viaNode, before, 'node:http saw none of it');
    second.socket.destroy();
  });

  test('a request split over many packets is put together', async () => {
    const conn = await connect(port);
    const request = publishRequest('topic=t&data=split', token);
    for (let i = 0; i < request.length; i += 7) {
      conn.write(request.slice(i, i + 7));
      await new Promise((r) => setImmediate(r));
    }
    const [answer] = await conn.answers(1);
    assert.equal(answer!.status, 200);
    conn.socket.destroy();
  });
});
