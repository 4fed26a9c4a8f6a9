/**
 * SSE injection: every field a publisher or a token holder controls that reaches the wire (`id`,
 * `type`, `retry`, `data`, topics, the JWT `payload` of subscription events and API documents, the
 * resume point) carrying CR, LF, CRLF, NUL, U+2028 or a BOM. Fields that frame the stream are
 * refused with 400; data may hold anything, and every subscriber parses back exactly what was
 * published (line breaks as LF, WHATWG "event stream interpretation"), never a forged field.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  openStream,
  publish,
  sign10,
  signDraft07,
  startHub,
  subscribeUrl,
  type TestHub,
} from '../support/hub.js';
import { type Canary, openCanary } from './canary.js';

const TOPIC = 'https://example.com/injection';
const SUBS = '/.well-known/mercure/subscriptions';

/** Each hostile sequence, and the fake fields an attacker would put after it. */
const BREAKERS: Record<string, string> = {
  CR: '\r',
  LF: '\n',
  CRLF: '\r\n',
  NUL: '\0',
  'U+2028': '\u2028',
  BOM: '\uFEFF',
};
const FORGED = 'id: forged\nevent: forged\nretry: 1\n: comment\ndata: forged\n\nid: forged2\ndata: x';

/** What a subscriber must see for published `data`: CR and CRLF become LF, nothing else changes. */
function asReceived(data: string): string {
  return data.replace(/\r\n?/g, '\n');
}

