import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { HeraldError } from '../../src/errors.js';
import { InvalidEventError } from '../../src/protocol/index.js';
import {
  createPublisher,
  InvalidPublishError,
  PublishConnectionError,
  PublishError,
  PublisherClosedError,
} from '../../src/publisher/index.js';

/** What the hub stand-in saw of one publish request. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: number;
}

type Answer = (req: Seen, res: ServerResponse) => void;

/** A node:http server answering like a Mercure hub's publish endpoint; counts TCP connections. */
async function startHub(
  t: TestContext,
  answer: Answer = (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('urn:uuid:generated');
  },
) {
  const seen: Seen[] = [];
  let connections = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const entry: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      socket: (req.socket as unknown as { herald_n: number }).herald_n,
    };
    seen.push(entry);
    answer(entry, res);
  });
  server.on('connection', (socket) => {
    (socket as unknown as { herald_n: number }).herald_n = ++connections;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/mercure`,
    seen,
    connections: () => connections,
  };
}

test('publish posts the Mercure form with the bearer token and resolves with the hub id', async (t) => {
  const hub = await startHub(t, (req, res) => {
    const form = new URLSearchParams(req.body);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(form.get('id') ?? 'urn:uuid:x');
  });
  const publisher = createPublisher({ hubUrl: hub.url, token: 'jwt.publisher.token' });
  t.after(() => publisher.close());

  const data = 'line 1\nline 2 & a=b%20 ✓ 🚀';
  const id = await publisher.publish({
    topics: ['https://example.com/books/1', 'https://example.com/books'],
    data,
    id: 'urn:uuid:42',
    type: 'book',
    retry: 2500,
    private: true,
  });
  assert.equal(id, 'urn:uuid:42');

  const [req] = hub.seen;
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/.well-known/mercure');
  assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
  assert.equal(req.headers.authorization, 'Bearer jwt.publisher.token');
  const form = new URLSearchParams(req.body);
  assert.deepEqual(form.getAll('topic'), ['https://example.com/books/1', 'https://example.com/books']);
  assert.equal(form.get('data'), data);
  assert.equal(form.get('private'), 'on');
  assert.equal(form.get('id'), 'urn:uuid:42');
  assert.equal(form.get('type'), 'book');
  assert.equal(form.get('retry'), '2500');
});

test('optional fields are absent from the form when not given; the hub id comes back', async (t) => {
  const hub = await startHub(t);
  const publisher = createPublisher({ hubUrl: hub.url, token: 't' });
  t.after(() => publisher.close());
  assert.equal(await publisher.publish({ topics: 'https://example.com/a' }), 'urn:uuid:generated');
  assert.equal(hub.seen[0].body, 'topic=https%3A%2F%2Fexample.com%2Fa');
});

test('getToken is called for every publish, so renewed tokens are used', async (t) => {
  const hub = await startHub(t);
  let n = 0;
  const publisher = createPublisher({ hubUrl: hub.url, getToken: async () => `token-${++n}` });
  t.after(() => publisher.close());
  await publisher.publish({ topics: 'a', data: '1' });
  await publisher.publish({ topics: 'a', data: '2' });
  assert.deepEqual(
    hub.seen.map((r) => r.headers.authorization),
    ['Bearer token-1', 'Bearer token-2'],
  );
});

test('keep-alive reuses connections; keepAlive: false opens one per publish with Connection: close', async (t) => {
  const hub = await startHub(t);
  const pooled = createPublisher({ hubUrl: hub.url, token: 't' });
  t.after(() => pooled.close());
  for (let i = 0; i < 10; i++) await pooled.publish({ topics: 'a', data: String(i) });
  // undici's pool may open a second socket while the first is being handed back, then reuses both.
  const kept = hub.connections();
  assert.ok(kept <= 2, `10 sequential publishes opened ${kept} connections`);
  assert.ok(hub.seen.every((r) => r.headers.connection !== 'close'));

  const perRequest = createPublisher({ hubUrl: hub.url, token: 't', keepAlive: false });
  t.after(() => perRequest.close());
  for (let i = 0; i < 5; i++) await perRequest.publish({ topics: 'a', data: String(i) });
  assert.equal(hub.connections(), kept + 5);
  const closing = hub.seen.slice(10);
  assert.deepEqual(
    closing.map((r) => r.headers.connection),
    ['close', 'close', 'close', 'close', 'close'],
  );
  assert.equal(new Set(closing.map((r) => r.socket)).size, 5);
});

test('concurrent publishes spread over at most `connections` sockets', async (t) => {
  const hub = await startHub(t);
  const publisher = createPublisher({ hubUrl: hub.url, token: 't', connections: 3 });
  t.after(() => publisher.close());
  const ids = await Promise.all(
    Array.from({ length: 30 }, (_, i) => publisher.publish({ topics: 'a', data: `${i}` })),
  );
  assert.equal(ids.length, 30);
  assert.ok(hub.connections() <= 3, `opened ${hub.connections()} connections`);
});

test('a refusal rejects with PublishError carrying the status and the hub message', async (t) => {
  const hub = await startHub(t, (req, res) => {
    if (req.headers.authorization === 'Bearer expired') {
      res
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer error="invalid_token"' })
        .end('Unauthorized\n');
      return;
    }
    res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden: no publish claim for topic a');
  });
  const forbidden = createPublisher({ hubUrl: hub.url, token: 'valid' });
  t.after(() => forbidden.close());
  const err = await forbidden.publish({ topics: 'a' }).then(
    () => assert.fail('publish should reject'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof PublishError);
  assert.ok(err instanceof HeraldError);
  assert.equal(err.code, 'HERALD_ERR_PUBLISH_REJECTED');
  assert.equal(err.status, 403);
  assert.equal(err.hubMessage, 'Forbidden: no publish claim for topic a');
  assert.match(err.message, /403/);
  assert.match(err.message, /no publish claim for topic a/);

  const expired = createPublisher({ hubUrl: hub.url, token: 'expired' });
  t.after(() => expired.close());
  await assert.rejects(expired.publish({ topics: 'a' }), (e: unknown) => {
    assert.ok(e instanceof PublishError);
    assert.equal(e.status, 401);
    assert.equal(e.wwwAuthenticate, 'Bearer error="invalid_token"');
    return true;
  });
});

test('an unreachable hub rejects with PublishConnectionError', async (t) => {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  const publisher = createPublisher({ hubUrl: `http://127.0.0.1:${port}/.well-known/mercure`, token: 't' });
  t.after(() => publisher.close());
  await assert.rejects(publisher.publish({ topics: 'a' }), (e: unknown) => {
    assert.ok(e instanceof PublishConnectionError);
    assert.equal(e.code, 'HERALD_ERR_PUBLISH_CONNECTION');
    return true;
  });
});

