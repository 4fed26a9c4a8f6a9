/**
 * Hostile tokens against a real hub: `alg: none`, HS/RS key confusion, a wrong key, expired and
 * not-yet-valid tokens, 1.0 tokens with a wrong audience or issuer, malformed and oversized ones,
 * each presented in the Authorization header, the cookie and the `authorization` query parameter,
 * for subscribing and publishing. Every one is refused with 401 and grants nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import {
  openStream,
  publish,
  sign10,
  signDraft07,
  startHub,
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_KEY,
  type TestHub,
} from '../support/hub.js';
import { type Canary, openCanary } from './canary.js';

const TOPIC = 'https://example.com/secret';
const GRANTS = { publish: ['*'], subscribe: ['*'] };

function b64url(value: object | string): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** A token with the given header and claims and no signature (`alg: none`). */
function unsigned(header: object, claims: object): string {
  return `${b64url(header)}.${b64url(claims)}.`;
}

async function sign10With(claims: { aud?: string; iss?: string }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    authorization_details: [
      {
        type: 'https://mercure.rocks/authorization-detail',
        actions: ['publish', 'subscribe'],
        topics: [{ match: '*' }],
      },
    ],
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setIssuedAt(now)
    .setExpirationTime(now + 600);
  if (claims.aud !== undefined) jwt.setAudience(claims.aud);
  if (claims.iss !== undefined) jwt.setIssuer(claims.iss);
  return jwt.sign(new TextEncoder().encode(TEST_KEY));
}

type Where = 'header' | 'cookie' | 'query';

async function subscribeWith(hub: TestHub, token: string, where: Where): Promise<number> {
  const url = new URL(hub.hubUrl);
  url.searchParams.set('topic', TOPIC);
  const headers: Record<string, string> = {};
  if (where === 'header') headers.authorization = `Bearer ${token}`;
  if (where === 'cookie') headers.cookie = `mercureAuthorization=${token}`;
  if (where === 'query') url.searchParams.set('authorization', token);
  const stream = await openStream(url.toString(), headers);
  stream.close();
  return stream.status;
}

async function publishWith(hub: TestHub, token: string, where: Where): Promise<number> {
  const url = new URL(hub.hubUrl);
  const headers: Record<string, string> = {};
  // A cookie publish must come from an allowed origin (CSRF check, before the token is read).
  if (where === 'cookie')
    Object.assign(headers, { cookie: `mercureAuthorization=${token}`, origin: 'https://app.example' });
  if (where === 'query') url.searchParams.set('authorization', token);
  const res = await publish(
    url.toString(),
    { topic: TOPIC, data: 'forged' },
    where === 'header' ? token : undefined,
    headers,
  );
  return res.status;
}

describe('hostile tokens (HS256 hub)', () => {
  let hub: TestHub;
  let canary: Canary;
  let watcher: Awaited<ReturnType<typeof openStream>>;
  const bad: Record<string, string> = {};
  before(async () => {
    hub = await startHub({ publishOrigins: ['*'] });
    canary = await openCanary(hub);
    watcher = await openStream(`${hub.hubUrl}?topic=*`, {
      authorization: `Bearer ${await signDraft07(GRANTS)}`,
    });
    const now = Math.floor(Date.now() / 1000);
    bad['alg none'] = unsigned({ alg: 'none', typ: 'JWT' }, { mercure: GRANTS });
    bad['alg None'] = unsigned({ alg: 'None' }, { mercure: GRANTS });
    bad['alg none, 1.0'] = unsigned(
      { alg: 'none', typ: 'at+jwt' },
      { aud: TEST_AUDIENCE, iss: TEST_ISSUER, exp: now + 600, authorization_details: [] },
    );
    const valid = await signDraft07(GRANTS);
    bad['signature stripped'] = valid.slice(0, valid.lastIndexOf('.') + 1);
    bad['claims swapped under a valid signature'] = (() => {
      const [h, , s] = valid.split('.');
      return `${h}.${b64url({ mercure: { ...GRANTS, payload: 'x' } })}.${s}`;
    })();
    bad['wrong key'] = await signDraft07(GRANTS, { key: 'not-the-key-not-the-key-not-the-key!' });
    bad.expired = await signDraft07(GRANTS, { exp: now - 3600 });
    bad['1.0 expired'] = await sign10([{ actions: ['publish', 'subscribe'], topics: [{ match: '*' }] }], {
      exp: now - 3600,
    });
    bad['not yet valid'] = await new SignJWT({ mercure: GRANTS })
      .setProtectedHeader({ alg: 'HS256' })
      .setNotBefore(now + 3600)
      .sign(new TextEncoder().encode(TEST_KEY));
    bad['1.0 wrong aud'] = await sign10With({
      aud: 'https://evil.example/.well-known/mercure',
      iss: TEST_ISSUER,
    });
    bad['1.0 no aud'] = await sign10With({ iss: TEST_ISSUER });
    bad['1.0 wrong iss'] = await sign10With({ aud: TEST_AUDIENCE, iss: 'https://evil.example' });
    bad['1.0 no iss'] = await sign10With({ aud: TEST_AUDIENCE });
    bad['draft-07 wrong aud'] = await new SignJWT({ mercure: GRANTS })
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience('https://evil.example')
      .sign(new TextEncoder().encode(TEST_KEY));
    bad['not a JWT'] = 'hello';
    bad['two parts'] = 'eyJhbGciOiJIUzI1NiJ9.eyJ9';
    bad['empty parts'] = '..';
    bad['header not JSON'] = `${b64url('{not json')}.${b64url({})}.abc`;
    bad['claims not JSON'] = `${b64url({ alg: 'HS256' })}.${b64url('[[[')}.abc`;
    bad['mercure claim of the wrong type'] = await new SignJWT({ mercure: { publish: '*', subscribe: 7 } })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(TEST_KEY));
    // Over the verifier's 8 KiB bound, under node's 16 KiB header bound (past it: 431, below).
    bad.oversized = await signDraft07({ ...GRANTS, payload: 'x'.repeat(9 * 1024) });
    bad['oversized garbage'] = `${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`;
  });
  after(async () => {
    watcher.close();
    canary.close();
    await hub.close();
  });

  for (const where of ['header', 'cookie', 'query'] as const) {
    test(`every hostile token is refused with 401 in the ${where}`, async () => {
      for (const [name, token] of Object.entries(bad)) {
        assert.equal(await subscribeWith(hub, token, where), 401, `subscribe, ${name}, ${where}`);
        assert.equal(await publishWith(hub, token, where), 401, `publish, ${name}, ${where}`);
      }
      await canary.check();
      // Nothing was published by any of them: the watcher of every topic saw only the canary's events.
      assert.ok(
        watcher.events.every((e) => e.data.startsWith('canary ')),
        'no forged update delivered',
      );
    });
  }

  test('a token larger than the header bound: 431 wherever it is', async () => {
    const huge = await signDraft07({ ...GRANTS, payload: 'x'.repeat(64 * 1024) });
    for (const where of ['header', 'cookie', 'query'] as const) {
      assert.equal(await subscribeWith(hub, huge, where), 431, where);
    }
    await canary.check();
  });

  test('RFC 6750 challenge on a bad header token', async () => {
    const res = await fetch(`${hub.hubUrl}?topic=x`, {
      headers: { authorization: `Bearer ${bad['alg none']}` },
    });
    await res.body?.cancel();
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
  });

  test('the same token twice in two places is refused, not merged', async () => {
    const url = new URL(hub.hubUrl);
    url.searchParams.set('topic', TOPIC);
    url.searchParams.set('authorization', await signDraft07(GRANTS));
    const stream = await openStream(url.toString(), { authorization: `Bearer ${bad['wrong key']}` });
    stream.close();
    assert.ok(stream.status === 400 || stream.status === 401, `status ${stream.status}`);
    await canary.check();
  });
});

