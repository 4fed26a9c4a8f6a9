import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { spyNoDelay } from '../../server/helpers.js';
import {
  openStream,
  publish,
  sign10,
  signDraft07,
  startHub,
  subscribeUrl,
  type TestHub,
} from '../../support/hub.js';

const METADATA = 'https://localhost/.well-known/oauth-protected-resource/.well-known/mercure';

describe('subscribe (GET /.well-known/mercure)', () => {
  let hub: TestHub;
  let pub: string;
  before(async () => {
    hub = await startHub({ anonymous: true, maxSelectors: 3 });
    pub = await signDraft07({ publish: ['*'] });
  });
  after(() => hub.close());

  test('opens an event stream: 200 text/event-stream, no caching', async () => {
    const sub = await openStream(subscribeUrl(hub, [['topic', 'x']]));
    assert.equal(sub.status, 200);
    assert.equal(sub.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.match(sub.headers['cache-control']!, /no-cache/);
    sub.close();
  });

  test('a stream opens with a comment and the retry hint, 3000 ms by default', async () => {
    const sub = await openStream(subscribeUrl(hub, [['topic', 'opening']]));
    await publish(hub, { topic: 'opening', data: 'first' }, pub);
    assert.equal((await sub.next()).data, 'first');
    assert.ok(sub.text.startsWith(': ok\nretry: 3000\n\n'), JSON.stringify(sub.text));
    sub.close();
  });

  test('draft-07 topic=: exact strings, URI templates and *', async () => {
    const exact = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/books/1']]));
    const template = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/books/{id}']]));
    const all = await openStream(subscribeUrl(hub, [['topic', '*']]));
    await publish(hub, { topic: 'https://example.com/books/2', data: 'two' }, pub);
    await publish(hub, { topic: 'https://example.com/books/1', data: 'one' }, pub);
    assert.equal((await exact.next()).data, 'one');
    assert.equal((await template.next()).data, 'two');
    assert.equal((await template.next()).data, 'one');
    assert.equal((await all.next()).data, 'two');
    for (const s of [exact, template, all]) s.close();
  });

  test('1.0 match= is exact byte for byte, match_urlpattern= a URL pattern; several combine', async () => {
    const sub = await openStream(
      subscribeUrl(hub, [
        ['match', 'https://example.com/{id}'],
        ['match_urlpattern', 'https://example.com/books/:id'],
      ]),
    );
    await publish(hub, { topic: 'https://example.com/7', data: 'not exact' }, pub);
    await publish(hub, { topic: 'https://example.com/{id}', data: 'exact' }, pub);
    await publish(hub, { topic: 'https://example.com/books/9', data: 'pattern' }, pub);
    assert.equal((await sub.next()).data, 'exact');
    assert.equal((await sub.next()).data, 'pattern');
    sub.close();
  });

  test('an update matching several selectors arrives once', async () => {
    const sub = await openStream(
      subscribeUrl(hub, [
        ['topic', 'dup'],
        ['topic', '*'],
        ['match', 'dup'],
      ]),
    );
    await publish(hub, { topic: 'dup', data: '1' }, pub);
    await publish(hub, { topic: 'dup', data: '2' }, pub);
    assert.equal((await sub.next()).data, '1');
    assert.equal((await sub.next()).data, '2');
    sub.close();
  });

  const refused: [string, [string, string][], RegExp][] = [
    ['no selector', [], /at least one/],
    [
      'too many selectors',
      [
        ['topic', 'a'],
        ['topic', 'b'],
        ['match', 'c'],
        ['match', 'd'],
      ],
      /at most 3/,
    ],
    ['an unknown match_ parameter', [['match_regex', 'a.*']], /unknown topic matcher/],
    ['a match-prefixed name in another case', [['MATCH', 'a']], /unknown topic matcher/],
    ['an invalid URL pattern', [['match_urlpattern', 'https://example.com/(']], /./],
  ];
  // Raw query strings: URLSearchParams would turn these into U+FFFD and subscribe to another topic.
  const notUtf8: [string, string, string][] = [
    ['a topic ending in %FF%FE', 'topic=https%3A%2F%2Fexample.com%2Fa%FF%FE', 'topic'],
    ['a match with a broken escape', 'match=%E0%A4%A', 'match'],
    [
      'a match_urlpattern with an encoded lone surrogate',
      'match_urlpattern=%2Fa%ED%A0%80',
      'match_urlpattern',
    ],
    ['a lastEventID that is not UTF-8', 'topic=a&lastEventID=%C3', 'lastEventID'],
    ['a last_event_id that is not UTF-8', 'match=a&last_event_id=x%FF', 'last_event_id'],
    ['an authorization parameter that is not UTF-8', 'topic=a&authorization=%80', 'authorization'],
  ];
  for (const [name, query, field] of notUtf8) {
    test(`400 for ${name}, naming the field`, async () => {
      const sub = await openStream(`${hub.hubUrl}?${query}`);
      try {
        assert.equal(sub.status, 400);
        await sub.ended;
        assert.ok(sub.text.includes(`"${field}" is not valid UTF-8 after percent-decoding`), sub.text);
      } finally {
        sub.close();
      }
    });
  }

  test('valid multibyte escapes in a query select the exact topic', async () => {
    const sub = await openStream(`${hub.hubUrl}?topic=caf%C3%A9%F0%9F%98%80`);
    assert.equal(sub.status, 200);
    await publish(hub, { topic: 'café😀', data: 'é' }, pub);
    assert.equal((await sub.next()).data, 'é');
    sub.close();
  });

  for (const [name, params, message] of refused) {
    test(`400 for ${name}`, async () => {
      const sub = await openStream(subscribeUrl(hub, params));
      await sub.ended;
      assert.equal(sub.status, 400);
      assert.match(sub.text, message);
    });
  }
});

describe('subscriber authorization', () => {
  let hub: TestHub;
  let pub: string;
  before(async () => {
    hub = await startHub({ anonymous: false });
    pub = await signDraft07({ publish: ['*'] });
  });
  after(() => hub.close());

  test('without anonymous access, no token is 401 with a Bearer challenge', async () => {
    const sub = await openStream(subscribeUrl(hub, [['topic', 'a']]));
    await sub.ended;
    assert.equal(sub.status, 401);
    // No error code when no token was presented (RFC 6750 3.1); the metadata URL helps clients find one.
    assert.equal(sub.headers['www-authenticate'], `Bearer resource_metadata="${METADATA}"`);
  });

  test('an invalid token is 401 invalid_token', async () => {
    const sub = await openStream(subscribeUrl(hub, [['topic', 'a']]), { authorization: 'Bearer not.a.jwt' });
    await sub.ended;
    assert.equal(sub.status, 401);
    assert.match(sub.headers['www-authenticate']!, /invalid_token/);
  });

  test('a token is read from the header, the mercureAuthorization cookie or the authorization query parameter', async () => {
    const token = await signDraft07({ subscribe: ['https://example.com/private/{id}'] });
    const header = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/private/1']]), {
      authorization: `Bearer ${token}`,
    });
    const cookie = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/private/1']]), {
      cookie: `other=1; mercureAuthorization=${token}`,
    });
    const query = await openStream(
      subscribeUrl(hub, [
        ['topic', 'https://example.com/private/1'],
        ['authorization', token],
      ]),
    );
    for (const s of [header, cookie, query]) assert.equal(s.status, 200);
    await publish(hub, { topic: 'https://example.com/private/1', data: 'for you', private: 'on' }, pub);
    for (const s of [header, cookie, query]) {
      assert.equal((await s.next()).data, 'for you');
      s.close();
    }
  });

  test('private updates reach only subscribers whose token matches one of their topics', async () => {
    const allowed = await signDraft07({ subscribe: ['https://example.com/users/42/{+rest}'] });
    const other = await signDraft07({ subscribe: ['https://example.com/users/7/{+rest}'] });
    const v1 = await sign10([
      {
        actions: ['subscribe'],
        topics: [{ match: 'https://example.com/users/42/*', match_type: 'urlpattern' }],
      },
    ]);
    const a = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/books/{id}']]), {
      authorization: `Bearer ${allowed}`,
    });
    const b = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/books/{id}']]), {
      authorization: `Bearer ${other}`,
    });
    const c = await openStream(subscribeUrl(hub, [['match_urlpattern', 'https://example.com/books/:id']]), {
      authorization: `Bearer ${v1}`,
    });
    // The alternate topic is what the token grants (Mercure's example).
    await publish(
      hub,
      {
        topic: ['https://example.com/books/1', 'https://example.com/users/42/books/1'],
        data: 'private',
        private: 'on',
      },
      pub,
    );
    await publish(hub, { topic: 'https://example.com/books/1', data: 'public' }, pub);
    assert.equal((await a.next()).data, 'private');
    assert.equal((await a.next()).data, 'public');
    assert.equal((await b.next()).data, 'public');
    assert.equal((await c.next()).data, 'private');
    assert.equal((await c.next()).data, 'public');
    for (const s of [a, b, c]) s.close();
  });

  test("the stream closes when the subscriber's token expires", async () => {
    const token = await signDraft07({ subscribe: ['*'] }, { expiresInSec: 2 });
    const sub = await openStream(subscribeUrl(hub, [['topic', 'a']]), { authorization: `Bearer ${token}` });
    assert.equal(sub.status, 200);
    await sub.ended;
    assert.equal(hub.hub.subscriberCount, 0);
  });
});

