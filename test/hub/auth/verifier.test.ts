import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, type JWTPayload, SignJWT } from 'jose';
import {
  AuthConfigError,
  AuthError,
  type Claims,
  createVerifier,
  MERCURE_AUTHORIZATION_DETAIL_TYPE,
  type VerifierOptions,
} from '../../../src/hub/auth/index.js';
import { canPublish, canReceive, SelectorSet } from '../../../src/hub/topics/index.js';
import { requirePart } from '../../support/requirements.js';

// Mercure's conformance suite signs with these; a hub under that suite must accept them.
const SECRET = '!ChangeThisMercureHubJWTSecretKey!';
const AUDIENCE = 'https://localhost/.well-known/mercure';
const ISSUER = 'https://localhost';

interface KeyPair {
  publicPem: string;
  privateKey: KeyObject;
}

function keyPair(type: 'rsa' | 'ec' | 'ed25519'): KeyPair {
  const { publicKey, privateKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return { publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string, privateKey };
}

const now = () => Math.floor(Date.now() / 1000);

async function sign(
  payload: JWTPayload,
  key: KeyObject | Uint8Array | string,
  header: { alg: string; typ?: string; kid?: string } = { alg: 'HS256' },
): Promise<string> {
  const material = typeof key === 'string' ? new TextEncoder().encode(key) : key;
  return new SignJWT(payload).setProtectedHeader(header).sign(material);
}

/** A 1.0 token as the conformance suite makes them: at+jwt, iss, aud, exp, authorization_details. */
function token10(details: unknown[], extra: JWTPayload = {}): Promise<string> {
  return sign(
    {
      iss: ISSUER,
      aud: AUDIENCE,
      exp: now() + 600,
      sub: 'urn:uuid:1',
      authorization_details: details,
      ...extra,
    },
    SECRET,
    { alg: 'HS256', typ: 'at+jwt' },
  );
}

const detail = (actions: unknown[], topics: unknown[], payload?: unknown) => ({
  type: MERCURE_AUTHORIZATION_DETAIL_TYPE,
  actions,
  topics,
  ...(payload === undefined ? {} : { payload }),
});

async function refused(verify: Promise<Claims>, pattern?: RegExp): Promise<AuthError> {
  try {
    await verify;
  } catch (err) {
    assert.ok(err instanceof AuthError, `expected AuthError, got ${err}`);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail('the token was accepted');
}

async function invalidToken(verify: Promise<Claims>, pattern?: RegExp): Promise<void> {
  const err = await refused(verify, pattern);
  assert.equal(err.status, 401);
  assert.equal(err.error, 'invalid_token');
  assert.equal(err.code, 'HERALD_ERR_AUTH_INVALID_TOKEN');
  assert.equal(err.description, 'the access token is invalid');
}

const hmac = (extra: Partial<VerifierOptions> = {}) =>
  createVerifier({ key: { key: SECRET }, audience: AUDIENCE, issuer: ISSUER, ...extra });

describe('draft-07 tokens (mercure claim)', () => {
  test('HS256/384/512 with a secret; publish, subscribe, payload, exp and sub are read', async () => {
    const exp = now() + 600;
    // 68 bytes: long enough for every HMAC algorithm (HS512 needs 64, RFC 7518 section 3.2).
    const long = SECRET.repeat(2);
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      const token = await sign(
        {
          sub: 'alice',
          exp,
          mercure: {
            publish: ['https://example.com/books/{id}'],
            subscribe: ['*'],
            payload: { user: 'alice' },
          },
        },
        long,
        { alg },
      );
      const claims = await hmac({ key: { key: long } }).verify(token);
      assert.equal(claims.version, 'draft-07');
      assert.deepEqual(claims.publish, ['https://example.com/books/{id}']);
      assert.deepEqual(claims.subscribe, ['*']);
      assert.deepEqual(claims.payload, { user: 'alice' });
      assert.deepEqual(claims.payloadFor('https://example.com/anything'), { user: 'alice' });
      assert.equal(claims.expiresAt, exp * 1000);
      assert.equal(claims.subject, 'alice');
      assert.ok(canPublish(['https://example.com/books/1'], claims.publishSelectors));
      assert.equal(canPublish(['https://example.com/authors/1'], claims.publishSelectors), false);
    }
  });

  test('a token without the mercure claim grants nothing', async () => {
    const claims = await hmac().verify(await sign({}, SECRET));
    assert.equal(claims.publish, undefined);
    assert.equal(claims.subscribe, undefined);
    assert.equal(canPublish(['a'], claims.publishSelectors), false);
    assert.equal(
      canReceive(
        { topics: ['a'], private: true },
        SelectorSet.from(['a'], 'template'),
        claims.subscribeSelectors,
      ),
      false,
    );
  });

  test('the namespaced claim and object entries of later reference-hub releases are read', async () => {
    const token = await sign(
      {
        'https://mercure.rocks/': {
          subscribe: [
            { match: 'https://example.com/books/:id', match_type: 'urlpattern', payload: { p: 1 } },
            'news',
          ],
        },
      },
      SECRET,
    );
    const claims = await hmac().verify(token);
    assert.deepEqual(claims.subscribe, ['https://example.com/books/:id', 'news']);
    assert.ok(claims.subscribeSelectors.matches('https://example.com/books/3'));
    assert.deepEqual(claims.payloadFor('https://example.com/books/:id'), { p: 1 });
    assert.equal(claims.payloadFor('news'), undefined);
  });

  test('aud and iss are optional, but must name this hub when present', async () => {
    await hmac().verify(await sign({ aud: AUDIENCE, iss: ISSUER }, SECRET));
    await invalidToken(hmac().verify(await sign({ aud: 'https://other.example/' }, SECRET)), /aud/);
    await invalidToken(hmac().verify(await sign({ iss: 'https://evil.example' }, SECRET)), /iss/);
  });

  test('malformed grants void the token', async () => {
    for (const mercure of [
      { publish: 'x' },
      { publish: [1] },
      'not-an-object',
      { subscribe: [{ match: 'a', match_type: 'regex' }] },
    ]) {
      await invalidToken(hmac().verify(await sign({ mercure }, SECRET)), /grants|selector/);
    }
    const tooMany = Array.from({ length: 101 }, (_, i) => `t${i}`);
    await invalidToken(hmac().verify(await sign({ mercure: { publish: tooMany } }, SECRET)), /more than 100/);
    await invalidToken(hmac().verify(await sign({ mercure: { publish: ['a\u0000b'] } }, SECRET)), /selector/);
  });

  test('draft-07 tokens can be turned off', async () => {
    await invalidToken(hmac({ acceptDraft07: false }).verify(await sign({}, SECRET)), /draft-07/);
  });
});

describe('1.0 tokens (typ at+jwt, authorization_details)', () => {
  test('a conformance-suite token: publish and subscribe on every topic', async () => {
    const claims = await hmac().verify(
      await token10([detail(['publish'], [{ match: '*' }]), detail(['subscribe'], [{ match: '*' }])]),
    );
    assert.equal(claims.version, '1.0');
    assert.deepEqual(claims.publish, ['*']);
    assert.deepEqual(claims.subscribe, ['*']);
    assert.equal(claims.subject, 'urn:uuid:1');
    assert.ok(canPublish(['anything', 'else'], claims.publishSelectors));
  });

  test('matchers are exact by default, URL patterns on request; unknown actions and detail types are ignored', async () => {
    const claims = await hmac().verify(
      await token10([
        { type: 'https://example.com/other', topics: 'not ours' },
        detail(
          ['subscribe', 'future-action'],
          [
            { match: 'https://example.com/books/1' },
            { match: 'https://example.com/users/42/*', match_type: 'urlpattern' },
          ],
        ),
        detail(['future-action'], [{ match: '*' }]),
      ]),
    );
    assert.equal(claims.publish, undefined);
    assert.deepEqual(claims.subscribe, ['https://example.com/books/1', 'https://example.com/users/42/*']);
    const routing = SelectorSet.from(['https://example.com/books/:id'], 'urlpattern');
    const update = (topics: string[]) => ({ topics, private: true });
    assert.ok(canReceive(update(['https://example.com/books/1']), routing, claims.subscribeSelectors));
    assert.equal(
      canReceive(update(['https://example.com/books/2']), routing, claims.subscribeSelectors),
      false,
    );
    assert.ok(
      canReceive(
        update(['https://example.com/books/2', 'https://example.com/users/42/books/2']),
        routing,
        claims.subscribeSelectors,
      ),
    );
    // `{id}` is not a template in an exact matcher.
    assert.equal(claims.subscribeSelectors.matches('https://example.com/books/{id}'), false);
  });

  test('payloads: the first subscribe grant matching the subscription selector (1.0 "Payloads")', async () => {
    const claims = await hmac().verify(
      await token10([
        detail(['subscribe'], [{ match: 'https://example.com/foo' }], { custom1: 1 }),
        detail(['subscribe'], [{ match: 'https://example.com/bar/:id', match_type: 'urlpattern' }], {
          custom2: 2,
        }),
        detail(['subscribe'], [{ match: '*' }], { custom3: 3 }),
      ]),
    );
    assert.deepEqual(claims.payloadFor('https://example.com/foo'), { custom1: 1 });
    assert.deepEqual(claims.payloadFor('https://example.com/bar/7'), { custom2: 2 });
    assert.deepEqual(claims.payloadFor('https://example.com/bar/:id'), { custom2: 2 });
    assert.deepEqual(claims.payloadFor('other'), { custom3: 3 });
  });

  test('typ is compared case-insensitively, with or without application/', async () => {
    for (const typ of ['AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) {
      const token = await sign(
        { iss: ISSUER, aud: [AUDIENCE, 'x'], exp: now() + 60, authorization_details: [] },
        SECRET,
        { alg: 'HS256', typ },
      );
      assert.equal((await hmac().verify(token)).version, '1.0', typ);
    }
  });

  test('wrong aud, wrong iss, no aud, no iss, no exp are refused', async () => {
    const base = { iss: ISSUER, aud: AUDIENCE, exp: now() + 60, authorization_details: [] };
    const cases: Array<[JWTPayload, RegExp]> = [
      [{ ...base, aud: 'https://other.example/.well-known/mercure' }, /aud/],
      [{ ...base, iss: 'https://evil.example' }, /iss/],
      [{ ...base, aud: undefined }, /aud/],
      [{ ...base, iss: undefined }, /iss/],
      [{ ...base, exp: undefined }, /exp/],
    ];
    for (const [payload, reason] of cases) {
      await invalidToken(hmac().verify(await sign(payload, SECRET, { alg: 'HS256', typ: 'at+jwt' })), reason);
    }
  });

  test('a hub without audience and issuer refuses 1.0 tokens rather than skip the checks', async () => {
    const verifier = createVerifier({ key: { key: SECRET } });
    await invalidToken(verifier.verify(await token10([])), /audience/);
  });

  test('any malformed Mercure detail voids the whole token', async () => {
    const cases: unknown[] = [
      'not-an-array',
      ['not-an-object'],
      [detail([], [{ match: 'a' }])],
      [detail(['publish', 3], [{ match: 'a' }])],
      [detail(['publish'], [])],
      [detail(['publish'], ['bare-string'])],
      [detail(['publish'], [{ match: '' }])],
      [detail(['publish'], [{ match: 'a', match_type: 'template' }])],
      [detail(['publish'], [{ match: 'https://example.com/(', match_type: 'urlpattern' }])],
      [detail(['publish'], [{ match: 'ok' }]), detail(['subscribe'], [{ nomatch: 'x' }])],
      Array.from({ length: 101 }, () => detail(['publish'], [{ match: 'a' }])),
      [
        detail(
          ['publish'],
          Array.from({ length: 101 }, (_, i) => ({ match: `t${i}` })),
        ),
      ],
    ];
    for (const details of cases) {
      const token = await sign(
        { iss: ISSUER, aud: AUDIENCE, exp: now() + 60, authorization_details: details },
        SECRET,
        { alg: 'HS256', typ: 'at+jwt' },
      );
      // Some of these exceed the default 8 KiB: the limit on grants is what is under test here.
      await invalidToken(hmac({ maxTokenBytes: 65_536 }).verify(token), /grants|selector/);
    }
  });
});

describe('signatures and keys', () => {
  let rsa: KeyPair;
  let ec: KeyPair;
  let ed: KeyPair;
  before(() => {
    rsa = keyPair('rsa');
    ec = keyPair('ec');
    ed = keyPair('ed25519');
  });

  test('RS256 and PS256 with an RSA public key PEM, ES256 with P-256, EdDSA with Ed25519', async () => {
    const payload = { mercure: { publish: ['*'] } };
    for (const alg of ['RS256', 'RS512', 'PS256']) {
      const claims = await createVerifier({ key: { key: rsa.publicPem } }).verify(
        await sign(payload, rsa.privateKey, { alg }),
      );
      assert.deepEqual(claims.publish, ['*'], alg);
    }
    await createVerifier({ key: { key: ec.publicPem } }).verify(
      await sign(payload, ec.privateKey, { alg: 'ES256' }),
    );
    await createVerifier({ key: { key: ed.publicPem } }).verify(
      await sign(payload, ed.privateKey, { alg: 'EdDSA' }),
    );
  });

  test('key types jose cannot verify (Ed448, RSA-PSS-only keys) are refused at configuration', () => {
    for (const key of [
      generateKeyPairSync('ed448').publicKey,
      generateKeyPairSync('rsa-pss', { modulusLength: 1024 }).publicKey,
    ]) {
      const pem = key.export({ type: 'spki', format: 'pem' }) as string;
      assert.throws(() => createVerifier({ key: { key: pem } }), AuthConfigError, key.asymmetricKeyType);
    }
  });

  test('a configured algorithm is the only one accepted', async () => {
    const verifier = createVerifier({ key: { key: rsa.publicPem, algorithm: 'RS256' } });
    await verifier.verify(await sign({}, rsa.privateKey, { alg: 'RS256' }));
    await invalidToken(verifier.verify(await sign({}, rsa.privateKey, { alg: 'RS384' })), /RS384/);
    const hs256 = createVerifier({ key: { key: SECRET, algorithm: 'HS256' } });
    await invalidToken(hs256.verify(await sign({}, SECRET, { alg: 'HS512' })), /HS512/);
  });

  test('key confusion: an HS256 token "signed" with the RSA public key PEM as secret is refused', async () => {
    const forged = await sign({ mercure: { publish: ['*'] } }, rsa.publicPem, { alg: 'HS256' });
    await invalidToken(createVerifier({ key: { key: rsa.publicPem } }).verify(forged), /HS256/);
  });

  test('alg none is refused, signed or not', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = b64({ mercure: { publish: ['*'] } });
    for (const header of [{ alg: 'none' }, { alg: 'None' }, { alg: 'none', typ: 'at+jwt' }]) {
      await invalidToken(hmac().verify(`${b64(header)}.${body}.`), /none|None/);
      await invalidToken(createVerifier({ key: { key: rsa.publicPem } }).verify(`${b64(header)}.${body}.`));
    }
  });

  test('a token signed with another key is refused', async () => {
    await invalidToken(hmac().verify(await sign({}, 'another secret')), /signature/);
    const other = keyPair('ec');
    await invalidToken(
      createVerifier({ key: { key: ec.publicPem } }).verify(
        await sign({}, other.privateKey, { alg: 'ES256' }),
      ),
      /signature/,
    );
  });

  test('expired, not yet valid, and within the clock tolerance', async () => {
    await invalidToken(hmac().verify(await sign({ exp: now() - 60 }, SECRET)), /expired/);
    await invalidToken(hmac().verify(await sign({ nbf: now() + 60 }, SECRET)), /nbf/);
    // Default tolerance is 5 s: two seconds late or early is accepted.
    await hmac().verify(await sign({ exp: now() - 2, nbf: now() + 2 }, SECRET));
    await invalidToken(
      hmac({ clockToleranceSec: 0 }).verify(await sign({ exp: now() - 2 }, SECRET)),
      /expired/,
    );
    await invalidToken(hmac().verify(await token10([], { exp: now() - 60 })), /expired/);
  });

  test('a remembered token is still refused once expired (fake clock)', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const verifier = hmac({ clockToleranceSec: 0 });
    const exp = now() + 60;
    const token = await sign({ exp, mercure: { publish: ['*'] } }, SECRET);
    assert.equal(verifier.cached?.(token), undefined, 'not verified yet: nothing to take at once');
    const first = await verifier.verify(token);
    assert.equal(await verifier.verify(token), first, 'the second use is served from the cache');
    assert.equal(verifier.cached?.(token), first, 'and can be taken at once');
    t.mock.timers.setTime(exp * 1000 - 1);
    assert.equal(await verifier.verify(token), first, 'valid up to its exp');
    assert.equal(verifier.cached?.(token), first);
    t.mock.timers.setTime(exp * 1000);
    assert.equal(verifier.cached?.(token), undefined, 'expired: not taken at once');
    await invalidToken(verifier.verify(token), /expired/);
    // The full verification (no cache) reads the same clock.
    await invalidToken(hmac({ clockToleranceSec: 0, cacheSize: 0 }).verify(token), /expired/);
    // Without the cache, each use is a full verification.
    const uncached = hmac({ cacheSize: 0 });
    const token2 = await sign({ mercure: { publish: ['*'] } }, SECRET);
    assert.notEqual(await uncached.verify(token2), await uncached.verify(token2));
  });

  test('a remembered token honours nbf again after the clock steps back; failures are not remembered', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const verifier = hmac({ clockToleranceSec: 0 });
    const start = now();
    const early = await sign({ nbf: start + 60, mercure: { publish: ['*'] } }, SECRET);
    await invalidToken(verifier.verify(early), /nbf/);
    await invalidToken(verifier.verify(early), /nbf/);
    t.mock.timers.setTime((start + 60) * 1000);
    await verifier.verify(early);
    assert.ok(verifier.cached?.(early));
    t.mock.timers.setTime((start + 59) * 1000);
    assert.equal(verifier.cached?.(early), undefined, 'not valid yet again: not taken at once');
    await invalidToken(verifier.verify(early), /nbf/);
  });

  test('malformed and oversized tokens are refused before verification', async () => {
    for (const bad of [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      'a b.c.d',
      'e30.e30',
      '!!!.e30.sig',
      'bm90anNvbg.e30.c2ln',
    ]) {
      await invalidToken(hmac().verify(bad));
    }
    const big = await sign({ mercure: { payload: 'x'.repeat(9000) } }, SECRET);
    await invalidToken(hmac().verify(big), /maxTokenBytes/);
    await hmac({ maxTokenBytes: 16_384 }).verify(big);
  });

  test('unusable options are refused at construction', () => {
    const cases: VerifierOptions[] = [
      {},
      { key: { key: '' } },
      { key: { key: SECRET, algorithm: 'RS256' } },
      { key: { key: rsa.publicPem, algorithm: 'HS256' } },
      { key: { key: ec.publicPem, algorithm: 'ES384' } },
      { key: { key: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' } },
      { jwksUrl: 'not a url' },
      { jwksUrl: 'ftp://example.com/jwks' },
      { jwksUrl: 'https://example.com/jwks', jwksAlgorithms: ['HS256'] },
      { key: { key: SECRET }, clockToleranceSec: -1 },
      { key: { key: SECRET }, maxTokenBytes: 10 },
      { key: { key: SECRET }, cacheSize: -1 },
    ];
    for (const options of cases) {
      assert.throws(() => createVerifier(options), AuthConfigError, JSON.stringify(options));
    }
  });

  test('an X.509 certificate PEM is accepted for its public key', async (t) => {
    const probe = spawnSync('openssl', ['version']);
    if (!requirePart(t, 'openssl', probe.status === 0 ? null : 'the openssl command is not installed'))
      return;
    const dir = mkdtempSync(join(tmpdir(), 'herald-cert-'));
    try {
      const made = spawnSync('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=herald-test',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]);
      assert.equal(made.status, 0, made.stderr.toString());
      const verifier = createVerifier({ key: { key: readFileSync(join(dir, 'cert.pem'), 'utf8') } });
      const privateKey = createPrivateKey(readFileSync(join(dir, 'key.pem')));
      await verifier.verify(await sign({}, privateKey, { alg: 'ES256' }));
      await invalidToken(verifier.verify(await sign({}, ec.privateKey, { alg: 'ES256' })), /signature/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a private key PEM is accepted for its public half', async () => {
    const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await createVerifier({ key: { key: pem } }).verify(
      await sign({}, createPrivateKey(pem), { alg: 'RS256' }),
    );
  });
});

describe('JWK Set by URL', () => {
  let server: Server;
  let jwksUrl: string;
  let requests = 0;
  const rsa = keyPair('rsa');

  before(async () => {
    const jwk = {
      ...(await exportJWK(createPrivateKey(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' })))),
      kid: 'k1',
      alg: 'RS256',
      use: 'sig',
    };
    // Publish only the public members.
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
    server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('verifies with a fetched key, and caches the set', async () => {
    const verifier = createVerifier({ jwksUrl, audience: AUDIENCE, issuer: ISSUER });
    const token = await sign(
      {
        iss: ISSUER,
        aud: AUDIENCE,
        exp: now() + 60,
        authorization_details: [detail(['publish'], [{ match: 'a' }])],
      },
      rsa.privateKey,
      { alg: 'RS256', typ: 'at+jwt', kid: 'k1' },
    );
    const before = requests;
    assert.deepEqual((await verifier.verify(token)).publish, ['a']);
    await verifier.verify(token);
    assert.equal(requests - before, 1, 'the JWK Set is fetched once');
  });

  test('a token signed by a key outside the set, or with HS256, is refused', async () => {
    const verifier = createVerifier({ jwksUrl });
    const stranger = keyPair('rsa');
    await invalidToken(
      verifier.verify(await sign({}, stranger.privateKey, { alg: 'RS256', kid: 'k1' })),
      /signature/,
    );
    await invalidToken(
      verifier.verify(await sign({}, stranger.privateKey, { alg: 'RS256', kid: 'k2' })),
      /JWK Set|no key/,
    );
    await invalidToken(verifier.verify(await sign({}, SECRET, { alg: 'HS256', kid: 'k1' })), /HS256/);
  });

  test('with a static key of the same family, a token signed by a JWK Set key still verifies', async () => {
    const local = keyPair('rsa');
    const verifier = createVerifier({ key: { key: local.publicPem }, jwksUrl });
    await verifier.verify(await sign({}, local.privateKey, { alg: 'RS256' }));
    await verifier.verify(await sign({}, rsa.privateKey, { alg: 'RS256', kid: 'k1' }));
    await invalidToken(
      verifier.verify(await sign({}, keyPair('rsa').privateKey, { alg: 'RS256', kid: 'k1' })),
    );
  });

  test("an unreachable JWK Set is a 503, not the client's fault", async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/jwks.json`;
    await new Promise((resolve) => dead.close(resolve));
    const err = await refused(
      createVerifier({ jwksUrl: url }).verify(await sign({}, rsa.privateKey, { alg: 'RS256', kid: 'k1' })),
    );
    assert.equal(err.status, 503);
    assert.equal(err.code, 'HERALD_ERR_AUTH_KEYS_UNAVAILABLE');
  });
});

describe('HMAC key length (RFC 7518 section 3.2: at least the hash size)', () => {
  test('a secret shorter than its algorithm needs is refused with the rule, the length and the fix', () => {
    for (const [algorithm, bytes] of [
      ['HS256', 31],
      ['HS384', 47],
      ['HS512', 63],
    ] as const) {
      assert.throws(
        () => createVerifier({ key: { key: 'k'.repeat(bytes), algorithm } }),
        (error: unknown) =>
          error instanceof AuthConfigError &&
          error.message.includes(`an HMAC secret for ${algorithm} must be at least ${bytes + 1} bytes`) &&
          error.message.includes(`this one has ${bytes}`) &&
          error.message.includes('openssl rand'),
        algorithm,
      );
    }
  });

  test('without an algorithm, a secret verifies only what it is long enough for', async () => {
    const key = 'k'.repeat(40); // enough for HS256 only
    const verifier = createVerifier({ key: { key } });
    const claims = await verifier.verify(
      await sign({ mercure: { subscribe: ['*'] } }, key, { alg: 'HS256' }),
    );
    assert.deepEqual(claims.subscribe, ['*']);
    await invalidToken(verifier.verify(await sign({}, key, { alg: 'HS384' })), /HS384/);
  });
});
