/**
 * `/metrics` shows private publish counts and the Node.js version. With `metricsToken` (`herald
 * serve --metrics-token`) only a scrape that sends it reads them; every other request gets 401.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveHubOptions } from '../../src/hub/options.js';
import { startHerald } from '../cli/herald-process.js';
import { listeningUrl } from '../cli/streams.js';
import { startHub } from '../support/hub.js';

const TOKEN = 'metrics-0123456789abcdef';

async function scrape(origin: string, authorization?: string) {
  const res = await fetch(
    `${origin}/metrics`,
    authorization === undefined ? {} : { headers: { authorization } },
  );
  return { status: res.status, body: await res.text(), challenge: res.headers.get('www-authenticate') };
}

test('with metricsToken, /metrics answers 401 without it or with another, 200 with it', async (t) => {
  const hub = await startHub({ metricsToken: TOKEN });
  t.after(() => hub.close());
  const none = await scrape(hub.origin);
  assert.equal(none.status, 401);
  assert.match(none.body, /HERALD_ERR_HUB_METRICS_TOKEN/);
  assert.match(String(none.challenge), /^Bearer realm="metrics"$/);
  const wrong = await scrape(hub.origin, 'Bearer metrics-0123456789abcdeX');
  assert.equal(wrong.status, 401);
  assert.match(String(wrong.challenge), /error="invalid_token"/);
  assert.doesNotMatch(wrong.body, /herald_hub_|nodejs_version/);
  const right = await scrape(hub.origin, `Bearer ${TOKEN}`);
  assert.equal(right.status, 200);
  assert.match(right.body, /herald_hub_connections/);
  // /healthz stays public: load balancers probe it without credentials.
  assert.equal((await fetch(`${hub.origin}/healthz`)).status, 200);
});

test('without metricsToken /metrics stays public (the documented default); a short token is refused', async (t) => {
  const hub = await startHub();
  t.after(() => hub.close());
  assert.equal((await scrape(hub.origin)).status, 200);
  assert.throws(
    () => resolveHubOptions({ metricsToken: 'short' }),
    /metricsToken: must be a string of at least 16/,
  );
});

test('herald serve --metrics-token @file guards /metrics, on a single process and with workers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-metrics-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'metrics-token');
  writeFileSync(file, `${TOKEN}\n`);
  for (const workers of ['1', '2']) {
    const herald = startHerald(['serve', '--port', '0', '--host', '127.0.0.1', '--workers', workers], {
      HERALD_JWT_KEY: 'metrics-test-secret-key-of-32-bytes',
      HERALD_METRICS_TOKEN: `@${file}`,
    });
    t.after(() => herald.kill());
    const origin = await listeningUrl(herald);
    assert.equal((await scrape(origin)).status, 401, `${workers} worker(s)`);
    const right = await scrape(origin, `Bearer ${TOKEN}`);
    assert.equal(right.status, 200, `${workers} worker(s)`);
    assert.match(right.body, /herald_hub_/);
    herald.kill();
  }
});
