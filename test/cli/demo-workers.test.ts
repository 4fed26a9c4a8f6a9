/**
 * `herald serve --demo --workers 2`: the demo's "drop all connections" button and its transport
 * counters concern the whole group, whichever worker takes the request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHerald } from './herald-process.js';
import { listeningUrl, openStream, type RawStream } from './streams.js';

test('--demo --workers 2: the transport counters count and the drop button ends the subscribers of every worker', async (t) => {
  const herald = startHerald(['serve', '--demo', '--workers', '2', '--port', '0', '--host', '127.0.0.1']);
  t.after(() => herald.kill());
  const base = (await listeningUrl(herald)).replace('localhost', '127.0.0.1');
  const topic = (await (await fetch(`${base}/demo/config.json`)).json()) as {
    topics: { compare: string; stats: string };
  };
  const url = `${base}/.well-known/mercure?topic=${encodeURIComponent(topic.topics.compare)}`;

  // Connections of their own, handed round-robin to the workers: until both workers hold some.
  const streams: RawStream[] = [];
  t.after(() => {
    for (const s of streams) s.close();
  });
  const workers = new Set<string>();
  for (let i = 0; i < 20 && (streams.length < 6 || workers.size < 2); i++) {
    const stream = await openStream(url);
    assert.equal(stream.status, 200);
    streams.push(stream);
    workers.add(String(stream.headers['x-herald-worker']));
  }
  assert.equal(workers.size, 2, 'the subscribers are spread over both workers');

  // Several requests, so that both workers answer some: each counts the whole group.
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${base}/demo/transports.json`);
    const body = (await res.json()) as { transports: Record<string, { connections: number }> };
    assert.equal(body.transports.sse?.connections, streams.length, JSON.stringify(body));
  }

  // The front page's figures, published by one worker, count the connections of both (this one too).
  const stats = await openStream(
    `${base}/.well-known/mercure?topic=${encodeURIComponent(topic.topics.stats)}`,
  );
  streams.push(stats);
  await stats.waitFor(new RegExp(`"connections":${streams.length},`));

  const res = await fetch(`${base}/demo/drop`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { dropped: streams.length });
  await Promise.all(streams.map((s) => s.ended));
  herald.child.kill('SIGTERM');
  assert.equal(await herald.exited, 0);
});
