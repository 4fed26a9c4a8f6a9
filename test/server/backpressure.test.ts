import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeEvent } from '../../src/protocol/index.js';
import { SseServer, type SseStream } from '../../src/server/index.js';
import { listen, RawClient } from './helpers.js';

interface Figures {
  offered: number;
  accepted: number;
  maxQueued: number;
  maxGrowth: number;
  max: number;
  closed: boolean;
  dropped: number;
  slowEvents: number;
  warnings: string[];
  registry: number;
  resumedEvents: number;
  conflated: number;
  latestKeys: number;
  olderAfterNewer: number;
  keys: number;
  eventBytes: number;
}

function runSubject(policy: string): Figures {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'fixtures', 'slow-consumer.ts'), policy],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as Figures;
}

test("a client that never reads: queue bounded, memory bounded, stream closed ('close' policy)", () => {
  const f = runSubject('close');
  assert.ok(f.accepted > f.max, `the socket took some bytes before pushing back (${f.accepted})`);
  assert.ok(f.maxQueued <= f.max, `queued ${f.maxQueued} <= ${f.max}`);
  assert.equal(f.closed, true);
  assert.equal(f.registry, 0);
  assert.equal(f.slowEvents, 1);
  assert.deepEqual(f.warnings, ['slow event-stream client: closing stream']);
  // Queue bound + the socket's buffered write + heap slack (measured ~0.45 MiB over 1 MiB); nothing
  // near the bytes offered.
  assert.ok(f.maxGrowth < 3 * f.max, `memory grew ${f.maxGrowth} bytes (bound ${f.max})`);
});

test("a client that never reads: 'drop' keeps the stream, counts drops, memory stays bounded", () => {
  const f = runSubject('drop');
  assert.ok(f.offered >= 32 * 1024 * 1024, `offered ${f.offered}`);
  assert.ok(f.maxQueued <= f.max, `queued ${f.maxQueued} <= ${f.max}`);
  assert.ok(f.dropped > 0);
  assert.equal(f.slowEvents, 1, 'reported once, when dropping starts');
  assert.deepEqual(f.warnings, ['slow event-stream client: dropping events']);
  assert.ok(f.maxGrowth < 3 * f.max, `memory grew ${f.maxGrowth} bytes (bound ${f.max}; 32 MiB offered)`);
  assert.ok(f.resumedEvents > 0, 'kept events and the next one arrive once the client reads');
});

test('a client that never reads: a policy function decides per event', () => {
  const f = runSubject('function');
  assert.equal(f.dropped, 99);
  assert.equal(f.closed, true);
  assert.ok(f.maxQueued <= f.max);
});

test('Fetch path: a body nobody reads is bounded the same way', async () => {
  const sse = new SseServer({ heartbeatMs: 0, maxQueueBytes: 256 * 1024 });
  const { stream, response } = sse.fetch(new Request('http://x.test/events'));
  let slow = 0;
  stream.on('slow', () => slow++);
  const chunk = encodeEvent({ data: 'y'.repeat(1000) });
  let maxQueued = 0;
  for (let turn = 0; turn < 200 && !stream.closed; turn++) {
    for (let i = 0; i < 16; i++) stream.write(chunk);
    maxQueued = Math.max(maxQueued, stream.queuedBytes);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(stream.closed, true);
  assert.equal(slow, 1);
  assert.ok(maxQueued <= 256 * 1024, `queued ${maxQueued}`);
  assert.equal(sse.size, 0);
  await assert.rejects(response.text(), { code: 'HERALD_ERR_SLOW_CONSUMER' });
});

test('whenDrained() paces a writer: 6 MiB through a 512 KiB bound to a slow reader, nothing dropped', async () => {
  const sse = new SseServer({ heartbeatMs: 0, maxQueueBytes: 512 * 1024 });
  let stream!: SseStream;
  const { port, close } = await listen((req, res) => {
    stream = sse.stream(req, res);
  });
  const client = new RawClient(port);
  await client.until((c) => c.body().includes('retry:'));
  client.socket.pause();
  let slow = 0;
  stream.on('slow', () => slow++);
  const data = 'z'.repeat(16 * 1024);
  const writer = (async () => {
    for (let i = 0; i < 384; i++) {
      if (stream.queuedBytes > 256 * 1024) await stream.whenDrained();
      assert.equal(stream.send({ id: String(i), data }), true);
    }
  })();
  // The reader starts late, then reads at its own pace.
  setTimeout(() => client.socket.resume(), 50);
  await writer;
  await client.until((c) => c.text().includes('id: 383\n'));
  assert.equal(slow, 0);
  assert.equal(stream.closed, false);
  assert.equal((client.body().match(/\nid: /g) ?? []).length, 384);
  stream.close();
  await stream.whenDrained(); // resolves at once on a closed stream
  client.close();
  await close();
});

test("a client that never reads: 'conflate' keeps the stream, its queue bounded by keys; the latest of every key arrives", () => {
  const f = runSubject('conflate');
  assert.ok(f.offered >= 32 * 1024 * 1024, `offered ${f.offered}`);
  assert.equal(f.closed, false);
  assert.equal(f.dropped, 0);
  assert.ok(f.conflated > 0);
  // The budget (64 KiB here) is below 50 keys' worth of events: past it the queue grows by keys
  // only. Plus what the socket held when it pushed back (its 64 KiB high-water mark and one write).
  const bound = f.max + f.keys * f.eventBytes + 64 * 1024 + f.eventBytes;
  assert.ok(f.maxQueued <= bound, `queued ${f.maxQueued} <= ${bound}`);
  // The queue's bound plus the same heap slack as the other policies (measured 0.4-0.8 MiB in all),
  // far from the 32 MiB offered.
  assert.ok(f.maxGrowth < bound + 2 * 1024 * 1024, `memory grew ${f.maxGrowth} bytes (32 MiB offered)`);
  assert.equal(f.slowEvents, 1, 'reported once, when conflating past the budget starts');
  assert.deepEqual(f.warnings, ['slow event-stream client: conflating keyed events']);
  assert.equal(f.latestKeys, f.keys, 'the last value of every key arrives once the client reads');
  assert.equal(f.olderAfterNewer, 0, 'never an older value after a newer one');
});
