import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  DuplicateUpdateIdError,
  openStore,
  type Retention,
  StoreClosedError,
  StoreUnavailableError,
} from '../../../src/hub/stores/index.js';
import { createRedisStore, type RedisStore } from '../../../src/hub/stores/redis.js';
import type { Update } from '../../../src/hub/update.js';
import { spawnRedisServer } from '../../support/redis-server.js';
import { requirePart } from '../../support/requirements.js';
import { type ContractOptions, makeUpdate, receive, storeContract } from './contract.js';
import { freePort, REDIS_URL, redisPrefix, watchCommands } from './redis-support.js';

const roomy: Retention = { maxCount: 1000, maxAgeMs: 0 };
const ids = (updates: Update[]) => updates.map((u) => u.id);

async function openOn(
  t: TestContext,
  prefix: string,
  retention: Retention = roomy,
  options: ContractOptions = {},
  url = REDIS_URL,
): Promise<RedisStore> {
  const store = createRedisStore(url, retention, { ...options, prefix, onStatus: () => {} });
  t.after(() => store.close());
  await store.ready();
  return store;
}

storeContract('redis', async (t, retention, options) => {
  const prefix = await redisPrefix(t);
  return prefix === undefined ? undefined : openOn(t, prefix, retention, options);
});

test('two stores on one prefix each see every append exactly once, in one order, with the same ids', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const a = await openOn(t, prefix);
  const b = await openOn(t, prefix);
  const published = Array.from({ length: 100 }, (_, i) => makeUpdate(`n${i}`));
  const seenByA = receive(a, published.length);
  const seenByB = receive(b, published.length);
  const extraA: Update[] = [];
  a.subscribe((u) => extraA.length >= 0 && extraA.push(u));
  await Promise.all(published.map((u, i) => (i % 2 === 0 ? a : b).append(u)));
  const [orderA, orderB] = await Promise.all([seenByA.done, seenByB.done]);
  assert.deepEqual(ids(orderA), ids(orderB));
  assert.deepEqual(new Set(ids(orderA)), new Set(ids(published)));
  assert.deepEqual(orderA, orderB);
  // Each node's appends keep their call order within the shared order.
  const fromA = ids(published.filter((_, i) => i % 2 === 0));
  assert.deepEqual(
    ids(orderA).filter((id) => fromA.includes(id)),
    fromA,
  );
  // History agrees on both nodes, including for an update the other node appended.
  assert.deepEqual(await a.after(orderA[10].id, 5), await b.after(orderA[10].id, 5));
  assert.deepEqual(
    ids((await b.after(published[0].id, 1000)).updates),
    ids(orderA).slice(ids(orderA).indexOf(published[0].id) + 1),
  );
  // A later append proves nothing was delivered twice.
  const last = makeUpdate('last');
  const lastSeen = receive(a, 1);
  await b.append(last);
  await lastSeen.done;
  assert.deepEqual(ids(extraA), [...ids(orderA), last.id]);
});

test('an update appended by another node is found by after() before this node has read it', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const a = await openOn(t, prefix);
  const b = await openOn(t, prefix);
  const first = makeUpdate('first');
  const second = makeUpdate('second');
  await a.append(first);
  await a.append(second);
  // b may or may not have read them yet; either way it answers from Redis.
  assert.deepEqual(await b.after(first.id, 10), { found: true, updates: [second] });
  assert.equal(await b.lastId(), second.id);
});

test('a node started later does not replay history to listeners, yet serves it to after()', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const a = await openOn(t, prefix);
  const old = [makeUpdate('old1'), makeUpdate('old2')];
  for (const u of old) await a.append(u);
  const late = await openOn(t, prefix);
  const heard: Update[] = [];
  late.subscribe((u) => heard.push(u));
  assert.deepEqual(await late.after(old[0].id, 10), { found: true, updates: [old[1]] });
  const fresh = makeUpdate('fresh');
  const got = receive(late, 1);
  await a.append(fresh);
  assert.deepEqual(await got.done, [fresh]);
  assert.deepEqual(ids(heard), [fresh.id]);
});

