/**
 * Every way a subscription ends, on every transport, driven by a fault-injecting store (slow, failing
 * on page N, trimmed meanwhile): each request gets an answer or a close, the client can resume from
 * what it got without a gap, and nothing stays registered or counted against its address.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import type { HubOptions } from '../../../src/hub/index.js';
import { createMemoryStore } from '../../../src/hub/stores/index.js';
import { eventually } from '../../server/helpers.js';
import { FaultyStore } from '../../support/faulty-store.js';
import { publish, signDraft07, startHub, subscribeUrl, type TestHub } from '../../support/hub.js';
import { type Outcome, outcome } from '../../support/outcome.js';
import { bounded } from '../../support/retry.js';
import { pollOnce, TRANSPORTS, type TransportName, withQuery } from '../../support/transports.js';

/** Bounds every wait on an answer: a request the hub never answers fails the test. */
const ANSWER_MS = 10_000;
const PAGE = 2;
const RETAINED = 8;

interface Setup {
  hub: TestHub;
  store: FaultyStore;
  pub: string;
}

async function setup(options: HubOptions = {}): Promise<Setup> {
  const store = new FaultyStore(createMemoryStore({ maxCount: RETAINED, maxAgeMs: 0 }));
  const hub = await startHub({
    anonymous: true,
    store,
    historyPageSize: PAGE,
    maxQueuedBytes: 2048,
    maxConnectionsPerAddress: 1,
    pollTimeoutMs: 300,
    ...options,
  });
  const pub = await signDraft07({ publish: ['*'] });
  // u1..u5 on the subscribed topic: three pages of history from `earliest`.
  for (let i = 1; i <= 5; i++) await send({ hub, store, pub }, 't', `u${i}`);
  return { hub, store, pub };
}

async function send(s: Setup, topic: string, id: string, data = id): Promise<void> {
  const res = await publish(s.hub, { topic, id, data }, s.pub);
  assert.equal(res.status, 200, res.body);
}

/** What one exit of the lifecycle looks like to a client of each transport. */
interface Exit {
  name: string;
  options?: HubOptions;
  lastEventID: string;
  /** Query parameters replacing the default `topic=t`. */
  query?: [string, string][];
  /** Arranges the fault before the attempt; the function it returns runs while the attempt is in flight. */
  during?: (s: Setup) => Promise<() => Promise<void>>;
  /** Called before the attempt starts. */
  before?: (s: Setup) => void | Promise<void>;
  expect: (o: Outcome, transport: TransportName, s: Setup) => void;
  /** False when the hub is closed by the exit (no follow-up subscription). */
  followUp?: boolean;
}

