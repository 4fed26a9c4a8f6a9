import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openStream, publish, signDraft07, startHub, subscribeUrl, type TestHub } from '../../support/hub.js';

type Item = Record<string, unknown>;

describe('batch publish (POST /.well-known/mercure, application/json)', () => {
  let hub: TestHub;
  let token: string;
  before(async () => {
    hub = await startHub({ anonymous: true, maxBodyBytes: 4096, maxTopicsPerUpdate: 3 });
    token = await signDraft07({ publish: ['*'] });
  });
  after(() => hub.close());

  async function batch(
    body: unknown,
    bearer = token,
  ): Promise<{ status: number; text: string; headers: Headers }> {
    const res = await fetch(hub.hubUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  /** Every ID in the hub's history, oldest first. */
  async function history(): Promise<string[]> {
    const { updates } = await hub.hub.store.after('earliest', 100_000);
    return updates.map((u) => u.id);
  }

  test('answers 200 JSON with every ID in order; subscribers get every update, fields kept', async () => {
    const sub = await openStream(subscribeUrl(hub, [['topic', 'https://example.com/b/{n}']]));
    const res = await batch([
      { topic: 'https://example.com/b/1', data: 'one' },
      { topic: ['https://example.com/other', 'https://example.com/b/2'], data: 'two\nlines', id: 'batch-2' },
      { topic: 'https://example.com/b/3', data: 'three', type: 'price', retry: 1500 },
      { topic: 'https://example.com/b/4', data: 'hidden', private: true },
      { topic: 'https://example.com/b/5', data: 'five', retry: '2000', 'herald.key': 'k' },
    ]);
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type')!, /^application\/json/);
    const ids = JSON.parse(res.text) as string[];
    assert.equal(ids.length, 5);
    assert.equal(ids[1], 'batch-2');
    for (const i of [0, 2, 3, 4]) assert.match(ids[i]!, /^urn:uuid:[0-9a-f-]{36}$/);
    assert.deepEqual(await sub.next(), { type: 'message', data: 'one', lastEventId: ids[0] });
    assert.deepEqual(await sub.next(), { type: 'message', data: 'two\nlines', lastEventId: 'batch-2' });
    assert.deepEqual(await sub.next(), { type: 'price', data: 'three', lastEventId: ids[2] });
    // The private one reaches nobody without a subscribe grant; the next is update 4.
    assert.deepEqual(await sub.next(), { type: 'message', data: 'five', lastEventId: ids[4] });
    assert.ok(sub.text.includes('retry: 1500\n'), sub.text);
    assert.ok(sub.text.includes('retry: 2000\n'), sub.text);
    assert.deepEqual((await history()).slice(-5), ids);
    sub.close();
  });

  test('a batch of one, and a plain form publish beside it, both still work', async () => {
    const res = await batch([{ topic: 't', data: 'x' }]);
    assert.equal(res.status, 200, res.text);
    assert.equal((JSON.parse(res.text) as string[]).length, 1);
    const single = await publish(hub, { topic: 't', data: 'y' }, token);
    assert.equal(single.status, 200);
    assert.match(single.body, /^urn:uuid:/);
  });

  const good: Item[] = [
    { topic: 'https://example.com/ok/1', data: 'a' },
    { topic: 'https://example.com/ok/2', data: 'b' },
  ];
  // The bad item is the third (index 2); the status and the message are a single publish's.
  const bad: [string, Item, number, RegExp][] = [
    ['no topic', { data: 'x' }, 400, /at least one "topic"/],
    ['too many topics', { topic: ['a', 'b', 'c', 'd'] }, 400, /at most 3 topics/],
    ['an id with a line break', { topic: 't', id: 'a\nb' }, 400, /id must not contain/],
    ['an id starting with #', { topic: 't', id: '#1' }, 400, /reserved/],
    ['the reserved type "mercure"', { topic: 't', type: 'mercure' }, 400, /reserved/],
    ['a retry not made of digits', { topic: 't', retry: '-5' }, 400, /digits/],
    ['a negative retry', { topic: 't', retry: -5 }, 400, /digits/],
    ['the topic "*"', { topic: '*' }, 400, /wildcard/],
    ['a topic in the hub namespace', { topic: '/.well-known/mercure/subscriptions/x' }, 400, /reserved/],
    ['an empty herald.key', { topic: 't', 'herald.key': '' }, 400, /herald\.key must not be empty/],
    ['an unknown field', { topic: 't', topics: ['u'] }, 400, /unknown field "topics"/],
    ['data that is not a string', { topic: 't', data: 5 }, 400, /data must be a string/],
    ['private that is not a boolean', { topic: 't', private: 'on' }, 400, /private must be true or false/],
    ['a topic that is a number', { topic: 7 }, 400, /topic must be a string or an array/],
    ['an item that is not an object', 'just text' as unknown as Item, 400, /must be a JSON object/],
    ['an ID given twice in the batch', { topic: 't', id: 'twice' }, 409, /twice in this batch/],
  ];
  for (const [name, item, status, message] of bad) {
    test(`refuses a batch with ${name}: ${status}, naming item 2, and stores nothing of it`, async () => {
      const sub = await openStream(subscribeUrl(hub, [['topic', '*']]));
      try {
        const before = await history();
        const items = name.includes('twice') ? [{ ...good[0], id: 'twice' }, good[1], item] : [...good, item];
        const res = await batch(items);
        assert.equal(res.status, status, res.text);
        assert.match(res.text, /^update 2 of the batch: /);
        assert.match(res.text, message);
        assert.equal(res.headers.get('herald-batch-index'), '2');
        assert.deepEqual(await history(), before);
        // The next update is the first this subscriber sees: nothing of the batch was delivered.
        await publish(hub, { topic: 'after', data: 'next' }, token);
        assert.equal((await sub.next()).data, 'next');
      } finally {
        sub.close();
      }
    });
  }

  test('409 naming the item whose ID is already kept, and nothing of the batch stored', async () => {
    assert.equal((await publish(hub, { topic: 't', id: 'kept-1' }, token)).status, 200);
    const before = await history();
    const res = await batch([...good, { topic: 't', id: 'fresh' }, { topic: 't', id: 'kept-1' }]);
    assert.equal(res.status, 409, res.text);
    assert.match(res.text, /^update 3 of the batch: .*"kept-1", already stored/);
    assert.equal(res.headers.get('herald-batch-index'), '3');
    assert.deepEqual(await history(), before);
  });

  test('403 naming the item whose topic the token does not grant, and nothing stored', async () => {
    const narrow = await signDraft07({ publish: ['https://example.com/ok/{n}'] });
    const before = await history();
    const res = await batch([...good, { topic: 'https://example.com/secret' }], narrow);
    assert.equal(res.status, 403, res.text);
    assert.match(res.text, /^update 2 of the batch: the token does not allow/);
    assert.match(res.headers.get('www-authenticate')!, /error="insufficient_scope"/);
    assert.deepEqual(await history(), before);
    assert.equal((await batch(good, narrow)).status, 200);
  });

  const malformed: [string, string, RegExp][] = [
    ['JSON that does not parse', '[{"topic": "t"', /must be a JSON array of updates/],
    ['a JSON object instead of an array', '{"topic": "t"}', /non-empty JSON array .*got object/],
    ['an empty array', '[]', /non-empty JSON array .*got an empty array/],
  ];
  for (const [name, body, message] of malformed) {
    test(`400 for ${name}, nothing stored`, async () => {
      const before = await history();
      const res = await batch(body);
      assert.equal(res.status, 400, res.text);
      assert.match(res.text, message);
      assert.equal(res.headers.get('herald-batch-index'), null);
      assert.deepEqual(await history(), before);
    });
  }

  test('413 for a batch past maxBodyBytes, nothing stored', async () => {
    const before = await history();
    const items = Array.from({ length: 100 }, (_, i) => ({ topic: `t${i}`, data: 'x'.repeat(50) }));
    const res = await batch(items);
    assert.equal(res.status, 413, res.text);
    assert.match(res.text, /limited to 4096 bytes/);
    assert.deepEqual(await history(), before);
  });
});