describe('subscribe: TCP_NODELAY on subscriber sockets', () => {
  /** Starts a hub and records each connection's setNoDelay calls (true: no delay). */
  async function spiedHub(tcpNoDelay?: boolean): Promise<{ hub: TestHub; calls: boolean[] }> {
    const hub = await startHub({ anonymous: true, ...(tcpNoDelay !== undefined && { tcpNoDelay }) });
    const calls: boolean[] = [];
    hub.server.on('connection', (socket: import('node:net').Socket) => spyNoDelay(socket, calls));
    return { hub, calls };
  }

  test('by default a subscriber stream runs with Nagle on, and still gets every update', async () => {
    const { hub, calls } = await spiedHub();
    const pub = await signDraft07({ publish: ['*'] });
    const sub = await openStream(subscribeUrl(hub, [['topic', 'n']]));
    for (let i = 0; i < 5; i++) await publish(hub, { topic: 'n', data: `u${i}` }, pub);
    for (let i = 0; i < 5; i++) assert.equal((await sub.next()).data, `u${i}`);
    assert.deepEqual(calls, [false]);
    sub.close();
    await hub.close();
  });

  test('tcpNoDelay: true keeps node:http default (no delay)', async () => {
    const { hub, calls } = await spiedHub(true);
    const sub = await openStream(subscribeUrl(hub, [['topic', 'n']]));
    assert.deepEqual(calls, []);
    sub.close();
    await hub.close();
  });
});
