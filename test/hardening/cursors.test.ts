/**
 * What a subscriber's cursor may tell, on every transport: never the ID of an update it may not read
 * (Mercure 1.0, "Reconnection"), nothing about whether a guessed private ID exists, and never a 500
 * for a valid ID whatever its characters (an ID beyond Latin-1 goes in headers as its UTF-8 bytes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../server/helpers.js';
import {
  openStream,
  publish,
  sign10,
  signDraft07,
  startHub,
  subscribeUrl,
  type TestHub,
} from '../support/hub.js';
import { outcome } from '../support/outcome.js';
import { bounded } from '../support/retry.js';
import { mustOpenSocket, pollOnce, TRANSPORTS, withQuery } from '../support/transports.js';

const SECRET = 'salary-review-alice-2026-fired';
const UNICODE = 'ticket-✓-東京';
const ANSWER_MS = 10_000;

/** A header value as node:http reads it: the UTF-8 bytes of the ID, one Latin-1 character each. */
const asHeaderBytes = (id: string) => Buffer.from(id, 'utf8').toString('latin1');

describe('cursors never disclose private updates', () => {
  let hub: TestHub;
  let pub: string;
  before(async () => {
    hub = await startHub({ anonymous: true, pollTimeoutMs: 200 });
    pub = await signDraft07({ publish: ['*'] });
    await publish(hub, { topic: 'news', id: 'news-1', data: 'public' }, pub);
    await publish(hub, { topic: 'hr/alice', id: SECRET, data: 'private', private: 'on' }, pub);
  });
  after(() => hub.close());

  test('ws: the opening frame and the 101 carry the newest public ID, not the newest private one', async () => {
    const s = await mustOpenSocket(subscribeUrl(hub, [['match', 'news']]));
    const opening = await s.opening;
    assert.equal(opening.lastEventID, 'news-1');
    assert.equal(s.headers['mercure-last-event-id'], 'news-1');
    s.close();
  });

  test('poll: an answer with no update carries the newest public ID', async () => {
    const answer = await pollOnce(withQuery(subscribeUrl(hub, [['topic', 'news']]), [['transport', 'poll']]));
    assert.equal(answer.status, 200);
    assert.equal(answer.body?.lastEventID, 'news-1');
    assert.equal(answer.headers.get('last-event-id'), 'news-1');
  });

  for (const transport of TRANSPORTS) {
    test(`${transport}: resuming from a private ID one may not read is answered as from one that never existed`, async () => {
      const url = (id: string) => withQuery(subscribeUrl(hub, [['topic', 'news']]), [['lastEventID', id]]);
      const guessed = await bounded(outcomeUntil(transport, url(SECRET)), 'guessed', ANSWER_MS);
      const unknown = await bounded(outcomeUntil(transport, url('no-such-id')), 'unknown', ANSWER_MS);
      assert.deepEqual(guessed, unknown);
      // A poll's cursor is the last update it answers; the others tell where they resumed from.
      assert.equal(guessed.cursor, transport === 'poll' ? 'news-1' : 'earliest');
      if (transport !== 'sse') assert.equal(guessed.resumed, false);
      assert.deepEqual(guessed.ids, ['news-1']);
    });
  }

  test('sse: a token that grants the private update resumes from it (cursor echoed, nothing lossy)', async () => {
    const token = await signDraft07({ subscribe: ['hr/alice'] });
    const lossy = hub.hub.metrics.lossyResumes;
    const s = await openStream(withQuery(subscribeUrl(hub, [['topic', 'news']]), [['lastEventID', SECRET]]), {
      authorization: `Bearer ${token}`,
    });
    assert.equal(s.headers['last-event-id'], SECRET);
    assert.equal(hub.hub.metrics.lossyResumes, lossy);
    s.close();
  });
});

/**
 * An outcome reduced to what a client can compare between two resumes: status, cursor, resumed,
 * update IDs. Streams that stay open are read until their history is in, then closed.
 */
async function outcomeUntil(
  transport: 'sse' | 'ws' | 'poll',
  url: string,
): Promise<{ status: number; cursor: string | undefined; resumed: boolean | undefined; ids: string[] }> {
  if (transport === 'poll') {
    const o = await outcome('poll', url);
    return { status: o.status, cursor: o.headers['last-event-id'] as string, resumed: o.resumed, ids: o.ids };
  }
  if (transport === 'ws') {
    const s = await mustOpenSocket(url);
    const opening = await s.opening;
    const first = await s.next();
    s.close();
    return { status: 101, cursor: opening.lastEventID, resumed: opening.resumed, ids: [first.id] };
  }
  const s = await openStream(url, {}, false);
  const first = await s.next();
  s.close();
  const cursor = s.headers['last-event-id'];
  return { status: s.status, cursor: cursor as string, resumed: undefined, ids: [first.lastEventId] };
}

