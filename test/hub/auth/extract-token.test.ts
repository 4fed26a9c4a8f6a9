import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { AuthError, bearerChallenge, extractToken } from '../../../src/hub/auth/index.js';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
const OTHER = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ5In0.b3RoZXI';

function req(headers: IncomingHttpHeaders, query = '') {
  return { headers, url: new URL(`https://hub.example.com/.well-known/mercure?topic=x${query}`) };
}

function refusal(fn: () => unknown): AuthError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AuthError);
    return err;
  }
  assert.fail('expected an AuthError');
}

describe('extractToken', () => {
  test('reads a Bearer header, whatever the case of the scheme', () => {
    for (const value of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER  ${TOKEN}`]) {
      assert.deepEqual(extractToken(req({ authorization: value })), { token: TOKEN, source: 'header' });
    }
  });

  test('the header wins over the cookie and the query parameter', () => {
    const found = extractToken(
      req(
        { authorization: `Bearer ${TOKEN}`, cookie: `mercureAuthorization=${OTHER}` },
        `&authorization=${OTHER}`,
      ),
    );
    assert.deepEqual(found, { token: TOKEN, source: 'header' });
  });

  test('without a header, the query parameter wins over the cookie (draft-07)', () => {
    const found = extractToken(req({ cookie: `mercureAuthorization=${OTHER}` }, `&authorization=${TOKEN}`));
    assert.deepEqual(found, { token: TOKEN, source: 'query' });
    // The same token repeated is not ambiguous.
    assert.deepEqual(extractToken(req({}, `&authorization=${TOKEN}&authorization=${TOKEN}`)), {
      token: TOKEN,
      source: 'query',
    });
  });

  test('reads the draft-07 and the 1.0 cookie names by default, or the names given', () => {
    assert.deepEqual(extractToken(req({ cookie: `a=b; mercureAuthorization=${TOKEN}; c=d` })), {
      token: TOKEN,
      source: 'cookie',
    });
    assert.deepEqual(extractToken(req({ cookie: `__Secure-mercure_access_token="${TOKEN}"` })), {
      token: TOKEN,
      source: 'cookie',
    });
    assert.deepEqual(extractToken(req({ cookie: `hub2=${TOKEN}` }), 'hub2'), {
      token: TOKEN,
      source: 'cookie',
    });
    assert.equal(extractToken(req({ cookie: `hub2=${TOKEN}` })), undefined);
    // Several cookies of one name: the first, which user agents send for the longest path.
    assert.equal(
      extractToken(req({ cookie: `mercureAuthorization=${TOKEN}; mercureAuthorization=${OTHER}` }))?.token,
      TOKEN,
    );
  });

  test('no token at all is undefined, not an error', () => {
    assert.equal(extractToken(req({})), undefined);
    assert.equal(extractToken(req({ cookie: 'theme=dark' })), undefined);
  });

  test('a malformed Authorization header is a 400 invalid_request', () => {
    for (const value of [
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer ',
      `Bearer ${TOKEN} extra`,
      TOKEN,
      'Bearer a"b',
    ]) {
      const err = refusal(() =>
        extractToken(req({ authorization: value, cookie: `mercureAuthorization=${TOKEN}` })),
      );
      assert.equal(err.status, 400, value);
      assert.equal(err.error, 'invalid_request');
      assert.equal(err.code, 'HERALD_ERR_AUTH_INVALID_REQUEST');
    }
  });

  test('several different authorization query parameters are a 400 invalid_request', () => {
    const err = refusal(() => extractToken(req({}, `&authorization=${TOKEN}&authorization=${OTHER}`)));
    assert.equal(err.status, 400);
    assert.equal(err.error, 'invalid_request');
  });
});

describe('extractToken on a real node:http request', () => {
  test('reads what Node hands over: lower-cased names, several cookies in one request', async () => {
    const server = createServer((req, res) => {
      try {
        const found = extractToken({ headers: req.headers, url: new URL(req.url!, 'http://hub.invalid') });
        res.end(JSON.stringify(found ?? null));
      } catch (err) {
        const auth = err as AuthError;
        res.writeHead(auth.status, { 'www-authenticate': bearerChallenge(auth) }).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const send = (headers: OutgoingHttpHeaders, path = '/.well-known/mercure?topic=x') =>
      new Promise<{ status: number; body: string; challenge: string | undefined }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode!, body, challenge: res.headers['www-authenticate'] }),
          );
        });
        req.on('error', reject).end();
      });
    try {
      assert.deepEqual(JSON.parse((await send({ AUTHORIZATION: `BeArEr ${TOKEN}` })).body), {
        token: TOKEN,
        source: 'header',
      });
      const twoCookies = await send({ Cookie: ['theme=dark', `mercureAuthorization=${TOKEN}`] });
      assert.deepEqual(JSON.parse(twoCookies.body), { token: TOKEN, source: 'cookie' });
      const query = await send({}, `/.well-known/mercure?topic=x&authorization=${TOKEN}`);
      assert.deepEqual(JSON.parse(query.body), { token: TOKEN, source: 'query' });
      const basic = await send({ Authorization: 'Basic dXNlcjpwYXNz' });
      assert.equal(basic.status, 400);
      assert.match(basic.challenge!, /^Bearer error="invalid_request", error_description="/);
      assert.equal((await send({})).body, 'null');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('bearerChallenge', () => {
  test('builds the WWW-Authenticate value of RFC 6750 §3', () => {
    assert.equal(bearerChallenge(), 'Bearer');
    assert.equal(bearerChallenge(AuthError.required(), { realm: 'mercure' }), 'Bearer realm="mercure"');
    assert.equal(
      bearerChallenge(AuthError.invalidToken('expired at 12:00'), {
        resourceMetadata: 'https://hub/.well-known/oauth-protected-resource',
      }),
      'Bearer resource_metadata="https://hub/.well-known/oauth-protected-resource", error="invalid_token", error_description="the access token is invalid"',
    );
    assert.equal(
      bearerChallenge(AuthError.insufficientScope('cannot publish to "a\\b" é')),
      'Bearer error="insufficient_scope", error_description="cannot publish to \\"a\\\\b\\" ?"',
    );
  });
});
