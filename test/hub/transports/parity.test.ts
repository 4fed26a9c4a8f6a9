/**
 * The three transports side by side on one hub: while updates are being published, each
 * subscriber's connection is dropped (the client cuts it, or the hub ends it), and it resumes from
 * the last ID it received. Each must end up with every update, in order, exactly once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHub, subscribeUrl } from '../../support/hub.js';
import { type Feed, openFeed, TRANSPORTS, type TransportName } from '../../support/transports.js';

const TOPIC = 'https://example.com/parity';
const COUNT = 120;

/**
 * Reads `COUNT` updates from `start`, resuming from the last ID received whenever the connection
 * ends; with `cutAfter`, the client also cuts it once after that many updates. Returns the IDs and
 * the number of connections used.
 */
async function readAcrossDrops(
  transport: TransportName,
  url: string,
  start: string,
  cutAfter: number | undefined,
): Promise<{ ids: string[]; connections: number }> {
  const ids: string[] = [];
  let connections = 1;
  let feed: Feed = await openFeed(transport, url, {}, start);
  while (ids.length < COUNT) {
    if (ids.length === cutAfter) {
      cutAfter = undefined;
      feed.close();
      feed = await openFeed(transport, url, {}, ids.at(-1));
      connections++;
    }
    try {
      ids.push((await feed.next()).id);
    } catch {
      // The hub ended it: resume, as EventSource and the WebSocket client do.
      feed = await openFeed(transport, url, {}, ids.at(-1) ?? start);
      connections++;
    }
  }
  feed.close();
  return { ids, connections };
}

for (const how of ['the client cuts the connection', 'the hub ends the subscriptions'] as const) {
  test(`sse, ws and poll deliver the same updates, in order, exactly once, when ${how}`, async (t) => {
    const byHub = how === 'the hub ends the subscriptions';
    // maxConnectionMs makes the hub end every subscription on its own (after 80-100% of it).
    const hub = await startHub(byHub ? { anonymous: true, maxConnectionMs: 100 } : { anonymous: true });
    t.after(() => hub.close());
    const start = await hub.hub.publish({ topics: [TOPIC], data: 'start', id: 'p-start' });
    const url = subscribeUrl(hub, [['topic', TOPIC]]);
    const expected = Array.from({ length: COUNT }, (_, i) => `p-${i}`);

    const readers = TRANSPORTS.map((transport, i) =>
      readAcrossDrops(transport, url, start.id, byHub ? undefined : 30 + 10 * i),
    );
    // Failures surface below, through Promise.all, not as unhandled rejections meanwhile.
    for (const r of readers) r.catch(() => {});
    // Publish in steps, on later turns, so drops and resumes happen while updates flow.
    for (const [i, id] of expected.entries()) {
      await hub.hub.publish({ topics: [TOPIC], data: `d${i}`, id });
      if (i % 5 === 0) await new Promise((r) => setTimeout(r, byHub ? 15 : 5));
    }
    const results = await Promise.all(readers);
    for (const [i, { ids, connections }] of results.entries()) {
      assert.deepEqual(ids, expected, TRANSPORTS[i]);
      if (TRANSPORTS[i] !== 'poll') assert.ok(connections >= 2, `${TRANSPORTS[i]} was dropped and resumed`);
    }
  });
}
