/**
 * A client with no token must not get the hub to compile its selectors: a URL pattern with nested
 * repetition costs tens of milliseconds and megabytes to compile, so a hundred of them per request
 * once froze the hub for seconds and held hundreds of MiB per request, answered 401 only afterwards.
 * The token is checked first; compiling comes after, on every transport.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { heldBytes } from '../support/held-memory.js';
import { startHub, type TestHub } from '../support/hub.js';
import { openSocket, withQuery } from '../support/transports.js';

/** 100 distinct costly URL patterns (each ~45 ms and ~3 MB to compile), ~9.6 KB of query. */
function costlyQuery(request: number): [string, string][] {
  return Array.from({ length: 100 }, (_, i): [string, string] => [
    'match_urlpattern',
    `https://ex.com/r${request}s${i}/:x((?:ab|cd|ef|gh){1,1000})`,
  ]);
}

describe('costly selectors from a client with no token', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startHub();
  });
  after(() => hub.close());

  test('a selector that does not compile is answered 401, not 400: nothing is compiled before the token', async () => {
    const bad: [string, string][] = [['match_urlpattern', 'https://ex.com/:x(']];
    const sse = await fetch(withQuery(hub.hubUrl, bad));
    assert.equal(sse.status, 401);
    await sse.body?.cancel();
    const poll = await fetch(withQuery(hub.hubUrl, [...bad, ['transport', 'poll']]));
    assert.equal(poll.status, 401);
    await poll.body?.cancel();
    const ws = await openSocket(withQuery(hub.hubUrl, bad));
    assert.ok(!('ws' in ws), 'the upgrade should have been refused');
    assert.equal(ws.status, 401);
  });

  test('a burst of costly requests on every transport: all 401, and the hub holds no more memory', async () => {
    const before = await heldBytes();
    const answers = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const sse = await fetch(withQuery(hub.hubUrl, costlyQuery(i)));
        await sse.body?.cancel();
        const poll = await fetch(withQuery(hub.hubUrl, [...costlyQuery(i + 10), ['transport', 'poll']]));
        await poll.body?.cancel();
        const ws = await openSocket(withQuery(hub.hubUrl, costlyQuery(i + 20)));
        return [sse.status, poll.status, 'ws' in ws ? 101 : ws.status];
      }),
    );
    assert.deepEqual(answers.flat(), Array(9).fill(401));
    const grown = (await heldBytes()) - before;
    // Compiled, these 900 patterns would hold about 2.7 GB; refused first, the hub keeps nothing.
    assert.ok(grown < 16 * 1024 * 1024, `the hub holds ${(grown / 1048576).toFixed(1)} MiB more`);
  });
});
