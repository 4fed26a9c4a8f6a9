import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStream, startHub, subscribeUrl } from '../../support/hub.js';
import { mustOpenSocket, pollOnce, withQuery } from '../../support/transports.js';

function metric(text: string, name: string, transport: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{transport="${transport}"}`));
  assert.ok(line !== undefined, `${name}{transport="${transport}"} in /metrics`);
  return Number(line.split(' ').at(-1));
}

test('/metrics counts connections, deliveries, bytes and drops per transport', async (t) => {
  const hub = await startHub({ anonymous: true, pollTimeoutMs: 5000 });
  t.after(() => hub.close());
  const url = subscribeUrl(hub, [['topic', 'm']]);
  const sse = await openStream(url);
  const ws = await mustOpenSocket(url);
  await ws.opening;
  const start = await hub.hub.publish({ topics: ['m'], data: 'hello', id: 'm-1' });
  const answer = await pollOnce(
    withQuery(url, [
      ['transport', 'poll'],
      ['lastEventID', 'earliest'],
    ]),
  );
  assert.equal(answer.body?.updates.length, 1);
  await sse.next();
  await ws.next();

  const before = await (await fetch(`${hub.origin}/metrics`)).text();
  assert.equal(metric(before, 'herald_hub_transport_connections', 'sse'), 1);
  assert.equal(metric(before, 'herald_hub_transport_connections', 'ws'), 1);
  assert.equal(metric(before, 'herald_hub_transport_connections', 'poll'), 0);
  for (const transport of ['sse', 'ws', 'poll']) {
    assert.equal(metric(before, 'herald_hub_transport_deliveries_total', transport), 1, transport);
    assert.equal(metric(before, 'herald_hub_transport_dropped_total', transport), 0, transport);
  }
  // The bytes of the one update in each format: an event, a frame (2-byte header), a JSON object.
  const json = JSON.stringify({ id: start.id, data: 'hello' });
  assert.equal(metric(before, 'herald_hub_transport_bytes_total', 'sse'), 'id: m-1\ndata: hello\n\n'.length);
  assert.equal(metric(before, 'herald_hub_transport_bytes_total', 'ws'), json.length + 2);
  assert.equal(metric(before, 'herald_hub_transport_bytes_total', 'poll'), json.length);
  sse.close();
  ws.close();
});