describe('algorithm pinning', () => {
  test('a hub configured for HS256 refuses HS384 and HS512 tokens signed with its own secret', async (t) => {
    const hub = await startHub({ jwt: { key: TEST_KEY, algorithm: 'HS256' } });
    t.after(() => hub.close());
    for (const alg of ['HS384', 'HS512']) {
      const token = await new SignJWT({ mercure: GRANTS })
        .setProtectedHeader({ alg })
        .sign(new TextEncoder().encode(TEST_KEY));
      assert.equal(await subscribeWith(hub, token, 'header'), 401, alg);
      assert.equal(await publishWith(hub, token, 'header'), 401, alg);
    }
    assert.equal(await subscribeWith(hub, await signDraft07(GRANTS), 'header'), 200);
  });
});

describe('key confusion (RS256 hub)', () => {
  test('an HS256 token signed with the RSA public key as secret is refused', async (t) => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const pem = await exportSPKI(publicKey);
    const hub = await startHub({ jwt: { key: pem, algorithm: 'RS256' }, publishOrigins: ['*'] });
    t.after(() => hub.close());
    const canaryToken = await new SignJWT({ mercure: GRANTS })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(privateKey);
    // The genuine RS256 token works.
    const ok = await openStream(`${hub.hubUrl}?topic=${TOPIC}`, { authorization: `Bearer ${canaryToken}` });
    ok.close();
    assert.equal(ok.status, 200);
    const confused = await new SignJWT({ mercure: GRANTS })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(pem));
    const none = unsigned({ alg: 'none' }, { mercure: GRANTS });
    for (const token of [confused, none]) {
      for (const where of ['header', 'cookie', 'query'] as const) {
        assert.equal(await subscribeWith(hub, token, where), 401, where);
        assert.equal(await publishWith(hub, token, where), 401, where);
      }
    }
    const health = await fetch(`${hub.origin}/healthz`);
    assert.equal(health.status, 200);
    await health.text();
  });
});

describe('verified-token cache', () => {
  test('a token the hub remembers stops working at its exp (plus the clock tolerance), for publishing and subscribing', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const hub = await startHub();
    t.after(() => hub.close());
    const exp = Math.floor(Date.now() / 1000) + 60;
    const token = await signDraft07(GRANTS, { exp });
    // Verified once, then served from the cache.
    for (let i = 0; i < 3; i++) {
      assert.equal(await publishWith(hub, token, 'header'), 200, `publish ${i}`);
      assert.equal(await subscribeWith(hub, token, 'header'), 200, `subscribe ${i}`);
    }
    // The hub's default tolerance for clock drift is 5 s: the last second it still holds...
    t.mock.timers.setTime((exp + 4) * 1000);
    assert.equal(await publishWith(hub, token, 'header'), 200);
    // ...then the cached token is refused like any expired one.
    t.mock.timers.setTime((exp + 5) * 1000);
    assert.equal(await publishWith(hub, token, 'header'), 401);
    assert.equal(await subscribeWith(hub, token, 'header'), 401);
  });
});
