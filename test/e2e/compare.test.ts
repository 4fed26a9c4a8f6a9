/**
 * The transport comparison page (web/why-sse.html) in real Chromium against a real hub: each pane
 * receives the feed over its transport, the drop button really ends every connection, and all
 * three panes come back and resume with no gap and no duplicate; the ten-stream test shows the
 * seventh HTTP/1.1 stream stalling.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Page } from 'playwright-core';
import { mountDemo } from '../../src/hub/demo/index.js';
import { createHub, type HubOptions } from '../../src/hub/index.js';
import { bundleClient, launchChromium } from '../support/browser.js';

const KEY = 'compare-test-key-0123456789abcdef012345';
const PANES = ['sse', 'websocket', 'poll'] as const;

interface PaneFigures {
  received: number;
  gaps: number;
  dups: number;
  lastN: number | null;
  reconnects: number;
  latencies: number[];
  resume: { ms: number; firstN: number | null; afterN: number | null } | null;
}

async function startDemoHub(t: TestContext, options: HubOptions = {}) {
  const hub = createHub({ jwt: { key: KEY }, anonymous: true, ...options });
  const demo = await mountDemo(hub, { publisherKey: KEY, clientBundle: await bundleClient() });
  const server = http.createServer((req, res) => hub.handle(req, res, () => demo.handle(req, res)));
  server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    demo.close();
    await hub.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { hub, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function figures(page: Page): Promise<Record<string, PaneFigures>> {
  return page.evaluate(() => {
    const panes = (globalThis as unknown as { heraldCompare: { panes: Record<string, PaneFigures> } })
      .heraldCompare.panes;
    const out: Record<string, PaneFigures> = {};
    for (const [name, p] of Object.entries(panes)) {
      out[name] = {
        received: p.received,
        gaps: p.gaps,
        dups: p.dups,
        lastN: p.lastN,
        reconnects: p.reconnects,
        latencies: [...p.latencies],
        resume: p.resume,
      };
    }
    return out;
  });
}

/** Waits until every pane has received at least `count` updates (a page-side condition, no sleep). */
async function waitReceived(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    ([names, n]) => {
      const panes = (
        globalThis as unknown as { heraldCompare?: { panes: Record<string, { received: number }> } }
      ).heraldCompare?.panes;
      return (
        panes !== undefined &&
        (names as readonly string[]).every((name) => panes[name]!.received >= (n as number))
      );
    },
    [PANES, count] as const,
    { timeout: 30_000 },
  );
}