describe('SSE injection', () => {
  let hub: TestHub;
  let canary: Canary;
  let token: string;
  before(async () => {
    hub = await startHub({ anonymous: true, subscriptions: true });
    canary = await openCanary(hub);
    token = await signDraft07({ publish: ['*'], subscribe: ['*'] });
  });
  after(async () => {
    canary.close();
    await hub.close();
  });

  test('id, type, retry and topic with a line break, NUL or BOM: 400, nothing delivered', async () => {
    const watcher = await openStream(`${hub.hubUrl}?topic=*`, { authorization: `Bearer ${token}` });
    for (const [name, bad] of Object.entries(BREAKERS)) {
      // U+2028 is no line break in an event stream and no control or format character (Mercure
      // 1.0 "Terminology" allows it): see the next test.
      if (name === 'U+2028') continue;
      const attacks: Record<string, string>[] = [
        { topic: TOPIC, id: `a${bad}${FORGED}` },
        { topic: TOPIC, type: `a${bad}${FORGED}` },
        { topic: TOPIC, retry: `1${bad}${FORGED}` },
        { topic: `${TOPIC}${bad}${FORGED}` },
        { topic: TOPIC, id: `${bad}` },
      ];
      for (const fields of attacks) {
        const res = await publish(hub, { data: 'x', ...fields }, token);
        assert.equal(res.status, 400, `${name} in ${JSON.stringify(fields)}: ${res.body}`);
      }
    }
    // The watcher of every topic saw none of them: the next event it gets is this marker.
    await publish(hub, { topic: TOPIC, data: 'marker' }, token);
    let first = await watcher.next();
    // Subscription events (this hub publishes them) aside.
    while (first.data.includes('"type":"Subscription"')) first = await watcher.next();
    assert.equal(first.data, 'marker');
    watcher.close();
    await canary.check();
  });

  test('U+2028 in id, type and topic is allowed and arrives intact', async () => {
    const topic = `${TOPIC}/\u2028${FORGED.replaceAll('\n', '\u2028')}`;
    const sub = await openStream(`${hub.hubUrl}?topic=${encodeURIComponent(topic)}`);
    const id = `urn:test:\u2028id: forged`;
    const type = `t\u2028event: forged`;
    const res = await publish(hub, { topic, id, type, data: 'x' }, token);
    assert.equal(res.status, 200, res.body);
    const event = await sub.next();
    assert.deepEqual(event, { type, data: 'x', lastEventId: id });
    sub.close();
    await canary.check();
  });

  test('data with every breaker and forged fields arrives as one event, byte for byte', async () => {
    const sub = await openStream(`${hub.hubUrl}?topic=${encodeURIComponent(TOPIC)}`);
    const published: { id: string; data: string }[] = [];
    for (const [name, bad] of Object.entries(BREAKERS)) {
      for (const data of [`${bad}${FORGED}`, `a${bad}${FORGED}${bad}`, `${bad}`, `${bad}${bad}`]) {
        const id = `urn:test:${name}:${published.length}`;
        const res = await publish(hub, { topic: TOPIC, id, data }, token);
        assert.equal(res.status, 200, res.body);
        published.push({ id, data });
      }
    }
    for (const expected of published) {
      const event = await sub.next();
      assert.deepEqual(event, { type: 'message', data: asReceived(expected.data), lastEventId: expected.id });
    }
    assert.equal(sub.events.length, published.length, 'no extra event');
    // Raw bytes: the only lines starting a field are the hub's own, once per event.
    const lines = sub.text.split(/\r\n|\r|\n/);
    assert.equal(lines.filter((l) => l.startsWith('id:')).length, published.length);
    assert.equal(lines.filter((l) => l.startsWith('event:')).length, 0);
    // One retry line: the hub's own reconnection hint at the start of the stream.
    assert.equal(lines.filter((l) => l.startsWith('retry:')).length, 1);
    sub.close();
    await canary.check();
  });

  test('a JWT payload with breakers reaches subscription events and the API as the same JSON', async () => {
    const payload: Record<string, string> = {};
    for (const [name, bad] of Object.entries(BREAKERS)) payload[name] = `${bad}${FORGED}${bad}`;
    const evil07 = await signDraft07({ subscribe: ['*'], payload });
    const evil10 = await sign10([
      { actions: ['subscribe'], topics: [{ match: '*' }], payload: { nested: [payload] } },
    ]);
    const watcher = await openStream(
      subscribeUrl(hub, [
        ['topic', `${SUBS}{/topic}{/subscriber}`],
        ['topic', `${SUBS}/exact{/match}{/subscriber}`],
      ]),
      { authorization: `Bearer ${token}` },
    );
    await watcher.next(); // its own two subscriptions
    await watcher.next();
    const a = await openStream(subscribeUrl(hub, [['topic', `${TOPIC}{?x}`]]), {
      authorization: `Bearer ${evil07}`,
    });
    const b = await openStream(subscribeUrl(hub, [['match', TOPIC]]), { authorization: `Bearer ${evil10}` });
    const seen = [await watcher.next(), await watcher.next()].map((e) => JSON.parse(e.data));
    const byTopic = new Map(seen.map((doc) => [doc.topic ?? doc.match, doc]));
    assert.deepEqual(byTopic.get(`${TOPIC}{?x}`)?.payload, payload);
    assert.deepEqual(byTopic.get(TOPIC)?.payload, { nested: [payload] });
    for (const event of watcher.events) {
      assert.ok(event.type === 'message' || event.type === 'mercure', event.type);
      assert.doesNotThrow(() => JSON.parse(event.data));
    }

    const api = await fetch(`${hub.origin}${SUBS}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(api.status, 200);
    const body = (await api.json()) as { subscriptions: { topic?: string; payload?: unknown }[] };
    const listed = body.subscriptions.find((s) => s.topic === `${TOPIC}{?x}`);
    assert.deepEqual(listed?.payload, payload);
    a.close();
    b.close();
    watcher.close();
    await canary.check();
  });

  test('topic selectors with breakers: refused or echoed as JSON, never on a field line', async () => {
    const watcher = await openStream(subscribeUrl(hub, [['topic', `${SUBS}{/topic}{/subscriber}`]]), {
      authorization: `Bearer ${token}`,
    });
    await watcher.next();
    let accepted = 0;
    for (const bad of Object.values(BREAKERS)) {
      const selector = `${TOPIC}${bad}${FORGED}`;
      const sub = await openStream(subscribeUrl(hub, [['topic', selector]]), {
        authorization: `Bearer ${token}`,
      });
      assert.ok(sub.status === 200 || sub.status === 400, `status ${sub.status}`);
      if (sub.status === 200) {
        accepted++;
        const doc = JSON.parse((await watcher.next()).data);
        assert.equal(doc.topic, selector);
      }
      sub.close();
      await sub.ended;
    }
    for (const event of watcher.events) assert.doesNotThrow(() => JSON.parse(event.data));
    watcher.close();
    assert.equal(watcher.events.length, 1 + accepted, 'one event per accepted subscription');
    await canary.check();
  });

  test('a resume point with breakers is never reflected in a response header', async () => {
    for (const bad of Object.values(BREAKERS)) {
      const lastEventId = `x${bad}Set-Cookie: forged=1`;
      const sub = await openStream(
        subscribeUrl(hub, [
          ['topic', TOPIC],
          ['lastEventID', lastEventId],
        ]),
      );
      assert.equal(sub.status, 200);
      assert.equal(sub.headers['set-cookie'], undefined);
      assert.equal(sub.headers['last-event-id'], 'earliest', 'an unknown ID resumes from the earliest');
      sub.close();
    }
    // Header values with CR/LF cannot even be sent; a raw request proves the hub's parser refuses them.
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(hub.hubUrl);
      const req = http.request({ host: url.hostname, port: url.port, path: `${url.pathname}?topic=x` });
      req.on('error', reject);
      assert.throws(() => req.setHeader('last-event-id', 'a\r\nx: y'), /Invalid character/);
      req.on('response', (res) => {
        res.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.end();
    });
    assert.equal(status, 200);
    await canary.check();
  });
});
