import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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

describe('publish (POST /.well-known/mercure)', () => {
  let hub: TestHub;
  let token: string;
  before(async () => {
    hub = await startHub({
      anonymous: true,
      maxBodyBytes: 4096,
      maxTopicsPerUpdate: 3,
      publishOrigins: ['https://app.example'],
    });
    token = await signDraft07({ publish: ['*'] });
  });
  after(() => hub.close());

  test('answers 200 text/plain with a generated urn:uuid id, and subscribers get the exact bytes', async () => {
    const sub = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/a']]));
    const res = await publish(
      hub,
      { topic: 'https://example.com/a', data: 'line 1\nline 2', type: 'price', retry: '2500' },
      token,
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain; charset=utf-8$/);
    assert.match(res.body, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const event = await sub.next();
    assert.deepEqual(event, { type: 'price', data: 'line 1\nline 2', lastEventId: res.body });
    assert.ok(
      sub.text.includes(`event: price\nid: ${res.body}\nretry: 2500\ndata: line 1\ndata: line 2\n\n`),
      sub.text,
    );
    sub.close();
  });

  test('keeps the publisher id; the first topic is canonical, others alternate and also route', async () => {
    const sub = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/alt']]));
    const res = await publish(
      hub,
      { topic: ['https://example.com/canon', 'https://example.com/alt'], data: 'x', id: 'my-id-1' },
      token,
    );
    assert.equal(res.status, 200);
    assert.equal(res.body, 'my-id-1');
    assert.deepEqual(await sub.next(), { type: 'message', data: 'x', lastEventId: 'my-id-1' });
    sub.close();
  });

  test('a reused id is refused with 409 (ids are resume cursors)', async () => {
    assert.equal((await publish(hub, { topic: 'https://example.com/d', id: 'dup-1' }, token)).status, 200);
    const res = await publish(hub, { topic: 'https://example.com/d', id: 'dup-1' }, token);
    assert.equal(res.status, 409);
    assert.match(res.body, /unique/);
  });

  const bad: [string, Record<string, string | string[]>, number, RegExp][] = [
    ['no topic', { data: 'x' }, 400, /at least one "topic"/],
    ['too many topics', { topic: ['a', 'b', 'c', 'd'] }, 400, /at most 3 topics/],
    ['id with a line break', { topic: 't', id: 'a\nb' }, 400, /id must not contain/],
    ['id with NUL', { topic: 't', id: 'a\u0000b' }, 400, /id must not contain/],
    ['id starting with #', { topic: 't', id: '#1' }, 400, /reserved/],
    ['id "earliest"', { topic: 't', id: 'earliest' }, 400, /reserved/],
    ['type with CR', { topic: 't', type: 'a\rb' }, 400, /type must not contain/],
    ['reserved type "mercure"', { topic: 't', type: 'mercure' }, 400, /reserved/],
    ['retry not digits', { topic: 't', retry: '-5' }, 400, /digits/],
    ['retry with a unit', { topic: 't', retry: '10ms' }, 400, /digits/],
    ['topic "*"', { topic: '*' }, 400, /wildcard/],
    ['topic in the hub namespace', { topic: '/.well-known/mercure/subscriptions/x/y' }, 400, /reserved/],
    [
      'absolute topic in the hub namespace',
      { topic: 'https://h.example/.well-known/%6Dercure/x' },
      400,
      /reserved/,
    ],
    ['dot segments into the hub namespace', { topic: '/a/../.well-known/mercure' }, 400, /reserved/],
    ['topic with a zero-width joiner', { topic: 'a\u200db' }, 400, /invisible/],
  ];
  for (const [name, fields, status, message] of bad) {
    test(`refuses ${name} with ${status} and says why`, async () => {
      const res = await publish(hub, fields, token);
      assert.equal(res.status, status, res.body);
      assert.match(res.body, message);
    });
  }

  // Percent-escapes whose bytes are not UTF-8 must not become U+FFFD: the field is named.
  const notUtf8: [string, string, string][] = [
    ['a topic ending in %FF%FE', 'topic=https%3A%2F%2Fexample.com%2Fa%FF%FE&data=x', 'topic'],
    ['data holding %FF%FE%FD', 'topic=t&data=ok%FF%FE%FD', 'data'],
    ['a topic with a broken escape', 'topic=%E0%A4%A', 'topic'],
    ['an id holding an encoded lone surrogate', 'topic=t&id=a%ED%A0%80b', 'id'],
    ['a type with a truncated sequence', 'topic=t&type=%E2%82', 'type'],
  ];
  for (const [name, body, field] of notUtf8) {
    test(`400 for ${name}, naming the field, and nothing is published`, async () => {
      const sub = await openStream(subscribeUrl(hub, [['topic', '*']]));
      const res = await fetch(hub.hubUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` },
        body,
      });
      try {
        const text = await res.text();
        assert.equal(res.status, 400, text);
        assert.ok(text.includes(`"${field}" is not valid UTF-8 after percent-decoding`), text);
        // The next update is the first this subscriber sees.
        await publish(hub, { topic: 'after', data: 'next' }, token);
        assert.equal((await sub.next()).data, 'next');
      } finally {
        sub.close();
      }
    });
  }

  test('valid multibyte escapes and literal non-ASCII text are kept exactly', async () => {
    const sub = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/é']]));
    const res = await fetch(hub.hubUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` },
      body: 'topic=https%3A%2F%2Fexample.com%2F%C3%A9&data=%E2%82%AC+%F0%9F%98%80+€%41',
    });
    assert.equal(res.status, 200, await res.text());
    assert.equal((await sub.next()).data, '€ 😀 €A');
    sub.close();
  });

  test('413 past maxBodyBytes, whether announced or streamed', async () => {
    const big = 'x'.repeat(5000);
    const res = await publish(hub, { topic: 't', data: big }, token);
    assert.equal(res.status, 413);
    assert.match(res.body, /limited to 4096 bytes/);
    // Chunked body without Content-Length: counted as it streams.
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(`data=${'y'.repeat(1000)}`));
        controller.close();
      },
    });
    const streamed = await fetch(hub.hubUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${token}` },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    assert.equal(streamed.status, 413);
  });

  test('415 for a body that is neither form-urlencoded nor a JSON batch', async () => {
    const res = await fetch(hub.hubUrl, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${token}` },
      body: 'topic=t',
    });
    assert.equal(res.status, 415);
    assert.match(await res.text(), /application\/x-www-form-urlencoded, or application\/json for a batch/);
  });

  test('401 with a bare Bearer challenge without a token; 401 invalid_token for a bad one', async () => {
    const none = await publish(hub, { topic: 't' }, undefined);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), `Bearer resource_metadata="${METADATA}"`);
    const forged = await publish(
      hub,
      { topic: 't' },
      await signDraft07({ publish: ['*'] }, { key: 'another key of 32 bytes at least!!' }),
    );
    assert.equal(forged.status, 401);
    assert.match(forged.headers.get('www-authenticate')!, /error="invalid_token"/);
  });

  test('403 insufficient_scope unless every topic is allowed (draft-07 and 1.0 tokens)', async () => {
    const narrow = await signDraft07({ publish: ['https://example.com/books/{id}'] });
    assert.equal((await publish(hub, { topic: 'https://example.com/books/1' }, narrow)).status, 200);
    const res = await publish(
      hub,
      { topic: ['https://example.com/books/1', 'https://example.com/other'] },
      narrow,
    );
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate')!, /error="insufficient_scope"/);
    const subscribeOnly = await signDraft07({ subscribe: ['*'] });
    assert.equal((await publish(hub, { topic: 'https://example.com/books/1' }, subscribeOnly)).status, 403);

    const v1 = await sign10([
      {
        actions: ['publish'],
        topics: [{ match: 'https://example.com/books/:id', match_type: 'urlpattern' }],
      },
    ]);
    assert.equal((await publish(hub, { topic: 'https://example.com/books/2' }, v1)).status, 200);
    assert.equal((await publish(hub, { topic: 'https://example.com/news/2' }, v1)).status, 403);
  });

  test('a cookie token publishes only from an allowed Origin (CSRF)', async () => {
    const cookie = { cookie: `mercureAuthorization=${token}` };
    assert.equal(
      (await publish(hub, { topic: 't1' }, undefined, { ...cookie, origin: 'https://app.example' })).status,
      200,
    );
    const foreign = await publish(hub, { topic: 't1' }, undefined, {
      ...cookie,
      origin: 'https://evil.example',
    });
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /allowed origin/);
    const viaReferer = await publish(hub, { topic: 't1' }, undefined, {
      ...cookie,
      referer: 'https://app.example/page',
    });
    assert.equal(viaReferer.status, 200);
    assert.equal((await publish(hub, { topic: 't1' }, undefined, cookie)).status, 403);
  });

  test('private is set by the presence of the field, whatever its value', async () => {
    const sub = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/p']]));
    await publish(hub, { topic: 'https://example.com/p', data: 'secret', private: '' }, token);
    await publish(hub, { topic: 'https://example.com/p', data: 'public' }, token);
    assert.equal((await sub.next()).data, 'public');
    sub.close();
  });

  test('503 when the store cannot take the update', async () => {
    const other = await startHub({ anonymous: true });
    await other.hub.store.close();
    const res = await publish(other, { topic: 't' }, token);
    assert.equal(res.status, 503);
    await other.close().catch(() => {});
  });
});