describe('IDs beyond Latin-1', () => {
  let hub: TestHub;
  let pub: string;
  before(async () => {
    hub = await startHub({ anonymous: true, subscriptions: true, pollTimeoutMs: 200 });
    pub = await signDraft07({ publish: ['*'] });
    await publish(hub, { topic: 'tickets', id: UNICODE, data: 'opened' }, pub);
  });
  after(() => hub.close());

  test('sse: resuming from one answers 200 with its UTF-8 bytes as the cursor, and goes on after it', async () => {
    await publish(hub, { topic: 'tickets', id: 'after-ticket', data: 'next' }, pub);
    for (const how of ['query', 'header'] as const) {
      const url =
        how === 'query'
          ? withQuery(subscribeUrl(hub, [['topic', 'tickets']]), [['lastEventID', UNICODE]])
          : subscribeUrl(hub, [['topic', 'tickets']]);
      const s = await openStream(url, how === 'header' ? { 'last-event-id': asHeaderBytes(UNICODE) } : {});
      assert.equal(s.status, 200, `${how}: ${s.text}`);
      assert.equal(s.headers['last-event-id'], asHeaderBytes(UNICODE), how);
      // Resumed after the ID (from earliest, the ID itself would come first).
      assert.equal((await s.next()).lastEventId, 'after-ticket', how);
      s.close();
    }
  });

  test('ws and poll: the cursor headers carry its UTF-8 bytes, the opening frame and the answer the ID itself', async () => {
    const url = withQuery(subscribeUrl(hub, [['match', 'tickets']]), [['last_event_id', UNICODE]]);
    const s = await mustOpenSocket(url);
    assert.equal(s.headers['mercure-last-event-id'], asHeaderBytes(UNICODE));
    assert.deepEqual(await s.opening, { herald: 'open', lastEventID: UNICODE });
    s.close();
    const polled = await pollOnce(withQuery(url, [['transport', 'poll']]));
    assert.equal(polled.status, 200, polled.text);
  });

  test('poll: an answer with no update carries such an ID as its cursor, UTF-8 bytes in the header', async () => {
    const id = UNICODE.replace('ticket', 'poll');
    await publish(hub, { topic: 'tickets', id, data: 'newest' }, pub);
    const url = withQuery(subscribeUrl(hub, [['match', 'tickets']]), [['transport', 'poll']]);
    const polled = await bounded(pollOnce(url), 'the poll answer', ANSWER_MS);
    assert.equal(polled.status, 200, polled.text);
    assert.equal(polled.body?.lastEventID, id);
    assert.equal(polled.headers.get('mercure-last-event-id'), asHeaderBytes(id));
  });

  test('many such requests leave no subscriber registered', async () => {
    const url = withQuery(subscribeUrl(hub, [['topic', 'tickets']]), [['lastEventID', UNICODE]]);
    for (let i = 0; i < 50; i++) {
      const s = await openStream(url, {}, false);
      assert.equal(s.status, 200);
      s.close();
    }
    await eventually(
      () => hub.hub.metrics.connections === 0,
      `no phantom connection (${hub.hub.metrics.connections})`,
    );
    assert.equal(hub.hub.subscriberCount, 0);
  });

  test('a stream that fails to open once admitted answers 500 and leaves no subscriber registered', async (t) => {
    // What an ID the response header could not carry once did, on every request: 500 after the
    // subscriber joined, which stayed registered (3,000 requests, 3,000 phantom connections).
    const sse = (hub.hub as unknown as { sse: { stream: (...args: unknown[]) => unknown } }).sse;
    const stream = sse.stream;
    sse.stream = () => {
      throw new Error('the stream could not open');
    };
    t.after(() => {
      sse.stream = stream;
    });
    const url = subscribeUrl(hub, [['topic', 'tickets']]);
    for (let i = 0; i < 5; i++) {
      const res = await fetch(url);
      assert.equal(res.status, 500);
      await res.body?.cancel();
    }
    assert.equal(hub.hub.subscriberCount, 0);
    assert.equal(hub.hub.metrics.connections, 0);
  });

  test('the 1.0 subscriptions API answers 200 while such an ID is the newest', async () => {
    await publish(hub, { topic: 'tickets', id: UNICODE.replace('ticket', 'latest'), data: 'x' }, pub);
    const token = await sign10([
      {
        actions: ['subscribe'],
        topics: [
          { match: '/.well-known/mercure/subscriptions/*', match_type: 'urlpattern' },
          { match: '/.well-known/mercure/subscriptions' },
        ],
      },
    ]);
    const res = await fetch(`${hub.origin}/.well-known/mercure/subscriptions`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200, await res.text());
  });
});