test('the comparison page measures SSE, WebSocket and long polling side by side', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const { hub, origin } = await startDemoHub(t);
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  await page.goto(`${origin}/why-sse.html`);

  await t.test('every pane receives the feed, in order, with a latency', async () => {
    await waitReceived(page, 3);
    const panes = await figures(page);
    for (const name of PANES) {
      const pane = panes[name]!;
      assert.equal(pane.gaps, 0, `${name}: no gap`);
      assert.equal(pane.dups, 0, `${name}: no duplicate`);
      assert.ok(pane.latencies.length > 0, `${name}: a latency was measured`);
      assert.ok(
        pane.latencies.every((ms) => ms >= 0),
        `${name}: latencies ${pane.latencies.join()}`,
      );
    }
    for (const name of PANES) {
      assert.equal(await page.locator(`[data-pane="${name}"][data-field="state"]`).textContent(), 'OPEN');
    }
    assert.equal(await page.locator('[data-status] [data-state]').textContent(), 'OPEN');
  });

  await t.test('the hub counts bytes per update for each transport', async () => {
    await page.waitForFunction(
      (names) =>
        (names as readonly string[]).every((name) =>
          /\d+ B/.test(
            document.querySelector(`[data-pane="${name}"][data-field="bytes"]`)?.textContent ?? '',
          ),
        ),
      PANES,
      { timeout: 30_000 },
    );
  });

  await t.test('drop all connections: every pane reconnects and resumes, no gap, no duplicate', async () => {
    const before = await figures(page);
    const subscribers = hub.subscriberCount;
    assert.ok(subscribers >= 2, `the page holds subscribers (${subscribers})`);
    await page.click('#drop');
    await page.waitForFunction(
      (names) => {
        const panes = (
          globalThis as unknown as {
            heraldCompare: { panes: Record<string, { resume: { firstN: number | null } | null }> };
          }
        ).heraldCompare.panes;
        return (names as readonly string[]).every((name) => panes[name]!.resume?.firstN != null);
      },
      PANES,
      { timeout: 30_000 },
    );
    assert.match((await page.locator('#drop-result').textContent()) ?? '', /The hub ended \d+ connection/);
    await waitReceived(page, Math.max(...PANES.map((name) => before[name]!.received)) + 3);
    const after = await figures(page);
    for (const name of PANES) {
      const pane = after[name]!;
      // A waiting long poll is answered early: the next poll follows, with no reconnect to count.
      if (name !== 'poll') assert.ok(pane.reconnects >= before[name]!.reconnects + 1, `${name} reconnected`);
      assert.equal(pane.gaps, 0, `${name}: no gap across the drop`);
      assert.equal(pane.dups, 0, `${name}: no duplicate across the drop`);
      assert.equal(pane.resume!.firstN, pane.resume!.afterN! + 1, `${name} resumed right after what it had`);
    }
  });

  await t.test('ten SSE streams over HTTP/1.1: six open, the seventh stalls', async () => {
    await page.click('#six-run');
    const six = await page.waitForFunction(
      () => (globalThis as unknown as { heraldCompare: { six: unknown } }).heraldCompare.six,
      null,
      { timeout: 30_000 },
    );
    assert.deepEqual(await six.jsonValue(), { protocol: 'http/1.1', opened: 6, streams: 10 });
    assert.match((await page.locator('#six-result').textContent()) ?? '', /stream 7 stalled/);
    // The paused panes came back and go on without a gap.
    const before = await figures(page);
    await waitReceived(page, Math.max(...PANES.map((name) => before[name]!.received)) + 2);
    const after = await figures(page);
    for (const name of PANES) assert.equal(after[name]!.gaps + after[name]!.dups, 0, name);
  });
  await page.close();
});

/** A self-signed certificate for 127.0.0.1, made with the openssl CLI; null when openssl is missing. */
function selfSigned(dir: string): { cert: Buffer; key: Buffer } | null {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key]
        .concat(['-out', cert, '-days', '1', '-subj', '/CN=localhost'])
        .concat(['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']),
      { stdio: 'ignore' },
    );
  } catch {
    return null;
  }
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

test('over HTTP/2 (TLS) the ten SSE streams all open, on one connection', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const dir = mkdtempSync(join(tmpdir(), 'herald-compare-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tls = selfSigned(dir);
  if (tls === null) {
    if (process.env.CI === 'true') assert.fail('openssl is needed to make a test certificate');
    t.skip('no openssl to make a test certificate');
    return;
  }
  const hub = createHub({ jwt: { key: KEY }, anonymous: true });
  const demo = await mountDemo(hub, { publisherKey: KEY, clientBundle: await bundleClient() });
  const server = http2.createSecureServer({ ...tls, allowHTTP1: true }, (req, res) =>
    hub.handle(req, res, () => demo.handle(req, res)),
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    demo.close();
    await hub.close();
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  t.after(() => context.close());
  const page = await context.newPage();
  page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  await page.goto(`https://127.0.0.1:${(server.address() as AddressInfo).port}/why-sse.html`);
  assert.equal(await page.locator('#protocol').textContent(), 'HTTP/2');
  await page.click('#six-run');
  const six = await page.waitForFunction(
    () => (globalThis as unknown as { heraldCompare: { six: unknown } }).heraldCompare.six,
    null,
    { timeout: 30_000 },
  );
  assert.deepEqual(await six.jsonValue(), { protocol: 'h2', opened: 10, streams: 10 });
  assert.match((await page.locator('#six-result').textContent()) ?? '', /All 10 streams opened \(h2\)/);
});
