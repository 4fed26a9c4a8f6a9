import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseServer, type SseStream } from '../../src/server/index.js';
import { startIdleCutRelay } from '../support/idle-cut-relay.js';
import { eventually, listen, RawClient } from './helpers.js';

// Wide enough that a loaded machine's late timers (the relay runs in this process too) do not cut a
// stream that keeps the bound, narrow enough that the old two-interval silence is cut.
const HEARTBEAT_MS = 800;
/** A proxy whose idle timeout sits a bit above the heartbeat, as deploy/nginx.conf advises. */
const PROXY_IDLE_MS = 1200;

const comments = (c: RawClient) => c.body().split(': \n').length - 1;

test('heartbeat: behind a proxy idle timeout a little above heartbeatMs, no stream is cut', async () => {
  const sse = new SseServer({ heartbeatMs: HEARTBEAT_MS });
  const streams: SseStream[] = [];
  const server = await listen((req, res) => {
    streams.push(sse.stream(req, res));
  });
  const relay = await startIdleCutRelay(server.port, PROXY_IDLE_MS);
  try {
    const idle = new RawClient(relay.port);
    await eventually(() => streams.length === 1, 'idle stream open');
    const busy = new RawClient(relay.port);
    await eventually(() => streams.length === 2, 'busy stream open');
    // The worst case of a "skip streams that wrote since the last tick" heartbeat: an event right
    // after each beat. The beat that follows finds the stream busy, and it stays silent for almost
    // two intervals unless the heartbeat bounds silence rather than skipping a whole tick.
    for (let round = 1; round <= 4; round++) {
      await busy.until((c) => comments(c) === round);
      streams[1]!.send({ data: `after beat ${round}` });
      await busy.until((c) => c.body().endsWith(`data: after beat ${round}\n\n`));
    }
    await busy.until((c) => comments(c) === 5);
    await idle.until((c) => comments(c) >= 5);
    assert.equal(relay.cuts, 0, 'the proxy cut no stream for silence');
    assert.equal(sse.size, 2);
    assert.match(busy.body(), /^: ok\nretry: 3000\n\n: \ndata: after beat 1\n\n: \ndata: after beat 2\n\n/);
    idle.close();
    busy.close();
    await eventually(() => sse.size === 0, 'streams closed');
  } finally {
    await relay.close();
    await server.close();
  }
});

test('heartbeat: an idle stream behind the same proxy stays open across many intervals', async () => {
  const sse = new SseServer({ heartbeatMs: HEARTBEAT_MS });
  const server = await listen((req, res) => {
    sse.stream(req, res);
  });
  const relay = await startIdleCutRelay(server.port, PROXY_IDLE_MS);
  try {
    const clients = Array.from({ length: 5 }, () => new RawClient(relay.port));
    // Six comments span at least five silent stretches: over four intervals of idleness.
    for (const c of clients) await c.until((x) => comments(x) >= 6);
    assert.equal(relay.cuts, 0);
    for (const c of clients) c.close();
    await eventually(() => sse.size === 0, 'streams closed');
  } finally {
    await relay.close();
    await server.close();
  }
});

test('heartbeat: a server whose streams all closed beats again for the next stream it opens', async () => {
  // The tick stops when the last stream closes; the next stream must start it again, or it would
  // never get a heartbeat (and a proxy would cut it for silence).
  const sse = new SseServer({ heartbeatMs: 100 });
  const server = await listen((req, res) => {
    sse.stream(req, res);
  });
  try {
    const first = new RawClient(server.port);
    await first.until((c) => comments(c) >= 1);
    first.close();
    await eventually(() => sse.size === 0, 'first stream closed');
    const second = new RawClient(server.port);
    await second.until((c) => comments(c) >= 2);
    second.close();
    await eventually(() => sse.size === 0, 'second stream closed');
  } finally {
    await server.close();
  }
});
