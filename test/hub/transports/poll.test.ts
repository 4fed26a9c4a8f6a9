import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../../server/helpers.js';
import { publish, signDraft07, startHub, subscribeUrl, type TestHub } from '../../support/hub.js';
import { bounded } from '../../support/retry.js';
import { openSocket, pollOnce, withQuery } from '../../support/transports.js';

function pollUrl(hub: TestHub, params: [string, string][]): string {
  return withQuery(subscribeUrl(hub, params), [['transport', 'poll']]);
}

/** Resolves once the hub holds `n` subscribers (a poll waiting counts as one). */
function subscribers(hub: TestHub, n: number): Promise<void> {
  return eventually(() => hub.hub.subscriberCount === n, `${n} subscribers (${hub.hub.subscriberCount} now)`);
}

describe('long polling (transport=poll)', () => {
  let hub: TestHub;
  let pub: string;
  before(async () => {
    hub = await startHub({ anonymous: true, pollTimeoutMs: 300, maxQueuedBytes: 4096 });
    pub = await signDraft07({ publish: ['*'] });
  });
  after(() => hub.close());

  test('answers at once with the updates after lastEventID, and the next cursor in body and header', async () => {
    for (const n of [1, 2, 3]) await publish(hub, { topic: 'p/h', data: `h${n}`, id: `p-h-${n}` }, pub);
    const answer = await pollOnce(
      pollUrl(hub, [
        ['topic', 'p/h'],
        ['lastEventID', 'p-h-1'],
      ]),
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), 'application/json');
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    assert.equal(answer.headers.get('last-event-id'), 'p-h-3');
    assert.deepEqual(answer.body, {
      lastEventID: 'p-h-3',
      updates: [
        { id: 'p-h-2', data: 'h2' },
        { id: 'p-h-3', data: 'h3' },
      ],
    });
  });

  test('waits for the next update when there is none yet, and returns it', async () => {
    await publish(hub, { topic: 'p/w', data: 'before', id: 'p-w-0' }, pub);
    const waiting = pollOnce(
      pollUrl(hub, [
        ['match', 'p/w'],
        ['last_event_id', 'p-w-0'],
      ]),
    );
    await subscribers(hub, 1);
    await publish(hub, { topic: 'p/w', data: 'next', id: 'p-w-1', type: 'tick' }, pub);
    const answer = await waiting;
    assert.equal(answer.headers.get('mercure-last-event-id'), 'p-w-1');
    assert.deepEqual(answer.body, {
      lastEventID: 'p-w-1',
      updates: [{ id: 'p-w-1', type: 'tick', data: 'next' }],
    });
  });

  test('with nothing to send, answers an empty list after pollTimeoutMs with the same cursor', async () => {
    await publish(hub, { topic: 'p/t', data: 'x', id: 'p-t-0' }, pub);
    const answer = await pollOnce(
      pollUrl(hub, [
        ['topic', 'p/t'],
        ['lastEventID', 'p-t-0'],
      ]),
    );
    assert.deepEqual(answer.body, { lastEventID: 'p-t-0', updates: [] });
  });

  test('without lastEventID, starts from now and gives the cursor to continue from', async () => {
    await publish(hub, { topic: 'p/n', data: 'old', id: 'p-n-0' }, pub);
    const first = await pollOnce(pollUrl(hub, [['topic', 'p/n']]));
    assert.deepEqual(first.body?.updates, []);
    const cursor = first.body!.lastEventID;
    await publish(hub, { topic: 'p/n', data: 'new', id: 'p-n-1' }, pub);
    const second = await pollOnce(
      pollUrl(hub, [
        ['topic', 'p/n'],
        ['lastEventID', cursor],
      ]),
    );
    assert.deepEqual(second.body, { lastEventID: 'p-n-1', updates: [{ id: 'p-n-1', data: 'new' }] });
  });

  test('an unknown lastEventID answers what the hub holds, from earliest, and says so (resumed: false)', async () => {
    await publish(hub, { topic: 'p/u', data: 'held', id: 'p-u-1' }, pub);
    const answer = await pollOnce(
      pollUrl(hub, [
        ['topic', 'p/u'],
        ['lastEventID', 'no-such-id'],
      ]),
    );
    assert.equal(answer.body?.resumed, false);
    assert.deepEqual(answer.body?.updates, [{ id: 'p-u-1', data: 'held' }]);
    assert.equal(answer.body?.lastEventID, 'p-u-1');
    assert.equal(answer.headers.get('last-event-id'), answer.body?.lastEventID);
  });

  test('an answer holds at most maxQueuedBytes of updates; the rest comes with the next poll', async () => {
    const data = 'y'.repeat(1500);
    for (let i = 0; i < 5; i++) await publish(hub, { topic: 'p/big', data, id: `p-big-${i}` }, pub);
    const ids: string[] = [];
    let cursor = 'earliest';
    while (ids.length < 5) {
      const answer = await pollOnce(
        pollUrl(hub, [
          ['topic', 'p/big'],
          ['lastEventID', cursor],
        ]),
      );
      assert.ok(answer.body!.updates.length >= 1 && answer.body!.updates.length <= 2);
      ids.push(...answer.body!.updates.map((u) => u.id));
      cursor = answer.body!.lastEventID;
    }
    assert.deepEqual(ids, ['p-big-0', 'p-big-1', 'p-big-2', 'p-big-3', 'p-big-4']);
  });

  test('private updates go only to polls whose token grants them', async () => {
    await publish(hub, { topic: 'p/p', data: 'start', id: 'p-p-0' }, pub);
    await publish(hub, { topic: 'p/p', data: 'secret', id: 'p-p-1', private: 'on' }, pub);
    await publish(hub, { topic: 'p/p', data: 'public', id: 'p-p-2' }, pub);
    const anonymous = await pollOnce(
      pollUrl(hub, [
        ['topic', 'p/p'],
        ['lastEventID', 'p-p-0'],
      ]),
    );
    assert.deepEqual(
      anonymous.body?.updates.map((u) => u.data),
      ['public'],
    );
    const grant = await signDraft07({ subscribe: ['p/p'] });
    const granted = await pollOnce(
      pollUrl(hub, [
        ['topic', 'p/p'],
        ['lastEventID', 'p-p-0'],
      ]),
      {
        cookie: `mercureAuthorization=${grant}`,
      },
    );
    assert.deepEqual(
      granted.body?.updates.map((u) => u.data),
      ['secret', 'public'],
    );
  });

  test('a poll whose client leaves is forgotten', async () => {
    await new Promise<void>((resolve) => {
      const req = http.get(pollUrl(hub, [['topic', 'p/gone']]));
      req.on('error', () => resolve());
      void subscribers(hub, 1).then(() => {
        req.destroy();
        resolve();
      });
    });
    await subscribers(hub, 0);
  });

  test('a poll whose answer cannot be built is answered 500 and holds nothing', async (t) => {
    // Nothing valid makes an answer fail today; were it to, the poll must not hang unanswered.
    const { setHeader } = http.ServerResponse.prototype;
    http.ServerResponse.prototype.setHeader = function (this: http.ServerResponse, name, value) {
      if (name.toLowerCase() === 'last-event-id') throw new Error('injected: header refused');
      return setHeader.call(this, name, value);
    };
    t.after(() => {
      http.ServerResponse.prototype.setHeader = setHeader;
    });
    await publish(hub, { topic: 'p/broken', data: 'x', id: 'p-broken-1' }, pub);
    const url = pollUrl(hub, [
      ['topic', 'p/broken'],
      ['lastEventID', 'earliest'],
    ]);
    const answer = await bounded(pollOnce(url), 'the poll answer', 10_000);
    assert.equal(answer.status, 500);
    assert.equal(answer.text, 'internal error\n');
    await subscribers(hub, 0);
  });

  test('bad input: unknown transport 400, no selector 400, bad token 401', async () => {
    const unknown = await pollOnce(
      withQuery(subscribeUrl(hub, [['topic', 'x']]), [['transport', 'smoke-signals']]),
    );
    assert.equal(unknown.status, 400);
    assert.match(
      unknown.text,
      /unknown transport "smoke-signals": use sse \(the default\), ws \(a WebSocket upgrade\) or poll/,
    );
    const none = await pollOnce(`${hub.hubUrl}?transport=poll`);
    assert.equal(none.status, 400);
    const badToken = await pollOnce(pollUrl(hub, [['topic', 'x']]), { authorization: 'Bearer nope' });
    assert.equal(badToken.status, 401);
  });
});

