import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { publish, sign10, signDraft07, startHub, subscribeUrl, type TestHub } from '../../support/hub.js';
import { retryUntil } from '../../support/retry.js';
import { mustOpenSocket, openSocket, type RefusedSocket, withQuery } from '../../support/transports.js';

function refused(s: Awaited<ReturnType<typeof openSocket>>): RefusedSocket {
  assert.ok(!('ws' in s), 'the upgrade should have been refused');
  return s;
}

/** Sends raw bytes and returns the whole answer (the server closes after an error response). */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (out += c));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

describe('WebSocket subscribers (Upgrade on /.well-known/mercure)', () => {
  let hub: TestHub;
  let pub: string;
  before(async () => {
    hub = await startHub({ anonymous: true, subscriptions: true, corsOrigins: ['https://app.example'] });
    pub = await signDraft07({ publish: ['*'] });
  });
  after(() => hub.close());

  test('each update is one text frame {id,type?,data,retry?}, after an opening frame with the cursor', async () => {
    const s = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/a']]));
    const opening = await s.opening;
    assert.equal(opening.herald, 'open');
    assert.equal(typeof opening.lastEventID, 'string');
    await publish(hub, { topic: 'ws/a', data: 'plain', id: 'ws-a-1' }, pub);
    await publish(
      hub,
      { topic: 'ws/a', data: 'line1\nline2', id: 'ws-a-2', type: 'price', retry: '2500' },
      pub,
    );
    assert.deepEqual(await s.next(), { id: 'ws-a-1', data: 'plain' });
    assert.deepEqual(await s.next(), { id: 'ws-a-2', type: 'price', data: 'line1\nline2', retry: 2500 });
    s.close();
  });

  test('history and resume: lastEventID replays what followed, and the 101 carries the cursor', async () => {
    for (const n of [1, 2, 3]) await publish(hub, { topic: 'ws/h', data: `h${n}`, id: `ws-h-${n}` }, pub);
    const s = await mustOpenSocket(
      withQuery(subscribeUrl(hub, [['topic', 'ws/h']]), [['lastEventID', 'ws-h-1']]),
    );
    assert.equal(s.headers['last-event-id'], 'ws-h-1');
    assert.deepEqual(await s.opening, { herald: 'open', lastEventID: 'ws-h-1' });
    assert.equal((await s.next()).id, 'ws-h-2');
    assert.equal((await s.next()).id, 'ws-h-3');
    s.close();
    const unknown = await mustOpenSocket(
      withQuery(subscribeUrl(hub, [['match', 'ws/h']]), [['last_event_id', 'never-published']]),
    );
    const opening = await unknown.opening;
    assert.deepEqual(opening, { herald: 'open', lastEventID: 'earliest', resumed: false });
    assert.equal(unknown.headers['mercure-last-event-id'], 'earliest');
    // What the hub still holds for the topic, as `earliest` would send.
    assert.equal((await unknown.next()).id, 'ws-h-1');
    unknown.close();
  });

  test('private updates reach only tokens that grant them, from header, cookie or query', async () => {
    const grant = await signDraft07({ subscribe: ['ws/p'] });
    const viaHeader = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/p']]), {
      authorization: `Bearer ${grant}`,
    });
    const viaCookie = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/p']]), {
      cookie: `mercureAuthorization=${grant}`,
    });
    const viaQuery = await mustOpenSocket(
      withQuery(subscribeUrl(hub, [['topic', 'ws/p']]), [['authorization', grant]]),
    );
    const anonymous = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/p']]));
    await publish(hub, { topic: 'ws/p', data: 'secret', private: 'on', id: 'ws-p-1' }, pub);
    await publish(hub, { topic: 'ws/p', data: 'public', id: 'ws-p-2' }, pub);
    for (const s of [viaHeader, viaCookie, viaQuery]) {
      assert.equal((await s.next()).data, 'secret');
      assert.equal((await s.next()).data, 'public');
    }
    assert.equal((await anonymous.next()).data, 'public');
    assert.deepEqual(
      anonymous.updates.map((u) => u.id),
      ['ws-p-2'],
    );
    for (const s of [viaHeader, viaCookie, viaQuery, anonymous]) s.close();
  });

  test('subscription events and the subscriptions API list WebSocket subscribers', async () => {
    const watcher = await mustOpenSocket(
      subscribeUrl(hub, [['topic', '/.well-known/mercure/subscriptions{/topic}{/subscriber}']]),
      {
        authorization: `Bearer ${await signDraft07({ subscribe: ['*'] })}`,
      },
    );
    const s = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/listed']]));
    type Doc = { topic: string; active: boolean; id: string };
    // The watcher's own subscription is announced first.
    let event: Doc;
    do event = JSON.parse((await watcher.next()).data) as Doc;
    while (event.topic !== 'ws/listed');
    assert.equal(event.active, true);
    const list = await fetch(`${hub.hubUrl}/subscriptions`, {
      headers: { authorization: `Bearer ${await signDraft07({ subscribe: ['*'] })}` },
    });
    const doc = (await list.json()) as { subscriptions: { id: string }[] };
    assert.ok(doc.subscriptions.some((x) => x.id === event.id));
    s.close();
    const left = JSON.parse((await watcher.next()).data) as Doc;
    assert.equal(left.id, event.id);
    assert.equal(left.active, false);
    watcher.close();
  });

  test('a client message closes with 1003, a big frame with 1009, each with a reason; others go on', async () => {
    const bystander = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/bad']]));
    const talker = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/bad']]));
    talker.ws.send('hello');
    const t = await talker.closed;
    assert.equal(t.code, 1003);
    assert.match(t.reason, /subscribe-only/);
    const binary = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/bad']]));
    binary.ws.send(Buffer.from([1, 2, 3]));
    assert.equal((await binary.closed).code, 1003);
    const big = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/bad']]));
    big.ws.send(Buffer.alloc(64 * 1024));
    const b = await big.closed;
    assert.equal(b.code, 1009);
    assert.match(b.reason, /frame over 1024 bytes/);
    await publish(hub, { topic: 'ws/bad', data: 'still here', id: 'ws-bad-1' }, pub);
    assert.equal((await bystander.next()).data, 'still here');
    bystander.close();
  });

  test('refused before the upgrade, with a status and a message naming the rule', async () => {
    assert.equal(refused(await openSocket(`${hub.origin}/elsewhere?topic=x`)).status, 404);
    const none = refused(await openSocket(hub.hubUrl));
    assert.equal(none.status, 400);
    assert.match(none.body, /at least one "topic"/);
    const unknown = refused(
      await openSocket(withQuery(subscribeUrl(hub, [['topic', 'x']]), [['transport', 'carrier-pigeon']])),
    );
    assert.equal(unknown.status, 400);
    assert.match(unknown.body, /unknown transport "carrier-pigeon"/);
    const badToken = refused(
      await openSocket(subscribeUrl(hub, [['topic', 'x']]), { authorization: 'Bearer nope' }),
    );
    assert.equal(badToken.status, 401);
    assert.match(String(badToken.headers['www-authenticate']), /^Bearer/);
  });

  test('malformed handshakes get 400 (key, version) or 405 (method) from ws', async () => {
    const port = Number(new URL(hub.origin).port);
    const path = '/.well-known/mercure?topic=x';
    const noKey = await rawRequest(
      port,
      `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    assert.match(noKey, /^HTTP\/1\.1 400 /);
    assert.match(noKey, /Sec-WebSocket-Key/);
    const badVersion = await rawRequest(
      port,
      `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n`,
    );
    assert.match(badVersion, /^HTTP\/1\.1 400 /);
    assert.match(badVersion, /Sec-WebSocket-Version/);
    const post = await rawRequest(
      port,
      `POST ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n`,
    );
    assert.match(post, /^HTTP\/1\.1 405 /);
  });

  test('a plain GET asking transport=ws gets 426', async () => {
    const res = await fetch(withQuery(subscribeUrl(hub, [['topic', 'x']]), [['transport', 'ws']]));
    assert.equal(res.status, 426);
    assert.equal(res.headers.get('upgrade'), 'websocket');
    await res.text();
  });

  test('origins: a foreign one is refused (403) before the upgrade; own and listed origins pass', async () => {
    const grant = await signDraft07({ subscribe: ['ws/o'] });
    const cookie = { cookie: `mercureAuthorization=${grant}` };
    const foreign = refused(
      await openSocket(subscribeUrl(hub, [['topic', 'ws/o']]), { origin: 'https://evil.example', ...cookie }),
    );
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /origin "https:\/\/evil.example" is not allowed/);
    const own = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/o']]), {
      origin: hub.origin,
      ...cookie,
    });
    const listed = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/o']]), {
      origin: 'https://app.example',
      ...cookie,
    });
    await publish(hub, { topic: 'ws/o', data: 'for cookie holders', private: 'on', id: 'ws-o-1' }, pub);
    assert.equal((await own.next()).data, 'for cookie holders');
    assert.equal((await listed.next()).data, 'for cookie holders');
    own.close();
    listed.close();
  });

  test('a client that never reads is closed as a slow consumer; the others get everything', async () => {
    const slowHub = await startHub({ anonymous: true, maxQueuedBytes: 64 * 1024 });
    try {
      const reader = await mustOpenSocket(subscribeUrl(slowHub, [['topic', 'ws/slow']]));
      // A raw client that completes the handshake and then never reads its socket.
      const port = Number(new URL(slowHub.origin).port);
      const stuck = net.connect(port, '127.0.0.1');
      await new Promise((r) => stuck.once('connect', r));
      stuck.write(
        'GET /.well-known/mercure?topic=ws/slow HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      await new Promise((r) => stuck.once('data', r));
      stuck.pause();
      const stuckClosed = new Promise((r) => stuck.once('close', r));
      const data = 'x'.repeat(16 * 1024);
      let sent = 0;
      while (slowHub.hub.metrics.transports.ws.dropped === 0) {
        await slowHub.hub.publish({ topics: ['ws/slow'], data, id: `ws-slow-${sent++}` });
        // A turn of the event loop: streams flush and the reading client reads.
        await new Promise((r) => setImmediate(r));
        assert.ok(sent < 5000, 'the stuck client was never dropped');
      }
      for (let i = 0; i < sent; i++) assert.equal((await reader.next()).id, `ws-slow-${i}`);
      stuck.destroy();
      await stuckClosed;
      assert.equal(slowHub.hub.metrics.slowClientsDropped, 1);
      reader.close();
    } finally {
      await slowHub.close();
    }
  });

  test('a client that stops answering pings is closed; one that answers stays', async () => {
    const quick = await startHub({ anonymous: true, heartbeatMs: 50 });
    try {
      const deaf = new WebSocket(subscribeUrl(quick, [['topic', 'ws/ping']]).replace('http', 'ws'), {
        autoPong: false,
      });
      const closed = new Promise<number>((r) => deaf.once('close', (code) => r(code)));
      deaf.on('error', () => {});
      const alive = await mustOpenSocket(subscribeUrl(quick, [['topic', 'ws/ping']]));
      let pings = 0;
      alive.ws.on('ping', () => pings++);
      await closed;
      // The deaf client went; the one that pongs still gets updates.
      await quick.hub.publish({ topics: ['ws/ping'], data: 'alive', id: 'ws-ping-1' });
      assert.equal((await alive.next()).data, 'alive');
      assert.ok(pings >= 1);
      alive.close();
    } finally {
      await quick.close();
    }
  });

  test('a token that expires closes the socket with 1000 and a reason', async () => {
    const token = await sign10([{ actions: ['subscribe'], topics: [{ match: 'ws/exp' }] }], {
      exp: Math.floor(Date.now() / 1000) + 1,
    });
    const s = await mustOpenSocket(subscribeUrl(hub, [['match', 'ws/exp']]), {
      authorization: `Bearer ${token}`,
    });
    const closed = await s.closed;
    assert.equal(closed.code, 1000);
    assert.match(closed.reason, /subscription expired/);
  });

  test('hub.close() ends WebSocket subscribers with 1012', async () => {
    const other = await startHub({ anonymous: true });
    const s = await mustOpenSocket(subscribeUrl(other, [['topic', 'ws/bye']]));
    await other.close();
    const closed = await s.closed;
    assert.equal(closed.code, 1012);
    assert.match(closed.reason, /hub shutting down/);
  });
});

test('past maxConnectionsPerAddress an upgrade gets 429 with Retry-After; a closed socket frees its place', async (t) => {
  const hub = await startHub({ anonymous: true, maxConnectionsPerAddress: 2 });
  t.after(() => hub.close());
  const url = subscribeUrl(hub, [['topic', 'ws/limit']]);
  const first = await mustOpenSocket(url);
  const second = await mustOpenSocket(url);
  const third = refused(await openSocket(url));
  assert.equal(third.status, 429);
  assert.equal(third.headers['retry-after'], '1');
  assert.match(third.body, /maxConnectionsPerAddress/);
  // An event stream from the same address is counted with them.
  const sse = await fetch(url);
  assert.equal(sse.status, 429);
  await sse.text();
  first.close();
  await first.closed;
  // The hub sees the close a moment after the client: retry until the place is free.
  const again = await retryUntil(async () => {
    const s = await openSocket(url);
    return 'ws' in s ? s : undefined;
  }, 'a place freed by the closed socket');
  await hub.hub.publish({ topics: ['ws/limit'], data: 'in', id: 'ws-limit-1' });
  assert.equal((await again.next()).data, 'in');
  assert.equal((await second.next()).data, 'in');
  again.close();
  second.close();
});

describe('WebSocket origin rules under corsOrigins *', () => {
  test('any origin may connect, but its cookie does not authorize', async () => {
    const hub = await startHub({ anonymous: true, corsOrigins: ['*'] });
    try {
      const pub = await signDraft07({ publish: ['*'] });
      const grant = await signDraft07({ subscribe: ['ws/star'] });
      const s = await mustOpenSocket(subscribeUrl(hub, [['topic', 'ws/star']]), {
        origin: 'https://anyone.example',
        cookie: `mercureAuthorization=${grant}`,
      });
      await publish(hub, { topic: 'ws/star', data: 'private', private: 'on', id: 'star-1' }, pub);
      await publish(hub, { topic: 'ws/star', data: 'public', id: 'star-2' }, pub);
      assert.equal((await s.next()).id, 'star-2');
      s.close();
    } finally {
      await hub.close();
    }
  });
});