test('the reader resumes after losing its connection and delivers what was published meanwhile', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const a = await openOn(t, prefix);
  const b = await openOn(t, prefix);
  const before = makeUpdate('before');
  const beforeSeen = receive(a, 1);
  await b.append(before);
  await beforeSeen.done;

  const admin = new Redis(REDIS_URL);
  t.after(() => admin.disconnect());
  const clients = (await admin.client('LIST')) as string;
  const readers = clients.split('\n').filter((line) => line.includes(` name=${prefix}:reader `));
  assert.equal(readers.length, 2, 'each store has one reader connection, named after the prefix');
  const afterLoss = Array.from({ length: 5 }, (_, i) => makeUpdate(`meanwhile${i}`));
  const seen = receive(a, afterLoss.length);
  // Kill both readers, then publish while they reconnect (the first retry waits at least 100 ms;
  // these appends take a round trip each on the writer connection, which stays up).
  for (const line of readers) await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(line)![1]);
  for (const u of afterLoss) await b.append(u);
  assert.deepEqual(ids(await seen.done), ids(afterLoss));
});

test('with nothing listening, append rejects at once with StoreUnavailableError, and ready() times out', async (t) => {
  const port = await freePort();
  const statuses: string[] = [];
  const store = createRedisStore(`redis://127.0.0.1:${port}`, roomy, {
    onStatus: (s) => statuses.push(s),
  });
  t.after(() => store.close());
  await assert.rejects(store.append(makeUpdate('x')), (err: unknown) => {
    assert.ok(err instanceof StoreUnavailableError, String(err));
    assert.equal(err.code, 'HERALD_ERR_STORE_UNAVAILABLE');
    assert.match(err.message, new RegExp(`Redis at 127.0.0.1:${port}/0 is unavailable`));
    return true;
  });
  await assert.rejects(store.after('earliest', 10), StoreUnavailableError);
  await assert.rejects(store.ready(200), /could not reach Redis at 127.0.0.1:\d+\/0 within 200 ms/);
  await assert.rejects(
    openStore(`redis://127.0.0.1:${port}/0`, roomy, { connectTimeoutMs: 200, onStatus: () => {} }),
    StoreUnavailableError,
  );
  assert.deepEqual(statuses, ['down']);
});

test('rediss:// speaks TLS: against a plain-text Redis it never becomes ready', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const plain = new URL(REDIS_URL);
  const store = createRedisStore(`rediss://${plain.host}`, roomy, { prefix, onStatus: () => {} });
  t.after(() => store.close());
  await assert.rejects(store.ready(500), StoreUnavailableError);
});

/** A TCP relay to Redis whose open connections can be frozen: they stay open and carry nothing. */
async function freezableRelay(t: TestContext, target: URL): Promise<{ port: number; freeze: () => void }> {
  const sockets = new Set<Socket>();
  let live: [Socket, Socket][] = [];
  let closing = false;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    if (closing) return client.destroy();
    client.pipe(upstream).pipe(client);
    live.push([client, upstream]);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    closing = true;
    const closed = once(server, 'close');
    server.close();
    for (const socket of sockets) socket.destroy();
    await closed;
  });
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => {
      for (const [client, upstream] of live) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      live = [];
    },
  };
}

test('a connection that goes silent is replaced: appends fail fast, then delivery resumes', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const relay = await freezableRelay(t, new URL(REDIS_URL));
  const statuses: string[] = [];
  const store = createRedisStore(`redis://127.0.0.1:${relay.port}`, roomy, {
    prefix,
    commandTimeoutMs: 300,
    readBlockMs: 200,
    onStatus: (s) => statuses.push(s),
  });
  t.after(() => store.close());
  await store.ready();
  const direct = await openOn(t, prefix);

  relay.freeze();
  await assert.rejects(store.append(makeUpdate('into the void')), (err: unknown) => {
    assert.ok(err instanceof StoreUnavailableError);
    assert.match(err.message, /Command timed out/);
    return true;
  });
  // Published elsewhere while this node's connections are silent: delivered once they are replaced.
  const meanwhile = makeUpdate('meanwhile');
  const seen = receive(store, 1);
  await direct.append(meanwhile);
  assert.deepEqual(await seen.done, [meanwhile]);
  await store.ready();
  const after = makeUpdate('after');
  const seenAfter = receive(direct, 1);
  await store.append(after);
  assert.deepEqual(await seenAfter.done, [after]);
  assert.deepEqual(statuses.slice(0, 2), ['up', 'down']);
});

