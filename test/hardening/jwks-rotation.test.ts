/**
 * JWK Set rotation: once the issuer removes a key from its set and the hub fetches the set again,
 * tokens signed with that key are refused at once. Before, a token verified earlier stayed trusted
 * from the verifier's cache for up to 10 minutes after that fetch.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createVerifier } from '../../src/hub/auth/verifier.js';

async function signingKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const sign = () =>
    new SignJWT({ mercure: { subscribe: ['*'] } }).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
  return { jwk, sign };
}

test('a token whose key left the JWK Set is refused as soon as the set is fetched again', async (t) => {
  const k1 = await signingKey('k1');
  const k2 = await signingKey('k2');
  let keys = [k1.jwk];
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const verifier = createVerifier({
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
  });

  const old = await k1.sign();
  await verifier.verify(old);
  await verifier.verify(old);
  assert.equal(fetches, 1, 'the set is fetched once, the token verified from cache after');

  // The issuer rotates: k1 leaves the set, k2 joins. A token with the new kid makes the hub fetch
  // the set again once jose's 30 s cool-down has passed (a fake clock: jose reads Date.now).
  keys = [k2.jwk];
  const realNow = Date.now;
  Date.now = () => realNow() + 31_000;
  try {
    await verifier.verify(await k2.sign());
    assert.equal(fetches, 2, 'the new kid made the hub fetch the set again');
    await assert.rejects(verifier.verify(old), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'HERALD_ERR_AUTH_INVALID_TOKEN');
      assert.match(error.message, /no key of the JWK Set matches/);
      return true;
    });
  } finally {
    Date.now = realNow;
  }
});
