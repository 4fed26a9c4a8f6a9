/**
 * Conflation keys and rate limits in herald/server, over real sockets: an unsent event is replaced
 * by a newer one of its key at its place; keyless events are never replaced nor reordered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEvent } from '../../src/protocol/index.js';
import { Channel, InvalidServerOptionError, SseServer, type SseStream } from '../../src/server/index.js';
import { bounded } from '../support/retry.js';
import { eventually, listen, RawClient } from './helpers.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** The `data:` values of a body, padding left out. */
function values(body: string): string[] {
  return [...body.matchAll(/^data: (.*)$/gm)].map((m) => m[1]!).filter((v) => !v.startsWith('pad'));
}

/** The last two chunks received contain `text` (cheap on long bodies). */
function tailHas(c: RawClient, text: string): boolean {
  return Buffer.concat(c.chunks.slice(-2)).toString().includes(text);
}

async function setup(options: ConstructorParameters<typeof SseServer>[0] = {}) {
  const sse = new SseServer({ heartbeatMs: 0, ...options });
  const streams: SseStream[] = [];
  const waiters: Array<() => void> = [];
  const { port, close } = await listen((req, res) => {
    streams.push(sse.stream(req, res));
    for (const w of waiters.splice(0)) w();
  });
  const connect = async (): Promise<{ client: RawClient; stream: SseStream }> => {
    const before = streams.length;
    const client = new RawClient(port, '/');
    await client.until((c) => c.body().includes('retry:'));
    const opened = async () => {
      while (streams.length === before) await new Promise<void>((r) => waiters.push(r));
    };
    await bounded(opened(), 'the server stream of the new client');
    return { client, stream: streams[streams.length - 1]! };
  };
  return { sse, connect, close };
}

/** Makes the transport push back: the client stops reading, padding fills the socket buffers. */
async function block(client: RawClient, stream: SseStream): Promise<void> {
  client.socket.pause();
  const pad = encodeEvent({ data: `pad${'p'.repeat(64 * 1024)}` });
  // queuedBytes stays above 0 after a flush pass only once the transport refused more.
  // Bounded: 2,000 pads (128 MiB) are far beyond any socket's buffers.
  for (let pads = 0; stream.queuedBytes === 0; pads++) {
    assert.ok(pads < 2000, 'the transport never pushed back');
    stream.write(pad);
    await turn();
  }
}

test('write(chunk, key): in one turn, the latest value of a key takes the place of the first', async () => {
  const { connect, close } = await setup();
  const { client, stream } = await connect();
  const ev = (data: string) => encodeEvent({ data });
  stream.write(ev('a1'), 'a');
  stream.write(ev('x'));
  stream.write(ev('b1'), 'b');
  stream.write(ev('a2'), 'a');
  stream.write(ev('y'));
  stream.write(ev('b2'), 'b');
  stream.write(ev('a3'), 'a');
  stream.write(ev('end'));
  await client.until((c) => c.body().includes('data: end\n\n'));
  assert.deepEqual(values(client.body()), ['a3', 'x', 'b2', 'y', 'end']);
  assert.equal(stream.conflatedEvents, 3);
  // The next turn's queue starts afresh: a new value of `a` goes at the end.
  stream.send({ data: 'z' });
  stream.send({ data: 'a4' }, { key: 'a' });
  stream.send({ data: 'end2' });
  await client.until((c) => c.body().includes('data: end2\n\n'));
  assert.deepEqual(values(client.body()).slice(5), ['z', 'a4', 'end2']);
  client.close();
  await close();
});

test('a client that reads slowly: queued values of a key are replaced, sent ones are not; keyless order kept', async () => {
  const { connect, close } = await setup({ maxQueueBytes: 64 * 1024 * 1024 });
  const { client, stream } = await connect();
  await block(client, stream);
  const written: string[] = [];
  for (let v = 0; v < 100; v++) {
    for (const key of ['k0', 'k1', 'k2', 'k3', 'k4']) {
      stream.write(encodeEvent({ data: `${key}=${v}` }), key);
      written.push(`${key}=${v}`);
    }
    if (v % 10 === 0) stream.write(encodeEvent({ data: `L${v}` }));
    if (v % 25 === 0) await turn(); // flush passes while blocked: the queue stays unsent
  }
  stream.write(encodeEvent({ data: 'end' }));
  assert.ok(stream.queuedBytes > 0, 'still blocked');
  client.socket.resume();
  await client.until((c) => tailHas(c, 'data: end\n'));
  const got = values(client.body());
  // The queue held one slot per key, at the place of its first value, with its last value.
  assert.deepEqual(got, [
    'k0=99',
    'k1=99',
    'k2=99',
    'k3=99',
    'k4=99',
    'L0',
    'L10',
    'L20',
    'L30',
    'L40',
    'L50',
    'L60',
    'L70',
    'L80',
    'L90',
    'end',
  ]);
  assert.equal(stream.conflatedEvents, 495);
  client.close();
  await close();
});