test('invalid updates and options throw at the call site, naming the field', async (t) => {
  const hub = await startHub(t);
  const publisher = createPublisher({ hubUrl: hub.url, token: 't' });
  t.after(() => publisher.close());
  assert.throws(() => publisher.publish({ topics: [] }), InvalidPublishError);
  assert.throws(() => publisher.publish({ topics: 'a', id: 'a\nb' }), InvalidEventError);
  assert.throws(() => publisher.publish({ topics: 'a', type: 'x\ry' }), InvalidEventError);
  assert.throws(() => publisher.publish({ topics: 'a', retry: -1 }), InvalidEventError);
  assert.throws(() => createPublisher({ hubUrl: 'not a url', token: 't' }), /hubUrl must be an absolute/);
  assert.throws(() => createPublisher({ hubUrl: 'ftp://x/', token: 't' }), /http: or https:/);
  assert.throws(() => createPublisher({ hubUrl: hub.url, connections: 0 }), /connections must be/);
  assert.throws(
    () => createPublisher({ hubUrl: hub.url, token: 't', getToken: () => 't' }),
    /token or getToken, not both/,
  );
  assert.equal(hub.seen.length, 0);
});

test('publish after close throws PublisherClosedError; close waits for publishes in flight', async (t) => {
  const hub = await startHub(t, (_req, res) => {
    setImmediate(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('late'));
  });
  const publisher = createPublisher({ hubUrl: hub.url, token: 't' });
  const inFlight = publisher.publish({ topics: 'a' });
  await publisher.close();
  assert.equal(await inFlight, 'late');
  assert.throws(() => publisher.publish({ topics: 'a' }), PublisherClosedError);
  await publisher.close();
});

test('a publish can be abandoned with a signal, and one the hub never answers times out', async (t) => {
  let arrived: () => void = () => {};
  const held: ServerResponse[] = [];
  const hub = await startHub(t, (_req, res) => {
    held.push(res);
    arrived();
  });
  const publisher = createPublisher({ hubUrl: hub.url, token: 't', timeoutMs: 200 });
  t.after(() => publisher.close());

  const controller = new AbortController();
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const abandoned = publisher.publish({ topics: 'a' }, { signal: controller.signal });
  await reached;
  controller.abort(new Error('user went away'));
  await assert.rejects(abandoned, /user went away/);

  await assert.rejects(publisher.publish({ topics: 'a' }), (e: unknown) => {
    assert.ok(e instanceof PublishConnectionError);
    assert.match(e.message, /got no answer/);
    return true;
  });
  for (const res of held) res.destroy();
});
