import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { createPublisher, InvalidPublishError, PublishError } from '../../src/publisher/index.js';
import { eventually } from '../server/helpers.js';
import { openStream, signDraft07, startHub, subscribeUrl } from '../support/hub.js';

/** A stand-in hub that answers batches with made-up IDs; `hold` delays answers until released. */
async function standIn(t: TestContext) {
  const bodies: { items: Record<string, unknown>[]; socket: number; type: string | undefined }[] = [];
  let sockets = 0;
  const held: (() => void)[] = [];
  let holding = false;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const items = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>[];
    bodies.push({
      items,
      socket: (req.socket as unknown as { n: number }).n,
      type: req.headers['content-type'],
    });
    const answer = () =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify(
            items.map((item, i) => (item.id as string | undefined) ?? `gen-${bodies.length}-${i}`),
          ),
        );
    if (holding) held.push(answer);
    else answer();
  });
  server.on('connection', (socket) => {
    (socket as unknown as { n: number }).n = ++sockets;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/mercure`,
    bodies,
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const answer of held.splice(0)) answer();
    },
  };
}

test('batch: publishes leave in JSON batches of at most maxUpdates, each resolving with its own ID', async (t) => {
  const hub = await standIn(t);
  const publisher = createPublisher({
    hubUrl: hub.url,
    token: 't',
    batch: { maxUpdates: 3, maxDelayMs: 10 },
  });
  t.after(() => publisher.close());
  const ids = await Promise.all(
    Array.from({ length: 7 }, (_, i) =>
      publisher.publish({
        topics: ['https://example.com/a', 'https://example.com/b'],
        data: String(i),
        id: `id-${i}`,
      }),
    ),
  );
  assert.deepEqual(ids, ['id-0', 'id-1', 'id-2', 'id-3', 'id-4', 'id-5', 'id-6']);
  // Two full batches at once; the seventh leaves on the delay bound. Batches travel on several
  // connections, so they may reach the hub in any order.
  assert.deepEqual(hub.bodies.map((b) => b.items.length).sort(), [1, 3, 3]);
  const first = hub.bodies.find((b) => b.items.some((item) => item.id === 'id-0'))!;
  assert.equal(first.type, 'application/json');
  assert.deepEqual(first.items[0], {
    topic: ['https://example.com/a', 'https://example.com/b'],
    data: '0',
    id: 'id-0',
  });
});

test('batch: the byte bound splits batches before the body would pass maxBytes', async (t) => {
  const hub = await standIn(t);
  const publisher = createPublisher({
    hubUrl: hub.url,
    token: 't',
    batch: { maxBytes: 200, maxDelayMs: 10 },
  });
  t.after(() => publisher.close());
  await Promise.all(
    Array.from({ length: 6 }, () => publisher.publish({ topics: 'a', data: 'x'.repeat(60) })),
  );
  assert.ok(hub.bodies.length >= 3, `${hub.bodies.length} batches`);
  for (const body of hub.bodies)
    assert.ok(JSON.stringify(body.items).length <= 200, JSON.stringify(body.items));
  assert.equal(
    hub.bodies.reduce((n, b) => n + b.items.length, 0),
    6,
  );
});

test('batch: batches are pipelined on one keep-alive connection', async (t) => {
  const hub = await standIn(t);
  const publisher = createPublisher({
    hubUrl: hub.url,
    token: 't',
    connections: 1,
    batch: { maxUpdates: 1 },
  });
  t.after(() => publisher.close());
  hub.hold();
  const published = [0, 1, 2].map((i) => publisher.publish({ topics: 'a', data: String(i) }));
  // All three requests reach the hub on one socket before it answers the first.
  await eventually(() => hub.bodies.length === 3, 'three pipelined requests at the hub');
  assert.equal(new Set(hub.bodies.map((b) => b.socket)).size, 1);
  hub.release();
  assert.equal((await Promise.all(published)).length, 3);
});

test('batch: close() sends what waits before closing', async (t) => {
  const hub = await standIn(t);
  const publisher = createPublisher({ hubUrl: hub.url, token: 't', batch: { maxDelayMs: 60_000 } });
  const published = publisher.publish({ topics: 'a', data: 'last' });
  await publisher.close();
  assert.match(await published, /^gen-/);
  assert.equal(hub.bodies.length, 1);
});

test('batch: bounds are checked at construction', () => {
  for (const batch of [{ maxUpdates: 0 }, { maxBytes: -1 }, { maxDelayMs: 1.5 }]) {
    assert.throws(
      () => createPublisher({ hubUrl: 'http://127.0.0.1:1/.well-known/mercure', batch }),
      (e: unknown) => e instanceof InvalidPublishError && e.field.startsWith('batch.'),
    );
  }
  assert.throws(
    () => createPublisher({ hubUrl: 'http://127.0.0.1:1/.well-known/mercure', pipelining: 0 }),
    InvalidPublishError,
  );
});

test('batch against the Herald hub: every update delivered in order; a refused one fails alone', async (t) => {
  const hub = await startHub({ anonymous: true });
  t.after(() => hub.close());
  const sub = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/n/{n}']]));
  t.after(() => sub.close());
  const publisher = createPublisher({
    hubUrl: hub.hubUrl,
    token: await signDraft07({ publish: ['*'] }),
    batch: { maxUpdates: 25, maxDelayMs: 5 },
  });
  t.after(() => publisher.close());
  const outcomes = await Promise.allSettled(
    Array.from({ length: 60 }, (_, i) =>
      // Update 30 addresses the hub's namespace: the hub refuses it, and it alone.
      publisher.publish({
        topics: i === 30 ? '/.well-known/mercure/x' : `https://example.com/n/${i}`,
        data: String(i),
      }),
    ),
  );
  const refused = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [[i, o.reason]] : []));
  assert.equal(refused.length, 1);
  const [index, error] = refused[0] as [number, PublishError];
  assert.equal(index, 30);
  assert.ok(error instanceof PublishError);
  assert.equal(error.status, 400);
  assert.match(error.hubMessage, /of the batch: topics under \/\.well-known\/mercure are reserved/);
  const ids = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  assert.equal(new Set(ids).size, 59);
  // Every accepted update delivered once with its ID. The batch that held the refused one was sent
  // again, so it may land after a batch sent meanwhile: order holds within a batch only.
  const delivered = new Map<string, string>();
  for (let i = 0; i < 59; i++) {
    const event = await sub.next();
    delivered.set(event.data, event.lastEventId);
  }
  for (let i = 0; i < 60; i++) {
    if (i === 30) continue;
    assert.equal(delivered.get(String(i)), (outcomes[i] as PromiseFulfilledResult<string>).value);
  }
});