test('updates trimmed away while a node could not read are reported as lost', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const relay = await freezableRelay(t, new URL(REDIS_URL));
  const lost: Error[] = [];
  const store = createRedisStore(`redis://127.0.0.1:${relay.port}`, roomy, {
    prefix,
    commandTimeoutMs: 300,
    readBlockMs: 200,
    onStatus: (s, error) => s === 'lost' && lost.push(error!),
  });
  t.after(() => store.close());
  await store.ready();
  const direct = await openOn(t, prefix);
  const admin = new Redis(REDIS_URL);
  t.after(() => admin.disconnect());
  const heard: Update[] = [];
  store.subscribe((u) => heard.push(u));
  const first = makeUpdate('first');
  const firstSeen = receive(store, 1);
  await direct.append(first);
  await firstSeen.done;

  relay.freeze();
  // Published and trimmed away before the frozen node notices (it waits two read periods first).
  for (const label of ['gone1', 'gone2']) await direct.append(makeUpdate(label));
  await admin.xtrim(`${prefix}:updates`, 'MAXLEN', 0);
  const next = makeUpdate('next');
  const nextSeen = receive(store, 1);
  await direct.append(next);
  assert.deepEqual(await nextSeen.done, [next]);
  assert.deepEqual(ids(heard), [first.id, next.id]);
  assert.equal(lost.length, 1);
  assert.match(lost[0].message, /missed 2 update\(s\): stream .* was trimmed past them/);
});

/** A redis-server of our own, so it can be stopped and started again on the same port. */
function startRedis(port: number, dir: string): Promise<ChildProcess> {
  return spawnRedisServer(port, ['--dir', dir, '--appendonly', 'yes']);
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

test('a Redis restart: appends fail while it is down, then the store recovers with its history', async (t) => {
  const which = spawn('redis-server', ['--version'], { stdio: 'ignore' });
  const [code] = (await once(which, 'exit').catch(() => [127])) as [number | null];
  if (!requirePart(t, 'redis-server binary', code === 0 ? null : 'redis-server is not installed')) return;
  const dir = mkdtempSync(join(tmpdir(), 'herald-redis-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  let server = await startRedis(port, dir);
  t.after(() => stopRedis(server));

  const statuses: string[] = [];
  let onUp: (() => void) | undefined;
  const store = createRedisStore(`redis://127.0.0.1:${port}`, roomy, {
    onStatus: (s) => {
      statuses.push(s);
      if (s === 'up') onUp?.();
    },
  });
  t.after(() => store.close());
  await store.ready();
  const kept = makeUpdate('kept');
  const keptSeen = receive(store, 1);
  await store.append(kept);
  await keptSeen.done;

  await stopRedis(server);
  await assert.rejects(store.append(makeUpdate('lost')), StoreUnavailableError);

  const back = new Promise<void>((resolve) => {
    onUp = resolve;
  });
  server = await startRedis(port, dir);
  await back;
  const next = makeUpdate('next');
  const nextSeen = receive(store, 1);
  await store.append(next);
  assert.deepEqual(await nextSeen.done, [next]);
  assert.deepEqual(await store.after(kept.id, 10), { found: true, updates: [next] });
  assert.deepEqual(statuses, ['up', 'down', 'up']);
});

/**
 * A TCP relay to Redis that can freeze the store's reader connection alone (it names itself
 * `…:reader` with CLIENT SETNAME), leaving the writer working: a node whose reader lags.
 */
async function readerFreezingRelay(
  t: TestContext,
  target: URL,
): Promise<{ port: number; freezeReader: () => void }> {
  const pairs: { client: Socket; upstream: Socket; sent: string }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    const pair = { client, upstream, sent: '' };
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (pair.sent.length < 4096) pair.sent += chunk.toString('latin1');
    });
    client.pipe(upstream).pipe(client);
    pairs.push(pair);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    const closed = once(server, 'close');
    server.close();
    for (const socket of sockets) socket.destroy();
    await closed;
  });
  return {
    port: (server.address() as AddressInfo).port,
    freezeReader: () => {
      const readers = pairs.filter((p) => p.sent.includes(':reader'));
      assert.ok(readers.length > 0, 'the reader connection is known');
      for (const { client, upstream } of readers) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
  };
}

