/**
 * Resumable streams across processes, as users run them: `herald serve --workers 2` (every worker
 * serves every stream), two `herald serve` hubs on one Redis prefix (produce on one, read, drop and
 * resume on the other), a SQLite hub restarted mid-stream, and `--stream-store` choosing otherwise.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { createParser } from '../../src/protocol/index.js';
import { openStream } from '../cli/streams.js';
import { KEY, type Node, OwnRedis, requireRedisServer, startNode } from './nodes.js';

const TOPIC = 'https://example.com/jobs/7/log';

function token(): Promise<string> {
  return new SignJWT({ mercure: { publish: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(KEY));
}

/** A stream publish on a connection of its own (so `--workers` hand it to the next worker). */
async function post(
  hubUrl: string,
  jwt: string,
  fields: [string, string][],
): Promise<{ status: number; body: string; worker: string | undefined }> {
  const body = new URLSearchParams(fields).toString();
  const req = http.request(hubUrl, {
    method: 'POST',
    agent: false,
    headers: {
      Authorization: `Bearer ${jwt}`,
      'Content-Type': 'application/x-www-form-urlencoded',
      'Content-Length': Buffer.byteLength(body),
    },
  });
  req.end(body);
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  let text = '';
  res.setEncoding('utf8');
  for await (const part of res) text += part;
  return {
    status: res.statusCode ?? 0,
    body: text,
    worker: res.headers['x-herald-worker'] as string | undefined,
  };
}

const readerUrl = (node: Pick<Node, 'hubUrl'>) => `${node.hubUrl}/streams?topic=${encodeURIComponent(TOPIC)}`;

/** The chunk events and the final event type in an event-stream text. */
function parse(text: string): { chunks: string[]; ids: string[]; last: string | undefined } {
  const chunks: string[] = [];
  const ids: string[] = [];
  let last: string | undefined;
  createParser({
    onEvent(event) {
      last = event.type;
      if (event.type === 'message') {
        chunks.push(event.data);
        ids.push(event.lastEventId);
      }
    },
  }).feed(text);
  return { chunks, ids, last };
}

/** `herald serve` on the memory store (or `store`), with `extra` flags and the default heartbeat. */
function startMemoryNode(extra: string[] = [], store = 'memory'): Promise<Node> {
  return startNode(store, extra, null);
}

test('--workers 2: a stream produced through both workers is read whole through each of them', async (t) => {
  const node = await startMemoryNode(['--workers', '2']);
  t.after(() => node.kill());
  const jwt = await token();
  const started = await post(node.hubUrl, jwt, [
    ['topic', TOPIC],
    ['herald.stream', 'start'],
    ['data', 'chunk 0'],
  ]);
  assert.equal(started.status, 200, started.body);
  // Readers until one is on each worker: connections alternate between workers under round-robin,
  // and land by the kernel's hash of their addresses when workers have their own sockets
  // (SO_REUSEPORT), so a few may share a worker first.
  const readers: Awaited<ReturnType<typeof openStream>>[] = [];
  t.after(() => {
    for (const r of readers) r.close();
  });
  const readerWorkers = new Set<string>();
  for (let i = 0; i < 40 && readerWorkers.size < 2; i++) {
    const reader = await openStream(readerUrl(node));
    assert.equal(reader.status, 200);
    readers.push(reader);
    readerWorkers.add(String(reader.headers['x-herald-worker']));
  }
  assert.equal(readerWorkers.size, 2, 'a reader on each worker');
  // Appends, each on its own connection: both workers take some; every one is accepted.
  const appendWorkers = new Set<string>([String(started.worker)]);
  const expected = ['chunk 0'];
  for (let i = 1; i <= 20; i++) {
    const appended = await post(node.hubUrl, jwt, [
      ['topic', TOPIC],
      ['herald.stream', 'append'],
      ['data', `chunk ${i}`],
    ]);
    assert.equal(appended.status, 200, appended.body);
    assert.match(appended.body, new RegExp(`\\.${i + 1}$`));
    appendWorkers.add(String(appended.worker));
    expected.push(`chunk ${i}`);
  }
  assert.equal(appendWorkers.size, 2, 'appends went through both workers');
  // A second start, whichever worker takes it, is 409: the stream exists for all of them.
  for (let i = 0; i < 2; i++) {
    const again = await post(node.hubUrl, jwt, [
      ['topic', TOPIC],
      ['herald.stream', 'start'],
    ]);
    assert.equal(again.status, 409, again.body);
  }
  const ended = await post(node.hubUrl, jwt, [
    ['topic', TOPIC],
    ['herald.stream', 'end'],
  ]);
  assert.equal(ended.status, 200, ended.body);
  for (const reader of readers) {
    await reader.ended;
    const got = parse(reader.text());
    assert.deepEqual(got.chunks, expected);
    assert.equal(got.last, 'end');
  }
  // A retried append (its answer lost) is stored once, whichever worker takes the retry.
  const retried: [string, string][] = [
    ['topic', `${TOPIC}/2`],
    ['herald.stream', 'append'],
    ['herald.after', '0'],
    ['data', 'once'],
  ];
  assert.equal(
    (
      await post(node.hubUrl, jwt, [
        ['topic', `${TOPIC}/2`],
        ['herald.stream', 'start'],
      ])
    ).status,
    200,
  );
  // Retries, each on a connection of its own, until one reaches the other worker.
  const first = await post(node.hubUrl, jwt, retried);
  assert.equal(first.status, 200, first.body);
  let retry = first;
  for (let i = 0; i < 40 && retry.worker === first.worker; i++) {
    retry = await post(node.hubUrl, jwt, retried);
    assert.equal(retry.status, 200, retry.body);
    assert.equal(retry.body, first.body, 'a retry answers the ID the first append got');
  }
  assert.notEqual(retry.worker, first.worker, 'a retry reached the other worker');
});

