import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStream, sign10, signDraft07, startHub, subscribeUrl, type TestHub } from '../../support/hub.js';

const SUBS = '/.well-known/mercure/subscriptions';

describe('active subscriptions', () => {
  let hub: TestHub;
  let draft07: string;
  let v1: string;
  before(async () => {
    hub = await startHub({ anonymous: true, subscriptions: true });
    draft07 = await signDraft07({ subscribe: [`${SUBS}{/topic}{/subscriber}`], payload: { user: 'alice' } });
    v1 = await sign10([
      {
        actions: ['subscribe'],
        topics: [{ match: `${SUBS}/*`, match_type: 'urlpattern' }, { match: SUBS }],
      },
      // 1.0 payloads are per grant: the first grant matching the subscription's own selector.
      {
        actions: ['subscribe'],
        topics: [{ match: 'https://example.com/:selector', match_type: 'urlpattern' }],
        payload: { user: 'bob' },
      },
    ]);
  });
  after(() => hub.close());

  async function get(path: string, token?: string) {
    const res = await fetch(`${hub.origin}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    return {
      status: res.status,
      headers: res.headers,
      body: res.status === 200 ? await res.json() : await res.text(),
    };
  }

  test('draft-07: JSON-LD events on connect and disconnect, with the token payload', async () => {
    const watcher = await openStream(subscribeUrl(hub, [['topic', `${SUBS}/{topic}/{subscriber}`]]), {
      authorization: `Bearer ${draft07}`,
    });
    const joined = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/{x}']]), {
      authorization: `Bearer ${draft07}`,
    });
    // The watcher first sees its own subscription.
    assert.equal(JSON.parse((await watcher.next()).data).topic, `${SUBS}/{topic}/{subscriber}`);
    const connect = await watcher.next();
    assert.equal(connect.type, 'message');
    const doc = JSON.parse(connect.data);
    assert.equal(doc['@context'], 'https://mercure.rocks/');
    assert.equal(doc.type, 'Subscription');
    assert.equal(doc.topic, 'https://example.com/{x}');
    assert.equal(doc.active, true);
    assert.deepEqual(doc.payload, { user: 'alice' });
    assert.match(doc.subscriber, /^urn:uuid:/);
    assert.equal(doc.id, `${SUBS}/https%3A%2F%2Fexample.com%2F%7Bx%7D/${encodeURIComponent(doc.subscriber)}`);
    joined.close();
    const leave = JSON.parse((await watcher.next()).data);
    assert.equal(leave.id, doc.id);
    assert.equal(leave.active, false);
    watcher.close();
  });

  test('1.0: JSON events of type "mercure" for match= subscriptions', async () => {
    const watcher = await openStream(subscribeUrl(hub, [['match_urlpattern', `${SUBS}/*`]]), {
      authorization: `Bearer ${v1}`,
    });
    const joined = await openStream(
      subscribeUrl(hub, [['match_urlpattern', 'https://example.com/:selector']]),
      {
        authorization: `Bearer ${v1}`,
      },
    );
    assert.equal(JSON.parse((await watcher.next()).data).match, `${SUBS}/*`);
    const event = await watcher.next();
    assert.equal(event.type, 'mercure');
    const doc = JSON.parse(event.data);
    assert.equal(doc.type, 'subscription');
    assert.equal(doc.match_type, 'urlpattern');
    assert.equal(doc.match, 'https://example.com/:selector');
    assert.deepEqual(doc.payload, { user: 'bob' });
    assert.equal(
      doc.id,
      `${SUBS}/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector/${encodeURIComponent(doc.subscriber)}`,
    );
    joined.close();
    assert.equal(JSON.parse((await watcher.next()).data).active, false);
    watcher.close();
  });

  test('anonymous subscribers do not receive subscription events (they are private)', async () => {
    const anonymous = await openStream(
      subscribeUrl(hub, [
        ['topic', `${SUBS}/{topic}/{subscriber}`],
        ['topic', 'marker'],
      ]),
    );
    const joined = await openStream(subscribeUrl(hub, [['topic', 'something']]));
    await hub.hub.publish({ topics: ['marker'], data: 'marker' });
    assert.equal((await anonymous.next()).data, 'marker');
    joined.close();
    anonymous.close();
  });

  test('the API lists subscriptions in the shape of the token, with the resume cursor', async () => {
    const a = await openStream(
      subscribeUrl(hub, [
        ['topic', 'https://example.com/a'],
        ['match', 'https://example.com/b'],
      ]),
    );
    await hub.hub.publish({ topics: ['https://example.com/a'], data: '', id: 'cursor-1' });

    const d7 = await get(SUBS, draft07);
    assert.equal(d7.status, 200);
    assert.equal(d7.headers.get('content-type'), 'application/ld+json');
    assert.match(d7.headers.get('link')!, /<\/\.well-known\/mercure>; rel="mercure"/);
    assert.equal(d7.body['@context'], 'https://mercure.rocks/');
    assert.equal(d7.body.type, 'Subscriptions');
    assert.equal(d7.body.lastEventID, 'cursor-1');
    const mine = d7.body.subscriptions.filter((s: { topic: string }) => s.topic === 'https://example.com/a');
    assert.equal(mine.length, 1);
    const subscriber = mine[0].subscriber as string;

    const one = await get(mine[0].id, draft07);
    assert.equal(one.status, 200);
    assert.equal(one.body.topic, 'https://example.com/a');
    assert.equal(one.body.active, true);
    assert.equal(one.body.lastEventID, 'cursor-1');

    const forTopic = await get(`${SUBS}/${encodeURIComponent('https://example.com/a')}`, draft07);
    assert.deepEqual(
      forTopic.body.subscriptions.map((s: { subscriber: string }) => s.subscriber),
      [subscriber],
    );

    const v = await get(SUBS, v1);
    assert.equal(v.status, 200);
    assert.equal(v.headers.get('content-type'), 'application/json');
    assert.match(
      v.headers.get('link')!,
      /rel="mercure"; last-event-id="cursor-1"; type="mercure"; content-type="application\/json"/,
    );
    assert.equal(v.body.type, 'subscriptions');
    const m = v.body.subscriptions.filter((s: { subscriber: string }) => s.subscriber === subscriber);
    assert.deepEqual(
      m.map((s: { match: string; match_type: string }) => [s.match_type, s.match]),
      [['exact', 'https://example.com/b']],
    );
    const single = await get(m[0].id, v1);
    assert.equal(single.body.match, 'https://example.com/b');

    a.close();
    await a.ended;
    // Gone subscriptions are 404.
    for (let i = 0; i < 50 && (await get(mine[0].id, draft07)).status === 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal((await get(mine[0].id, draft07)).status, 404);
  });

  test('the API needs a token granting the requested path', async () => {
    assert.equal((await get(SUBS)).status, 401);
    const narrow = await signDraft07({ subscribe: ['https://example.com/{x}'] });
    const res = await get(SUBS, narrow);
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate')!, /insufficient_scope/);
  });

  test('the API is off unless subscriptions are enabled', async (t) => {
    const plain = await startHub({ anonymous: true });
    t.after(() => plain.close());
    const res = await fetch(`${plain.origin}${SUBS}`, { headers: { authorization: `Bearer ${draft07}` } });
    assert.equal(res.status, 404);
  });
});
