/**
 * A fault in one subscriber's part of a fan-out stays there: an update that cannot be encoded in one
 * wire format (an ID breaking event-stream framing, appended by another node or a store that did
 * not check it) still reaches the subscribers of the other formats, and is counted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStream, startHub, subscribeUrl } from '../../support/hub.js';
import { mustOpenSocket } from '../../support/transports.js';

test('an update that does not encode for sse still reaches ws subscribers collected after it', async (t) => {
  const hub = await startHub({ anonymous: true });
  t.after(() => hub.close());
  // The event stream first: it is collected first, where the old fan-out stopped for everyone.
  const sse = await openStream(subscribeUrl(hub, [['topic', 'f']]), {}, false);
  const ws = await mustOpenSocket(subscribeUrl(hub, [['topic', 'f']]));
  await ws.opening;
  t.after(() => {
    sse.close();
    ws.close();
  });
  const update = { topics: ['f'], private: false, data: 'x', time: Date.now() };
  // A line feed in an ID breaks event-stream framing (the publish route refuses it; a store may not).
  await hub.hub.store.append({ ...update, id: 'bad\nid' });
  await hub.hub.store.append({ ...update, id: 'good' });
  assert.equal((await ws.next()).id, 'bad\nid');
  assert.equal((await ws.next()).id, 'good');
  assert.equal((await sse.next()).lastEventId, 'good');
  assert.equal(hub.hub.metrics.updatesUnencodable, 1);
});