const EXITS: Exit[] = [
  {
    name: 'refused while admitting (no selector): an HTTP error, nothing registered',
    lastEventID: 'u1',
    query: [['nothing', 'x']],
    expect(o) {
      assert.equal(o.status, 400);
      assert.match(o.text, /at least one "topic"/);
    },
  },
  {
    name: 'the first history page fails: an HTTP error, nothing registered',
    lastEventID: 'u1',
    before: (s) => s.store.fail(1),
    expect(o) {
      assert.ok(o.status >= 500, `status ${o.status}`);
    },
  },
  {
    name: 'its queue overflows while the first page loads: answered with its cursor, then closed',
    lastEventID: 'u1',
    async during(s) {
      const held = s.store.hold(1);
      return async () => {
        await held.reached;
        // Three live updates of 1,000 bytes pass maxQueuedBytes (2,048) while history is read.
        for (const id of ['v1', 'v2', 'v3']) await send(s, 't', id, 'x'.repeat(1000));
        await eventually(() => s.hub.hub.subscriberCount === 0, 'subscriber ended as slow');
        held.release();
      };
    },
    expect(o, transport) {
      assertOpenedThenClosed(o, transport, 'u1', { code: 1013, reason: /slow consumer/ });
      assert.deepEqual(o.ids, []);
    },
  },
  {
    name: 'its connection deadline passes while the first page loads: answered with its cursor, then closed',
    options: { maxConnectionMs: 200 },
    lastEventID: 'u1',
    async during(s) {
      const held = s.store.hold(1);
      return async () => {
        await held.reached;
        await eventually(() => s.hub.hub.subscriberCount === 0, 'subscriber expired', 20_000);
        held.release();
      };
    },
    expect(o, transport) {
      assertOpenedThenClosed(o, transport, 'u1', { code: 1000, reason: /expired/ });
      assert.deepEqual(o.ids, []);
    },
  },
  {
    name: 'a later history page fails: closed after what it got, never live past the gap',
    lastEventID: 'earliest',
    before: (s) => s.store.fail(2),
    expect(o, transport, s) {
      assertOpenedThenClosed(o, transport, 'earliest', { code: 1013, reason: /history/ });
      assert.deepEqual(o.ids, ['u1', 'u2']);
      if (transport !== 'poll') assert.equal(s.hub.hub.metrics.historyFailures, 1);
    },
  },
  {
    name: "a later history page's start is trimmed meanwhile: closed after what it got",
    lastEventID: 'earliest',
    async during(s) {
      const held = s.store.hold(2);
      return async () => {
        await held.reached;
        // The store keeps 8 per topic: eight more on the subscribed topic push u1..u5 out (they
        // arrive live meanwhile, and wait behind the unread page).
        for (let i = 1; i <= RETAINED; i++) await send(s, 't', `o${i}`);
        held.release();
      };
    },
    expect(o, transport, s) {
      assertOpenedThenClosed(o, transport, 'earliest', { code: 1013, reason: /history/ });
      assert.deepEqual(o.ids, ['u1', 'u2']);
      if (transport !== 'poll') assert.equal(s.hub.hub.metrics.historyFailures, 1);
    },
  },
  {
    name: 'the hub closes while it is admitted: 503, no stream opened after the close',
    lastEventID: 'u1',
    followUp: false,
    async during(s) {
      const held = s.store.hold(1);
      return async () => {
        await held.reached;
        const closed = s.hub.hub.close();
        held.release();
        await closed;
      };
    },
    expect(o) {
      assert.equal(o.status, 503);
    },
  },
];

/** The stream opened with the cursor (200, or an upgrade with its opening frame), then ended. */
function assertOpenedThenClosed(
  o: Outcome,
  transport: TransportName,
  cursor: string,
  ws: { code: number; reason: RegExp },
): void {
  if (transport === 'ws') {
    assert.equal(o.status, 101);
    assert.equal(o.close?.code, ws.code, o.close?.reason);
    assert.match(o.close!.reason, ws.reason);
  } else assert.equal(o.status, 200, o.text);
  if (transport === 'poll') {
    // A poll's cursor is the last update in its answer.
    assert.equal(o.cursor, o.ids.at(-1) ?? cursor);
  } else assert.equal(o.cursor, cursor);
}

/**
 * The address (one subscription allowed) may subscribe again: its count was released. The hub
 * releases it on the response's or socket's 'close', which may follow the client's view of the end
 * by a turn, so a few tries are allowed.
 */
async function assertAddressReleased(hub: TestHub): Promise<void> {
  let status = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    const next = await bounded(
      pollOnce(withQuery(subscribeUrl(hub, [['topic', 't']]), [['transport', 'poll']])),
      'follow-up poll',
      ANSWER_MS,
    );
    status = next.status;
    if (status !== 429) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.equal(status, 200, 'the address count was released');
}