test('the same id published on two nodes at once is accepted once, cluster-wide', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const a = await openOn(t, prefix);
  const b = await openOn(t, prefix);
  for (let i = 0; i < 20; i++) {
    const u = makeUpdate(`same-${i}`);
    // Both checks run before either XADD is sent: only Redis can tell them apart.
    const results = await Promise.allSettled([a.append(u), b.append({ ...u, data: 'other' })]);
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(refused.length, 1, `round ${i}: ${results.map((r) => r.status)}`);
    assert.ok((refused[0] as PromiseRejectedResult).reason instanceof DuplicateUpdateIdError);
  }
  const kept = (await a.after('earliest', 1000)).updates;
  assert.equal(kept.length, 20);
  assert.equal(new Set(ids(kept)).size, 20);
});

test('a node whose reader lags still refuses an id another node published', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const relay = await readerFreezingRelay(t, new URL(REDIS_URL));
  const lagging = createRedisStore(`redis://127.0.0.1:${relay.port}`, roomy, {
    prefix,
    readBlockMs: 60_000,
    onStatus: () => {},
  });
  t.after(() => lagging.close());
  await lagging.ready();
  const a = await openOn(t, prefix);
  relay.freezeReader();
  const u = makeUpdate('published-elsewhere');
  await a.append(u);
  await assert.rejects(lagging.append({ ...u, data: 'again' }), DuplicateUpdateIdError);
  // Its writer works: a new id goes through.
  const fresh = makeUpdate('fresh');
  const seen = receive(a, 1);
  await lagging.append(fresh);
  assert.deepEqual(await seen.done, [fresh]);
  // Once an update is out of the kept history (its node's reader evicted it), its id may be used
  // again (like the other stores).
  const small = await openOn(t, `${prefix}:small`, { maxCount: 2, maxAgeMs: 0 });
  const topics = ['https://example.com/small'];
  const first = makeUpdate('first', Date.now(), { topics });
  const read = receive(small, 3);
  await small.append(first);
  await small.append(makeUpdate('second', Date.now(), { topics }));
  await assert.rejects(small.append(first), DuplicateUpdateIdError);
  await small.append(makeUpdate('third', Date.now(), { topics }));
  await read.done;
  await small.append({ ...first, data: 'reused' });
});

test('close() rejects a pending ready() with StoreClosedError', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const store = createRedisStore(REDIS_URL, roomy, { prefix, connectTimeoutMs: 60_000, onStatus: () => {} });
  const ready = store.ready();
  await store.close();
  await assert.rejects(ready, StoreClosedError);
});

test('history from earliest, and after an id, is read in pages of at most 1,000 entries', async (t) => {
  const prefix = await redisPrefix(t);
  if (!prefix) return;
  const store = await openOn(t, prefix, { maxCount: 5000, maxAgeMs: 0 });
  const published = Array.from({ length: 2500 }, (_, i) => makeUpdate(`p${i}`));
  const delivered = receive(store, published.length);
  await Promise.all(published.map((u) => store.append(u)));
  await delivered.done;

  const watch = await watchCommands(t, REDIS_URL, prefix);
  const all = await store.after('earliest', Infinity);
  const rest = await store.after(published[99]!.id, Infinity);
  // MONITOR reports commands in execution order: once the marker shows, the reads above have too.
  const marker = `${prefix}:marker`;
  const probe = new Redis(REDIS_URL);
  t.after(() => probe.disconnect());
  await probe.echo(marker);
  await watch.until(marker);
  const commands = watch.commands;
  assert.deepEqual(ids(all.updates), ids(published));
  assert.deepEqual(ids(rest.updates), ids(published.slice(100)));
  const reads = commands.filter((c) => /^X(REV)?RANGE$/i.test(c[0]!) && c[1] === `${prefix}:updates`);
  assert.ok(reads.length >= 6, `${reads.length} reads`);
  for (const read of reads) {
    const count = Number(read[read.findIndex((a) => a.toUpperCase() === 'COUNT') + 1]);
    assert.ok(count > 0 && count <= 1000, read.join(' '));
  }
});