test('Channel.broadcast(chunk, key): streams that share a queue share its join; a conflated one gets its own bytes', async () => {
  const { connect, close } = await setup();
  const a = await connect();
  const b = await connect();
  const c = await connect();
  const channel = new Channel().add(a.stream).add(b.stream).add(c.stream);
  channel.broadcast(encodeEvent({ data: 'p=1' }), 'p');
  channel.broadcast(encodeEvent({ data: 'note' }));
  // Only b's queue gets a newer p; a and c keep identical queues.
  b.stream.write(encodeEvent({ data: 'p=2' }), 'p');
  channel.broadcast(encodeEvent({ data: 'end' }));
  for (const s of [a, b, c]) await s.client.until((x) => x.body().includes('data: end\n\n'));
  assert.deepEqual(values(a.client.body()), ['p=1', 'note', 'end']);
  assert.deepEqual(values(b.client.body()), ['p=2', 'note', 'end']);
  assert.deepEqual(values(c.client.body()), ['p=1', 'note', 'end']);
  for (const s of [a, b, c]) s.client.close();
  await close();
});

test("overflow 'conflate': a keyless event past the budget closes the stream (never silently dropped)", async () => {
  const { connect, close } = await setup({ maxQueueBytes: 256 * 1024, overflow: 'conflate' });
  const { client, stream } = await connect();
  await block(client, stream);
  const reports: string[] = [];
  stream.on('slow', (error) => reports.push(error.action));
  const pad = 'x'.repeat(100 * 1024);
  for (let i = 0; i < 50 && !stream.closed; i++)
    stream.write(encodeEvent({ data: `v${i}${pad}` }), `k${i % 3}`);
  assert.equal(stream.closed, false, 'keyed events past the budget are conflated');
  assert.equal(stream.write(encodeEvent({ data: 'x'.repeat(256 * 1024) })), false);
  assert.equal(stream.closed, true);
  assert.deepEqual(reports, ['conflate', 'close']);
  client.close();
  await close();
});

test("overflow 'conflate': one key more than maxConflationKeys past the budget closes the stream", async () => {
  const { connect, close } = await setup({
    maxQueueBytes: 200 * 1024,
    overflow: 'conflate',
    maxConflationKeys: 3,
  });
  const { client, stream } = await connect();
  await block(client, stream);
  // Fill the budget with keyless events first.
  const filler = encodeEvent({ data: 'f'.repeat(10 * 1024) });
  while (stream.queuedBytes + filler.byteLength <= 200 * 1024) assert.equal(stream.write(filler), true);
  const big = (data: string) => encodeEvent({ data: data + 'x'.repeat(100 * 1024) });
  for (const key of ['a', 'b', 'c']) assert.equal(stream.write(big(key), key), true, key);
  assert.equal(stream.write(big('c2'), 'c'), true, 'a queued key is replaced');
  assert.equal(stream.write(big('d'), 'd'), false);
  assert.equal(stream.closed, true);
  client.close();
  await close();
});

test('maxRate: between sends keyed events are conflated and keyless ones wait in order', async () => {
  const { connect, close } = await setup();
  const { client, stream } = await connect();
  stream.maxRate = 1; // one send a second
  assert.equal(stream.maxRate, 1);
  stream.send({ data: 'p=0' }, { key: 'p' });
  await client.until((c) => c.body().includes('data: p=0\n'));
  // 50 updates in 50 turns, far less than a second: they wait for the next send.
  for (let v = 1; v <= 50; v++) {
    stream.send({ data: `p=${v}` }, { key: 'p' });
    if (v % 10 === 0) stream.send({ data: `L${v}` });
    await turn();
  }
  await client.until((c) => c.body().includes('data: L50\n'));
  const got = values(client.body());
  assert.equal(got.at(-6), 'p=50', `got ${got.join(' ')}`);
  assert.deepEqual(got.slice(-5), ['L10', 'L20', 'L30', 'L40', 'L50']);
  const ps = got.filter((v) => v.startsWith('p=')).map((v) => Number(v.slice(2)));
  assert.ok(ps.length < 10, `conflated: ${ps.join(' ')}`);
  for (let i = 1; i < ps.length; i++) assert.ok(ps[i]! > ps[i - 1]!);
  client.close();
  await close();
});

test('maxRate: a bad rate is refused with the rule; null lifts the limit', async () => {
  const { connect, close } = await setup();
  const { client, stream } = await connect();
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => {
        stream.maxRate = bad;
      },
      (e: unknown) => e instanceof InvalidServerOptionError && /positive number/.test(e.message),
    );
  }
  assert.throws(() => new SseServer({ maxRate: 0 }), /maxRate must be a positive number/);
  assert.throws(
    () => new SseServer({ maxConflationKeys: -1 }),
    /maxConflationKeys must be a non-negative integer/,
  );
  stream.maxRate = 0.5;
  stream.maxRate = null;
  assert.equal(stream.maxRate, null);
  stream.send({ data: 'free' });
  await client.until((c) => c.body().includes('data: free\n'));
  client.close();
  await eventually(() => stream.closed, 'stream closed');
  await close();
});

test('maxRate from the server options applies to every stream', async () => {
  const { connect, close } = await setup({ maxRate: 4 });
  const { client, stream } = await connect();
  assert.equal(stream.maxRate, 4);
  for (let v = 0; v < 20; v++) {
    stream.send({ data: `q=${v}` }, { key: 'q' });
    await turn();
  }
  await client.until((c) => c.body().includes('data: q=19\n'));
  assert.ok(values(client.body()).length < 20);
  client.close();
  await close();
});