test('two hubs on one Redis prefix: produce on one, read on the other, drop, resume on the first', async (t) => {
  if (!requireRedisServer(t)) return;
  const redis = await OwnRedis.start();
  t.after(() => redis.stop());
  const prefix = `rs-${process.pid}`;
  const [a, b] = await Promise.all([
    startNode(redis.url, ['--store-prefix', prefix]),
    startNode(redis.url, ['--store-prefix', prefix]),
  ]);
  t.after(() => Promise.all([a.kill(), b.kill()]));
  const jwt = await token();
  const chunks = Array.from({ length: 30 }, (_, i) => `line ${i}`);
  assert.equal(
    (
      await post(a.hubUrl, jwt, [
        ['topic', TOPIC],
        ['herald.stream', 'start'],
        ['data', chunks[0]!],
      ])
    ).status,
    200,
  );
  const first = await openStream(readerUrl(b));
  assert.equal(first.status, 200);
  for (let i = 1; i < 10; i++) {
    const r = await post(a.hubUrl, jwt, [
      ['topic', TOPIC],
      ['herald.stream', 'append'],
      ['data', chunks[i]!],
    ]);
    assert.equal(r.status, 200, r.body);
  }
  await first.waitFor(/data: line 9\n\n/);
  first.close(); // the connection drops
  const before = parse(first.text());
  assert.deepEqual(before.chunks, chunks.slice(0, 10));
  for (let i = 10; i < 30; i++) {
    const r = await post(a.hubUrl, jwt, [
      ['topic', TOPIC],
      ['herald.stream', 'append'],
      ['data', chunks[i]!],
    ]);
    assert.equal(r.status, 200, r.body);
  }
  assert.equal(
    (
      await post(a.hubUrl, jwt, [
        ['topic', TOPIC],
        ['herald.stream', 'end'],
      ])
    ).status,
    200,
  );
  const resumed = await openStream(readerUrl(a), { headers: { 'Last-Event-ID': before.ids.at(-1)! } });
  assert.equal(resumed.status, 200);
  await resumed.ended;
  const after = parse(resumed.text());
  assert.deepEqual([...before.chunks, ...after.chunks], chunks);
  assert.equal(after.last, 'end');
});

test('--store sqlite: streams outlive a restart of the hub (kept in a file of their own)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-rs-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = `sqlite:${join(dir, 'herald.db')}`;
  const jwt = await token();
  const first = await startMemoryNode([], store);
  const started = await post(first.hubUrl, jwt, [
    ['topic', TOPIC],
    ['herald.stream', 'start'],
    ['data', 'before'],
  ]);
  assert.equal(started.status, 200, started.body);
  first.proc.child.kill('SIGTERM');
  assert.equal(await first.proc.exited, 0);
  const second = await startMemoryNode([], store);
  t.after(() => second.kill());
  const appended = await post(second.hubUrl, jwt, [
    ['topic', TOPIC],
    ['herald.stream', 'end'],
    ['data', 'after'],
  ]);
  assert.equal(appended.status, 200, appended.body);
  const reader = await openStream(readerUrl(second));
  assert.equal(reader.status, 200);
  await reader.ended;
  const got = parse(reader.text());
  assert.deepEqual(got.chunks, ['before', 'after']);
  assert.equal(got.last, 'end');
});

test('--stream-store chooses where streams live: memory beside Redis keeps each hub its own; sqlite: beside memory outlives a restart', async (t) => {
  const jwt = await token();
  const start = (hub: Pick<Node, 'hubUrl'>, data: string) =>
    post(hub.hubUrl, jwt, [
      ['topic', TOPIC],
      ['herald.stream', 'start'],
      ['data', data],
    ]);

  // History in Redis, streams in each hub's memory: a stream started on one hub is unknown to the other.
  if (requireRedisServer(t)) {
    const redis = await OwnRedis.start();
    t.after(() => redis.stop());
    const prefix = `rs-choice-${process.pid}`;
    const flags = ['--store-prefix', prefix, '--stream-store', 'memory'];
    const [a, b] = await Promise.all([startNode(redis.url, flags), startNode(redis.url, flags)]);
    t.after(() => Promise.all([a.kill(), b.kill()]));
    assert.equal((await start(a, 'on a')).status, 200);
    const onA = await openStream(readerUrl(a));
    t.after(() => onA.close());
    assert.equal(onA.status, 200);
    const onB = await openStream(readerUrl(b));
    t.after(() => onB.close());
    assert.equal(onB.status, 404, 'streams kept in memory are not shared through Redis');
  }

  // History in memory, streams in a SQLite file of their own: a restart keeps them.
  const dir = mkdtempSync(join(tmpdir(), 'herald-rs-choice-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const flags = ['--stream-store', `sqlite:${join(dir, 'streams.db')}`];
  const first = await startMemoryNode(flags);
  assert.equal((await start(first, 'before')).status, 200);
  first.proc.child.kill('SIGTERM');
  assert.equal(await first.proc.exited, 0);
  const second = await startMemoryNode(flags);
  t.after(() => second.kill());
  const ended = await post(second.hubUrl, jwt, [
    ['topic', TOPIC],
    ['herald.stream', 'end'],
    ['data', 'after'],
  ]);
  assert.equal(ended.status, 200, ended.body);
  const reader = await openStream(readerUrl(second));
  assert.equal(reader.status, 200);
  await reader.ended;
  assert.deepEqual(parse(reader.text()).chunks, ['before', 'after']);
});