test('hub.close() answers waiting polls at once, with their cursor', async () => {
  const hub = await startHub({ anonymous: true, pollTimeoutMs: 60_000 });
  await hub.hub.publish({ topics: ['p/close'], data: 'x', id: 'p-close-0' });
  const waiting = pollOnce(
    pollUrl(hub, [
      ['topic', 'p/close'],
      ['lastEventID', 'p-close-0'],
    ]),
  );
  await subscribers(hub, 1);
  await hub.close();
  assert.deepEqual((await waiting).body, { lastEventID: 'p-close-0', updates: [] });
});

describe('a flood of polls from one address', () => {
  test('past maxConnectionsPerAddress: 429 with Retry-After; polls already waiting still get their update', async () => {
    const hub = await startHub({ anonymous: true, maxConnectionsPerAddress: 3, pollTimeoutMs: 10_000 });
    try {
      const url = pollUrl(hub, [['topic', 'flood']]);
      const waiting = [0, 1, 2].map(() => pollOnce(url));
      await subscribers(hub, 3);
      const refused = await Promise.all(Array.from({ length: 20 }, () => pollOnce(url)));
      for (const r of refused) {
        assert.equal(r.status, 429);
        assert.equal(r.headers.get('retry-after'), '1');
        assert.match(r.text, /maxConnectionsPerAddress/);
      }
      await hub.hub.publish({ topics: ['flood'], data: 'for the patient', id: 'flood-1' });
      for (const answer of await Promise.all(waiting)) {
        assert.deepEqual(answer.body?.updates, [{ id: 'flood-1', data: 'for the patient' }]);
      }
    } finally {
      await hub.close();
    }
  });
});