describe('subscription lifecycle: every exit answers or closes', () => {
  for (const exit of EXITS) {
    for (const transport of TRANSPORTS) {
      test(`${transport}: ${exit.name}`, async (t) => {
        const s = await setup(exit.options);
        t.after(() => s.hub.close());
        await exit.before?.(s);
        const arrange = await exit.during?.(s);
        const url = withQuery(subscribeUrl(s.hub, exit.query ?? [['topic', 't']]), [
          ['lastEventID', exit.lastEventID],
        ]);
        const answer = bounded(outcome(transport, url), `${transport} answer`, ANSWER_MS);
        if (arrange !== undefined) await bounded(arrange(), 'the fault arranged', ANSWER_MS);
        const o = await answer;
        exit.expect(o, transport, s);
        // Nothing stays registered, counted, or held against the address (one allowed).
        await eventually(() => s.hub.hub.subscriberCount === 0, 'no subscriber left');
        assert.equal(s.hub.hub.metrics.connections, 0);
        if (exit.followUp !== false) await assertAddressReleased(s.hub);
      });
    }
  }
});

test('poll: its poll timeout passes while the first page loads: answered with its cursor, nothing held', async (t) => {
  // No connection deadline: the poll's own timeout (300 ms) is what ends it while the store is slow.
  const s = await setup();
  t.after(() => s.hub.close());
  const held = s.store.hold(1);
  const url = withQuery(subscribeUrl(s.hub, [['topic', 't']]), [['lastEventID', 'u1']]);
  const answer = bounded(outcome('poll', url), 'poll answer', ANSWER_MS);
  await bounded(held.reached, 'admission reached the store', ANSWER_MS);
  await eventually(() => s.hub.hub.subscriberCount === 0, 'poll expired', 20_000);
  held.release();
  const o = await answer;
  assert.equal(o.status, 200, o.text);
  assert.equal(o.cursor, 'u1');
  assert.deepEqual(o.ids, []);
  assert.equal(s.hub.hub.metrics.connections, 0);
  await assertAddressReleased(s.hub);
});

describe("subscription lifecycle: its token's exp passes while the first page loads", () => {
  for (const transport of TRANSPORTS) {
    test(`${transport}: answered with its cursor, then closed`, async (t) => {
      const s = await setup();
      t.after(() => s.hub.close());
      const held = s.store.hold(1);
      const token = await signDraft07({ subscribe: ['t'] }, { expiresInSec: 1 });
      const url = withQuery(subscribeUrl(s.hub, [['topic', 't']]), [['lastEventID', 'u1']]);
      const answer = bounded(
        outcome(transport, url, { authorization: `Bearer ${token}` }),
        `${transport} answer`,
        ANSWER_MS,
      );
      await bounded(held.reached, 'admission reached the store', ANSWER_MS);
      await eventually(() => s.hub.hub.subscriberCount === 0, 'token expired', 20_000);
      held.release();
      const o = await answer;
      assertOpenedThenClosed(o, transport, 'u1', { code: 1000, reason: /expired/ });
      assert.deepEqual(o.ids, []);
      await assertAddressReleased(s.hub);
    });
  }
});

describe('subscription lifecycle: the client leaves while admitted', () => {
  for (const transport of TRANSPORTS) {
    test(`${transport}: nothing stays registered or counted`, async (t) => {
      const s = await setup();
      t.after(() => s.hub.close());
      const held = s.store.hold(1);
      const url = withQuery(subscribeUrl(s.hub, [['topic', 't']]), [
        ['lastEventID', 'u1'],
        ...(transport === 'poll' ? ([['transport', 'poll']] as [string, string][]) : []),
      ]);
      let leave: () => void;
      if (transport === 'ws') {
        const ws = new WebSocket(url.replace(/^http/, 'ws'));
        ws.on('error', () => {});
        leave = () => ws.terminate();
      } else {
        const controller = new AbortController();
        fetch(url, { signal: controller.signal }).catch(() => {});
        leave = () => controller.abort();
      }
      await bounded(held.reached, 'admission reached the store', ANSWER_MS);
      leave();
      await new Promise((r) => setTimeout(r, 50));
      held.release();
      await eventually(() => s.hub.hub.subscriberCount === 0, 'no subscriber left');
      await eventually(() => s.hub.hub.metrics.connections === 0, 'no connection counted');
      await assertAddressReleased(s.hub);
    });
  }
});
