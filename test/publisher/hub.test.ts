import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPublisher, PublishError } from '../../src/publisher/index.js';
import { openStream, signDraft07, startHub, subscribeUrl } from '../support/hub.js';

test('against the Herald hub: a published update reaches subscribers with the id the publisher got', async (t) => {
  const hub = await startHub({ anonymous: true });
  t.after(() => hub.close());
  const topic = 'https://example.com/books/1';
  const stream = await openStream(subscribeUrl(hub, [['topic', topic]]));
  t.after(() => stream.close());
  const publisher = createPublisher({ hubUrl: hub.hubUrl, token: await signDraft07({ publish: ['*'] }) });
  t.after(() => publisher.close());

  const data = '{"title":"Dune"}\nsecond line';
  const generated = await publisher.publish({ topics: topic, data, type: 'book' });
  assert.ok(generated.length > 0);
  const chosen = await publisher.publish({ topics: topic, data: 'two', id: 'urn:example:2', retry: 1500 });
  assert.equal(chosen, 'urn:example:2');

  const first = await stream.next();
  assert.deepEqual([first.type, first.data, first.lastEventId], ['book', data, generated]);
  const second = await stream.next();
  assert.deepEqual([second.type, second.data, second.lastEventId], ['message', 'two', 'urn:example:2']);
  assert.match(stream.text, /retry: ?1500\n/);
});

test('against the Herald hub: private updates reach only authorized subscribers', async (t) => {
  const hub = await startHub({ anonymous: true });
  t.after(() => hub.close());
  const topic = 'https://example.com/secret';
  const anonymous = await openStream(subscribeUrl(hub, [['topic', topic]]));
  t.after(() => anonymous.close());
  const authorized = await openStream(subscribeUrl(hub, [['topic', topic]]), {
    authorization: `Bearer ${await signDraft07({ subscribe: [topic] })}`,
  });
  t.after(() => authorized.close());
  const publisher = createPublisher({ hubUrl: hub.hubUrl, token: await signDraft07({ publish: ['*'] }) });
  t.after(() => publisher.close());

  await publisher.publish({ topics: topic, data: 'hidden', private: true });
  await publisher.publish({ topics: topic, data: 'public' });
  assert.equal((await authorized.next()).data, 'hidden');
  assert.equal((await authorized.next()).data, 'public');
  assert.equal((await anonymous.next()).data, 'public');
});

test('against the Herald hub: refusals surface as PublishError with the status', async (t) => {
  const hub = await startHub({ anonymous: true });
  t.after(() => hub.close());
  const cases = [
    { token: undefined, status: 401 },
    { token: 'not-a-jwt', status: 401 },
    { token: await signDraft07({ publish: ['https://example.com/other'] }), status: 403 },
  ];
  for (const { token, status } of cases) {
    const publisher = createPublisher({ hubUrl: hub.hubUrl, token });
    t.after(() => publisher.close());
    await assert.rejects(
      publisher.publish({ topics: 'https://example.com/books/1', data: 'x' }),
      (e: unknown) => {
        assert.ok(e instanceof PublishError, String(e));
        assert.equal(e.status, status);
        assert.match(e.message, new RegExp(`status ${status}`));
        return true;
      },
    );
  }
});