describe('transports switched off', () => {
  test('a transport left out answers 404 naming the ones that are on', async () => {
    const hub = await startHub({ anonymous: true, transports: ['ws'] });
    try {
      const sse = await fetch(subscribeUrl(hub, [['topic', 'x']]));
      assert.equal(sse.status, 404);
      assert.match(await sse.text(), /the sse transport is off on this hub; it serves ws/);
      const poll = await pollOnce(pollUrl(hub, [['topic', 'x']]));
      assert.equal(poll.status, 404);
      assert.match(poll.text, /the poll transport is off/);
    } finally {
      await hub.close();
    }
  });

  test('with ws off, an upgrade is refused with 404 before it happens', async () => {
    const hub = await startHub({ anonymous: true, transports: ['sse', 'poll'] });
    try {
      const s = await openSocket(subscribeUrl(hub, [['topic', 'x']]));
      assert.ok(!('ws' in s));
      assert.equal(s.status, 404);
      assert.match(s.body, /the ws transport is off on this hub; it serves sse, poll/);
    } finally {
      await hub.close();
    }
  });

  test('transports must name known ones', async () => {
    await assert.rejects(
      () => startHub({ transports: ['sse', 'smtp' as 'sse'] }),
      /transports: must be a non-empty list of "sse", "ws", "poll" \(got "smtp"\)/,
    );
    await assert.rejects(() => startHub({ transports: [] }), /transports: must be a non-empty list/);
  });
});
