import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { createHub, HubOptionError, resolveHubOptions } from '../../../src/hub/index.js';
import { openStream, signDraft07, startHub, subscribeUrl, TEST_KEY } from '../../support/hub.js';

describe('CORS', () => {
  test('an allow-listed origin is reflected with credentials; cursor headers are exposed', async (t) => {
    const hub = await startHub({ anonymous: true, corsOrigins: ['https://app.example'] });
    t.after(() => hub.close());
    const preflight = await fetch(hub.hubUrl, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
    assert.match(preflight.headers.get('access-control-allow-headers')!, /Authorization/);
    assert.match(preflight.headers.get('access-control-allow-methods')!, /POST/);

    const sub = await openStream(subscribeUrl(hub, [['topic', 'a']]), {
      origin: 'https://app.example',
      'last-event-id': 'earliest',
    });
    assert.equal(sub.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(sub.headers['access-control-allow-credentials'], 'true');
    assert.match(sub.headers['access-control-expose-headers']!, /Mercure-Last-Event-ID/);
    assert.match(sub.headers['access-control-expose-headers']!, /Last-Event-ID/);
    sub.close();

    const foreign = await openStream(subscribeUrl(hub, [['topic', 'a']]), { origin: 'https://evil.example' });
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
    foreign.close();
  });

  test('"*" allows any origin, never with credentials', async (t) => {
    const hub = await startHub({ anonymous: true, corsOrigins: ['*'] });
    t.after(() => hub.close());
    const sub = await openStream(subscribeUrl(hub, [['topic', 'a']]), { origin: 'https://any.example' });
    assert.equal(sub.headers['access-control-allow-origin'], '*');
    assert.equal(sub.headers['access-control-allow-credentials'], undefined);
    sub.close();
  });
});

describe('health, metrics, routing', () => {
  test('/healthz answers 200 while the store answers, 503 once it does not', async (t) => {
    const hub = await startHub({ anonymous: true });
    t.after(() => hub.close().catch(() => {}));
    const ok = await fetch(`${hub.origin}/healthz`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'ok\n');
    await hub.hub.store.close();
    assert.equal((await fetch(`${hub.origin}/healthz`)).status, 503);
  });

  test('a subscription asking for history while the store is down gets 503', async (t) => {
    const hub = await startHub({ anonymous: true });
    t.after(() => hub.close().catch(() => {}));
    await hub.hub.store.close();
    const sub = await openStream(subscribeUrl(hub, [['topic', 'a']]), { 'last-event-id': 'earliest' });
    await sub.ended;
    assert.equal(sub.status, 503);
    assert.equal(hub.hub.subscriberCount, 0);
  });

  test('/metrics counts connections, subscriptions, publishes, deliveries and latency', async (t) => {
    const hub = await startHub({ anonymous: true });
    t.after(() => hub.close());
    const a = await openStream(
      subscribeUrl(hub, [
        ['topic', 'm'],
        ['topic', 'n'],
      ]),
    );
    const b = await openStream(subscribeUrl(hub, [['topic', 'm']]));
    await hub.hub.publish({ topics: ['m'], data: 'x' });
    await a.next();
    await b.next();
    const res = await fetch(`${hub.origin}/metrics`);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^herald_hub_connections 2$/m);
    assert.match(text, /^herald_hub_subscriptions 3$/m);
    assert.match(text, /^herald_hub_updates_published_total 1$/m);
    assert.match(text, /^herald_hub_events_delivered_total 2$/m);
    assert.match(text, /^herald_hub_publish_to_write_seconds_count 1$/m);
    assert.match(text, /^herald_hub_slow_clients_dropped_total 0$/m);
    a.close();
    b.close();
  });

  test('other paths go to next() when given, else 404; wrong methods are 405', async (t) => {
    const hub = createHub({ anonymous: true, metrics: false });
    const server = http.createServer((req, res) =>
      hub.handle(req, res, () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('page');
      }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(async () => {
      await hub.close();
      server.close();
    });
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.equal(await (await fetch(`${origin}/index.html`)).text(), 'page');
    assert.equal(await (await fetch(`${origin}/metrics`)).text(), 'page');
    const put = await fetch(`${origin}/.well-known/mercure`, { method: 'PUT' });
    assert.equal(put.status, 405);
    assert.match(put.headers.get('allow')!, /POST/);
  });

  test('protected resource metadata is served under the audience path (RFC 9728)', async (t) => {
    const hub = await startHub({ anonymous: true, subscriptions: true });
    t.after(() => hub.close());
    const res = await fetch(`${hub.origin}/.well-known/oauth-protected-resource/.well-known/mercure`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      resource: 'https://localhost/.well-known/mercure',
      authorization_details_types_supported: ['https://mercure.rocks/authorization-detail'],
      bearer_methods_supported: ['header'],
      mercure_cookie: 'mercureAuthorization',
      mercure_subscriptions: true,
    });
  });

  test('past maxSubscribers a subscription gets 503', async (t) => {
    const hub = await startHub({ anonymous: true, maxSubscribers: 1 });
    t.after(() => hub.close());
    const first = await openStream(subscribeUrl(hub, [['topic', 'a']]));
    const second = await openStream(subscribeUrl(hub, [['topic', 'a']]));
    assert.equal(first.status, 200);
    assert.equal(second.status, 503);
    first.close();
  });
});

describe('slow subscribers and shutdown', () => {
  test('a subscriber that stops reading is dropped at maxQueuedBytes, counted, others unharmed', async (t) => {
    const hub = await startHub({ anonymous: true, maxQueuedBytes: 64 * 1024 });
    t.after(() => hub.close());
    // A raw client that never reads its socket.
    const stalled = http.get(subscribeUrl(hub, [['topic', 's']]));
    const [res] = (await once(stalled, 'response')) as [http.IncomingMessage];
    res.pause();
    const healthy = await openStream(subscribeUrl(hub, [['topic', 's']]));
    const chunk = 'z'.repeat(16 * 1024);
    // Enough to fill both socket buffers on loopback and then the stream's queue.
    for (let i = 0; i < 2000 && hub.hub.metrics.slowClientsDropped === 0; i++) {
      await hub.hub.publish({ topics: ['s'], data: chunk });
      await healthy.next();
    }
    assert.equal(hub.hub.metrics.slowClientsDropped, 1);
    assert.equal(hub.hub.subscriberCount, 1);
    healthy.close();
    stalled.destroy();
  });

  test('maxConnectionMs ends streams even without a token, so clients come back and re-authenticate', async (t) => {
    const hub = await startHub({ anonymous: true, maxConnectionMs: 300 });
    t.after(() => hub.close());
    const sub = await openStream(subscribeUrl(hub, [['topic', 'a']]));
    assert.equal(sub.status, 200);
    await sub.ended;
    assert.equal(hub.hub.subscriberCount, 0);
  });

  test('retryMs sets the retry hint a stream opens with; null sends none', async () => {
    for (const [retryMs, opening] of [
      [5000, ': ok\nretry: 5000\n\n'],
      [null, ': ok\n'],
    ] as const) {
      const hub = await startHub({ anonymous: true, retryMs });
      const sub = await openStream(subscribeUrl(hub, [['topic', 'a']]));
      await hub.hub.publish({ topics: ['a'], data: 'x' });
      await sub.next();
      assert.ok(sub.text.startsWith(`${opening}id: `), JSON.stringify(sub.text));
      sub.close();
      await hub.close();
    }
  });

  test('close({ retryMs }) ends every stream with the retry hint, then refuses requests', async () => {
    const hub = await startHub({ anonymous: true });
    const sub = await openStream(subscribeUrl(hub, [['topic', 'a']]));
    await hub.hub.close({ retryMs: 1234 });
    await sub.ended;
    assert.ok(sub.text.endsWith('retry: 1234\n\n'), JSON.stringify(sub.text));
    const late = await fetch(hub.hubUrl, { method: 'POST' });
    assert.equal(late.status, 503);
    await hub.close();
  });
});

describe('resolveHubOptions', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown option', { anonymus: true }, /anonymus: is not a hub option/],
    ['a non-boolean', { anonymous: 'yes' }, /anonymous: must be true or false \(got "yes"\)/],
    ['a negative duration', { heartbeatMs: -1 }, /heartbeatMs: must be an integer >= 0 \(got -1\)/],
    ['a zero queue', { maxQueuedBytes: 0 }, /maxQueuedBytes: must be an integer >= 1/],
    ['a negative retry', { retryMs: -5 }, /retryMs: must be an integer >= 0 or null \(got -5\)/],
    [
      'an origin with a path',
      { corsOrigins: ['https://a.example/app'] },
      /corsOrigins\[0\]: must be "\*" or an origin/,
    ],
    ['a key without key or JWKS', { jwt: {} }, /jwt: needs a key/],
    ['an unknown algorithm', { jwt: { key: 'k', algorithm: 'none' } }, /jwt.algorithm: must be one of/],
    [
      'an RSA algorithm with a secret',
      { jwt: { key: 'a-secret-long-enough-for-hs256-but-not-rsa', algorithm: 'RS256' } },
      /^jwt\.key: algorithm "RS256" cannot be used with an HMAC secret/,
    ],
    [
      'an HMAC secret shorter than its hash',
      { jwt: { key: 'secret' } },
      /^jwt\.key: an HMAC secret for HS256 must be at least 32 bytes, the size of its hash \(RFC 7518 section 3\.2\); this one has 6/,
    ],
    [
      'an HS512 secret of 63 bytes',
      { publisherJwt: { key: 'k'.repeat(63), algorithm: 'HS512' } },
      /^publisherJwt\.key: an HMAC secret for HS512 must be at least 64 bytes/,
    ],
    [
      'a PEM that does not read',
      { subscriberJwt: { key: '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----' } },
      /^subscriberJwt\.key: looks like PEM but is not a readable public key/,
    ],
    ['a relative hub URL without slash', { hubUrl: 'hub' }, /hubUrl: must be an absolute URL/],
    ['a bad cookie name', { cookieName: 'a b' }, /cookieName: must be a cookie name/],
  ];
  for (const [name, options, message] of cases) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => resolveHubOptions(options as never),
        (error: unknown) =>
          error instanceof HubOptionError &&
          error.code === 'HERALD_ERR_HUB_OPTION' &&
          message.test(error.message),
      );
    });
  }

  test('origins: a trailing slash names the same origin and is dropped; anything more is refused', () => {
    const o = resolveHubOptions({
      corsOrigins: ['https://a.example/', '*'],
      publishOrigins: ['http://b.example:8080'],
    });
    assert.deepEqual(o.corsOrigins, ['https://a.example', '*']);
    assert.deepEqual(o.publishOrigins, ['http://b.example:8080']);
    for (const bad of [
      'https://a.example/app',
      'https://a.example?x=1',
      'a.example',
      'file:///etc',
      '',
      42,
    ]) {
      assert.throws(() => resolveHubOptions({ corsOrigins: [bad as string] }), HubOptionError, String(bad));
    }
  });

  test('fills defaults and lets the shared key serve both roles', () => {
    const o = resolveHubOptions({ jwt: { key: TEST_KEY } });
    assert.equal(o.anonymous, false);
    assert.equal(o.cookieName, 'mercureAuthorization');
    assert.deepEqual(o.publisherJwt, { key: TEST_KEY });
    assert.deepEqual(o.subscriberJwt, { key: TEST_KEY });
    assert.equal(o.hubUrl, '/.well-known/mercure');
  });

  test('a draft-07 token signed with the conformance key is accepted by a hub keyed with it', async (t) => {
    const hub = await startHub({ anonymous: false });
    t.after(() => hub.close());
    const sub = await openStream(subscribeUrl(hub, [['topic', 'a']]), {
      authorization: `Bearer ${await signDraft07({ subscribe: ['*'] })}`,
    });
    assert.equal(sub.status, 200);
    sub.close();
  });
});
