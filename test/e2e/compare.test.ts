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
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Page } from 'playwright-core';
import WebSocket from 'ws';
import { BENCH_RESULTS_PATH } from '../../src/hub/demo/bench-figures.js';
import { DEMO_TOPICS, mountDemo } from '../../src/hub/demo/index.js';
import { createHub, type HubOptions } from '../../src/hub/index.js';
import { bundleClient, launchChromium } from '../support/browser.js';
import { startDemoHub } from '../support/demo-hub.js';

const KEY = 'compare-test-key-0123456789abcdef012345';
const PANES = ['sse', 'websocket', 'poll'] as const;
const RETRY_MS = 600;
// Every run refreshes docs/screenshots/ (the README shows them); HERALD_SCREENSHOTS=0 skips it.
const SCREENSHOTS = process.env.HERALD_SCREENSHOTS !== '0';
const SCREENSHOT_PATH = new URL('../../docs/screenshots/why-sse-charts.png', import.meta.url).pathname;

interface PaneFigures {
  received: number;
  gaps: number;
  dups: number;
  lastN: number | null;
  reconnects: number;
  latencies: number[];
  resume: { ms: number; firstN: number | null; afterN: number | null } | null;
}

function startDemo(t: TestContext, options: HubOptions = {}) {
  return startDemoHub(t, { jwt: { key: KEY }, anonymous: true, ...options }, { publisherKey: KEY });
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

/**
 * Wire bytes per update of one steady stream, measured at the client end of its socket by the test
 * itself: the bytes read from the first update to the last, over the updates in between.
 */
interface SteadyMeter {
  perUpdate(): number | null;
  close(): void;
}

/** A raw HTTP/1.1 event stream on the compare feed; counts what its socket reads per update. */
async function rawSseMeter(origin: string): Promise<SteadyMeter> {
  const url = new URL(origin);
  const socket = net.connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  socket.setEncoding('latin1');
  let text = '';
  const marks: { updates: number; bytes: number }[] = [];
  socket.on('data', (chunk: string) => {
    text += chunk;
    const updates = text.split('\ndata: ').length - 1;
    if (updates > (marks.at(-1)?.updates ?? 0)) marks.push({ updates, bytes: socket.bytesRead });
  });
  const topic = encodeURIComponent(DEMO_TOPICS.compare);
  socket.write(
    `GET /.well-known/mercure?topic=${topic} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`,
  );
  return { perUpdate: () => steady(marks), close: () => socket.destroy() };
}

/** A WebSocket on the compare feed; counts what its socket reads per update. */
async function rawWsMeter(origin: string): Promise<SteadyMeter> {
  const ws = new WebSocket(
    `${origin.replace(/^http/, 'ws')}/.well-known/mercure?topic=${encodeURIComponent(DEMO_TOPICS.compare)}`,
  );
  ws.on('error', () => {});
  await once(ws, 'open');
  const socket = (ws as unknown as { _socket: net.Socket })._socket;
  const marks: { updates: number; bytes: number }[] = [];
  let updates = 0;
  ws.on('message', (data) => {
    if ((JSON.parse(data.toString()) as { herald?: string }).herald !== undefined) return;
    marks.push({ updates: ++updates, bytes: socket.bytesRead + socket.bytesWritten });
  });
  return { perUpdate: () => steady(marks), close: () => ws.terminate() };
}

function steady(marks: { updates: number; bytes: number }[]): number | null {
  const [first, last] = [marks[0], marks.at(-1)];
  if (first === undefined || last === undefined || last.updates - first.updates < 8) return null;
  return (last.bytes - first.bytes) / (last.updates - first.updates);
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
  // A short announced reconnection time, so that the drop below resumes quickly.
  const { hub, origin } = await startDemo(t, { retryMs: RETRY_MS });
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  // What the test measures itself, to check the page's wire figures against: each poll the page
  // makes, as Chromium counts it (request head, response head, body), with the updates it carried;
  // and one SSE and one WebSocket subscriber of the same feed, counted at their own sockets.
  const polls: { bytes: number; updates: number }[] = [];
  page.on('requestfinished', (request) => {
    if (!request.url().includes('transport=poll')) return;
    const answer = request.response().then((r) => r?.json());
    void Promise.all([request.sizes(), request.headersArray(), answer]).then(([sizes, headers, body]) => {
      // The request head as Chromium sent it (Playwright's requestHeadersSize leaves the query out).
      const { pathname, search } = new URL(request.url());
      const lines = headers.map(({ name, value }) => `${name}: ${value}\r\n`).join('');
      const head = Buffer.byteLength(`${request.method()} ${pathname}${search} HTTP/1.1\r\n${lines}\r\n`);
      const bytes = head + sizes.requestBodySize + sizes.responseHeadersSize + sizes.responseBodySize;
      polls.push({ bytes, updates: (body as { updates: unknown[] }).updates.length });
    });
  });
  const sseMeter = await rawSseMeter(origin);
  const wsMeter = await rawWsMeter(origin);
  t.after(() => {
    sseMeter.close();
    wsMeter.close();
  });
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

  await t.test(
    'wire bytes per update, one basis for the three transports, against what the test measured',
    async (sub) => {
      // Steady figures: at least 24 updates in every pane (six of the page's two-second readings),
      // so that no reading still holds a connection's opening.
      await waitReceived(page, 24);
      const wire = () =>
        page.evaluate(() => {
          const panes = (
            globalThis as unknown as {
              heraldCompare: { panes: Record<string, { wireBytesPerUpdate: number | null }> };
            }
          ).heraldCompare.panes;
          return Object.fromEntries(Object.entries(panes).map(([name, p]) => [name, p.wireBytesPerUpdate]));
        });
      await page.waitForFunction(
        (names) => {
          const panes = (
            globalThis as unknown as {
              heraldCompare: { panes: Record<string, { wireBytesPerUpdate: number | null }> };
            }
          ).heraldCompare.panes;
          return (names as readonly string[]).every((name) => (panes[name]!.wireBytesPerUpdate ?? 0) > 0);
        },
        PANES,
        { timeout: 30_000 },
      );
      const shown = await wire();
      for (const name of PANES) {
        const text = (await page.locator(`[data-pane="${name}"][data-field="bytes"]`).textContent()) ?? '';
        assert.match(text, /^\d+ B \(\d+ open\)$/, `${name}: ${text}`);
      }
      // Long polling: Chromium's own count of every poll the page made, per update it carried.
      const polled = polls.reduce(
        (sum, p) => ({ bytes: sum.bytes + p.bytes, updates: sum.updates + p.updates }),
        {
          bytes: 0,
          updates: 0,
        },
      );
      assert.ok(polled.updates >= 8, `the page polled ${polls.length} times`);
      // Steady SSE and WebSocket streams: what the test's own subscribers read per update.
      const expected = {
        sse: sseMeter.perUpdate(),
        websocket: wsMeter.perUpdate(),
        poll: polled.bytes / polled.updates,
      };
      const report = JSON.stringify({ shown, expected });
      sub.diagnostic(`wire bytes per update: ${report}`);
      for (const name of PANES) {
        const measured = expected[name];
        assert.ok(
          measured !== null && measured > 0,
          `${name}: the test measured no steady stream: ${report}`,
        );
        // Loose bounds: the page reads a two-second window of every subscriber of the transport.
        assert.ok(
          shown[name]! >= measured * 0.8 && shown[name]! <= measured * 1.25,
          `${name}: the page shows ${shown[name]} B per update, the test measured ${measured.toFixed(1)}: ${report}`,
        );
      }
      // The same basis shows what a poll costs: its request and answer heads, every update.
      assert.ok(shown.poll! > 2 * shown.sse! && shown.poll! > 2 * shown.websocket!, report);
      // The chart draws the same figures, one bar per transport.
      const charted = await page.evaluate(async () => {
        await new Promise((r) => requestAnimationFrame(r));
        await new Promise((r) => requestAnimationFrame(r));
        const compare = (
          globalThis as unknown as {
            heraldCompare: {
              charts: { bytes: (number | null)[] };
              panes: Record<string, { wireBytesPerUpdate: number | null }>;
            };
          }
        ).heraldCompare;
        return {
          bars: compare.charts.bytes,
          panes: Object.values(compare.panes).map((p) => p.wireBytesPerUpdate),
        };
      });
      assert.deepEqual(charted.bars, charted.panes);
      assert.equal(Number(await page.locator('#chart-bytes').getAttribute('data-bars')), 3);
    },
  );

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

  await t.test(
    'one reconnect policy: every pane waited the announced retry; the browser default apart',
    async () => {
      assert.equal(await page.locator('#retry-ms').textContent(), `${RETRY_MS} ms`);
      const policy = await page.evaluate(
        () => (globalThis as unknown as { heraldCompare: { policy: unknown } }).heraldCompare.policy,
      );
      assert.deepEqual(policy, { initialMs: RETRY_MS, maxMs: 30_000, jitter: 'none' });
      // The connections the drop ended (SSE, WebSocket) came back no sooner than the one retry time:
      // with each client's default, the WebSocket came back at once and SSE 3 s later.
      const after = await figures(page);
      for (const name of ['sse', 'websocket']) {
        assert.ok(after[name]!.resume!.ms >= RETRY_MS, `${name} waited ${after[name]!.resume!.ms} ms`);
      }
      // The browser's own EventSource is measured too, apart and labelled.
      await page.waitForFunction(
        () =>
          (globalThis as unknown as { heraldCompare: { native: { resume: { ms: number | null } | null } } })
            .heraldCompare.native.resume?.ms != null,
        null,
        { timeout: 30_000 },
      );
      assert.match(
        (await page.locator('#native h3').textContent()) ?? '',
        /browser's own EventSource, with its default policy/,
      );
      assert.match(
        (await page.locator('#native-resume').textContent()) ?? '',
        /^back \d+ ms after the last drop$/,
      );
    },
  );

  await t.test(
    'the charts are drawn: latency per transport, bytes per update, reconnect after the drop',
    async () => {
      await page.waitForFunction(
        () => {
          const [latency, bytes, reconnect] = ['#chart-latency', '#chart-bytes', '#chart-reconnect'].map(
            (id) => Number(document.querySelector<HTMLCanvasElement>(id)?.dataset.bars ?? 0),
          );
          return latency! > 0 && bytes === 3 && reconnect === 4;
        },
        null,
        { timeout: 30_000 },
      );
      // Real pixels on every canvas, not only the bookkeeping.
      const inked = await page.evaluate(() =>
        ['#chart-latency', '#chart-bytes', '#chart-reconnect'].map((id) => {
          const canvas = document.querySelector<HTMLCanvasElement>(id)!;
          const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
          let n = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
          return n;
        }),
      );
      for (const n of inked) assert.ok(n > 500, `${n} pixels drawn`);
      // The latency chart counts each pane's last 100 latencies, one series per transport: read
      // together, two frames after the last redraw was asked for.
      const { charts, panes } = await page.evaluate(async () => {
        await new Promise((r) => requestAnimationFrame(r));
        await new Promise((r) => requestAnimationFrame(r));
        const compare = (
          globalThis as unknown as {
            heraldCompare: {
              charts: { latency: { name: string; values: number[] }[] };
              panes: Record<string, { latencies: number[] }>;
            };
          }
        ).heraldCompare;
        return {
          charts: compare.charts,
          panes: Object.fromEntries(Object.entries(compare.panes).map(([k, v]) => [k, v.latencies.length])),
        };
      });
      for (const series of charts.latency) {
        assert.equal(
          series.values.reduce((a, b) => a + b, 0),
          panes[series.name],
          series.name,
        );
      }
      if (SCREENSHOTS) await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
    },
  );

  await t.test('"Cost on the server" shows the latest bench results file, figure for figure', async () => {
    const file = JSON.parse(readFileSync(BENCH_RESULTS_PATH, 'utf8')) as {
      started: string;
      scenarios: { key: string; title: string }[];
      summaries: { scenario: string; system: string; cpuMicrosPerDelivery: number }[];
    };
    await page.waitForFunction(() => document.querySelectorAll('#bench-table tbody tr').length > 0);
    const rows = await page
      .locator('#bench-table tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    for (const { key, title } of file.scenarios) {
      const row = rows.find((r) => r[0] === `${title}: CPU per delivery`);
      assert.ok(row, `a row for ${title}`);
      const expected = ['herald', 'herald-ws', 'herald-poll', 'ws'].map((system) => {
        const s = file.summaries.find((x) => x.scenario === key && x.system === system);
        return s ? `${s.cpuMicrosPerDelivery.toFixed(2)} µs` : '–';
      });
      assert.deepEqual(row.slice(1), expected);
    }
    assert.match(
      (await page.locator('#bench-run').textContent()) ?? '',
      new RegExp(file.started.replace(/[.]/g, '\\.')),
    );
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
  // Streams sharing one socket have no wire figure of their own: the page says so, not a number.
  await page.waitForFunction(
    () =>
      document.querySelector('[data-pane="sse"][data-field="bytes"]')?.textContent ===
      'not measured over HTTP/2',
    null,
    { timeout: 30_000 },
  );
  await page.click('#six-run');
  const six = await page.waitForFunction(
    () => (globalThis as unknown as { heraldCompare: { six: unknown } }).heraldCompare.six,
    null,
    { timeout: 30_000 },
  );
  assert.deepEqual(await six.jsonValue(), { protocol: 'h2', opened: 10, streams: 10 });
  assert.match((await page.locator('#six-result').textContent()) ?? '', /All 10 streams opened \(h2\)/);
});
