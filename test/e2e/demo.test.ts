/**
 * The demo pages in real Chromium against a real hub: the clock ticks, the ticker flashes, a
 * notification reaches every tab, and a tab that was closed gets what it missed, once.
 * Each run also saves each page to docs/screenshots/ (HERALD_SCREENSHOTS=0 skips it).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type DemoOptions, mountDemo } from '../../src/hub/demo/index.js';
import { publishTick, Ticker } from '../../src/hub/demo/ticker.js';
import { createHub } from '../../src/hub/index.js';
import { bundleClient, launchChromium } from '../support/browser.js';

const KEY = 'demo-test-key-0123456789abcdef0123456789';
// Every run refreshes docs/screenshots/ (the README shows them); HERALD_SCREENSHOTS=0 skips it.
const SCREENSHOTS = process.env.HERALD_SCREENSHOTS !== '0';
const SCREENSHOT_DIR = new URL('../../docs/screenshots/', import.meta.url);

async function startDemoHub(t: import('node:test').TestContext, options: DemoOptions = {}) {
  const hub = createHub({ jwt: { key: KEY }, anonymous: true });
  const demo = await mountDemo(hub, {
    publisherKey: KEY,
    clientBundle: await bundleClient(),
    buildLog: { lineMs: 60, lines: 40, pauseMs: 60_000 },
    ...options,
  });
  const server = http.createServer((req, res) => hub.handle(req, res, () => demo.handle(req, res)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    demo.close();
    await hub.close({ retryMs: 1000 });
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { hub, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOT_DIR).pathname, fullPage: false });
}

async function newPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  return page;
}

test('the demo pages work in Chromium', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const { origin } = await startDemoHub(t);

  await t.test('the index links every demo', async () => {
    const page = await newPage(browser);
    await page.goto(`${origin}/`);
    const links = await page
      .locator('main a.card')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(links, [
      '/clock.html',
      '/ticker.html',
      '/notifications.html',
      '/log.html',
      '/why-sse.html',
    ]);
    await page.goto(`${origin}/why-sse.html`);
    assert.match((await page.locator('table.compare').last().textContent()) ?? '', /Last-Event-ID/);
    await page.waitForSelector('[data-status][data-ready-state="open"]');
    await page.waitForFunction(
      () => document.querySelector('[data-pane="sse"][data-field="state"]')?.textContent === 'OPEN',
    );
    await screenshot(page, 'why-sse');
    await page.close();
  });

  await t.test('the build log: a reload and a late tab show the whole log, then its end', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    t.after(() => context.close());
    const a = await context.newPage();
    a.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    await a.goto(`${origin}/log.html`);
    const count = (page: Page) => page.evaluate(() => Number(document.querySelector('#lines')!.textContent));
    await a.waitForFunction(() => Number(document.querySelector('#lines')!.textContent) >= 5, null, {
      timeout: 30_000,
    });
    // Reload mid-build: the log comes back from its first line and goes on.
    const build = await a.locator('#build').textContent();
    await a.reload();
    await a.waitForFunction(() => Number(document.querySelector('#lines')!.textContent) >= 8);
    assert.equal(await a.locator('#build').textContent(), build);
    // A second tab joins later, still mid-build (40 lines at 60 ms each).
    const b = await context.newPage();
    await b.goto(`${origin}/log.html`);
    assert.ok((await count(b)) < 40 || (await b.locator('#state').textContent()) === 'finished');
    for (const page of [a, b]) {
      await page.waitForFunction(() => document.querySelector('#state')!.textContent === 'finished', null, {
        timeout: 30_000,
      });
    }
    const expected = Array.from(
      { length: 40 },
      (_, i) => `#${String(i + 1).padStart(3, '0')} [build ${build}]`,
    );
    for (const page of [a, b]) {
      const text = (await page.locator('#log').textContent()) ?? '';
      const lines = text.split('\n').filter((l) => l !== '');
      // Every line once, in order: no gap, no duplicate.
      assert.deepEqual(
        lines.map((l) => l.slice(0, l.indexOf(']') + 1)),
        expected,
      );
      assert.equal(await count(page), 40);
    }
    await screenshot(a, 'log');
  });

  await t.test(
    'the build log has a status strip, and goes on to the next build after "finished"',
    async (st) => {
      // A hub of its own with short builds and a short pause between them, closed with this test.
      const own = await startDemoHub(st, { buildLog: { lineMs: 30, lines: 10, pauseMs: 1500 } });
      const page = await newPage(browser);
      await page.goto(`${own.origin}/log.html`);
      await page.waitForFunction(() => document.querySelector('#state')!.textContent === 'finished', null, {
        timeout: 30_000,
      });
      const first = Number(await page.locator('#build').textContent());
      // The strip: the reading ended (CLOSED), after the last chunk's event ID.
      await page.waitForSelector('[data-status][data-ready-state="closed"]');
      assert.notEqual(await page.locator('[data-status] [data-last-id]').textContent(), '–');
      assert.equal(await page.locator('[data-status] [data-reconnects]').textContent(), '0');
      // "finished" lasts until the next build starts, which the page then follows.
      await page.waitForFunction((n) => Number(document.querySelector('#build')!.textContent) > n, first, {
        timeout: 30_000,
      });
      await page.waitForFunction(() => document.querySelector('#state')!.textContent === 'finished', null, {
        timeout: 30_000,
      });
      const text = (await page.locator('#log').textContent()) ?? '';
      assert.match(text, new RegExp(`^#001 \\[build ${first + 1}\\]`));
      assert.equal(await page.locator('#lines').textContent(), '10');
      await page.close();
    },
  );

  await t.test('the front page is live: the clock ticks and the hub figures arrive', async () => {
    const page = await newPage(browser);
    await page.goto(`${origin}/`);
    await page.waitForSelector('[data-status][data-ready-state="open"]');
    // The clock changes under the reader's eyes: a first time, then another one.
    await page.waitForFunction(
      () => document.querySelector('#clock')!.getAttribute('datetime') !== null,
      null,
      {
        timeout: 30_000,
      },
    );
    const first = await page.locator('#clock').getAttribute('datetime');
    await page.waitForFunction(
      (t) => document.querySelector('#clock')!.getAttribute('datetime') !== t,
      first,
      {
        timeout: 30_000,
      },
    );
    const second = await page.locator('#clock').getAttribute('datetime');
    assert.ok(Date.parse(second!) > Date.parse(first!), `${first} then ${second}`);
    // The hub's own figures: this page's stream is one of its connections, and the clock, ticker
    // and stats publishers make updates every second.
    await page.waitForFunction(() => document.querySelector('#connections')!.textContent !== '–', null, {
      timeout: 30_000,
    });
    assert.ok(Number(await page.locator('#connections').textContent()) >= 1);
    await page.waitForFunction(() => Number(document.querySelector('#published')!.textContent) > 0, null, {
      timeout: 30_000,
    });
    await page.waitForFunction(() => Number(document.querySelector('#delivered')!.textContent) > 0, null, {
      timeout: 30_000,
    });
    await screenshot(page, 'index');
    await page.close();
  });

  await t.test('the clock appends each time the server pushes', async () => {
    const page = await newPage(browser);
    await page.goto(`${origin}/clock.html`);
    await page.waitForFunction(() => document.querySelectorAll('#times li').length >= 2, null, {
      timeout: 30_000,
    });
    const times = await page
      .locator('#times time')
      .evaluateAll((ts) => ts.map((e) => e.getAttribute('datetime')!));
    // Newest first, each one later than the one before it.
    assert.ok(Date.parse(times[0]!) > Date.parse(times[1]!), `times in order: ${times.join(', ')}`);
    assert.equal(await page.locator('[data-status] [data-state]').textContent(), 'OPEN');
    assert.match((await page.locator('[data-status] [data-last-id]').textContent()) ?? '', /^urn:uuid:/);
    await screenshot(page, 'clock');
    await page.close();
  });

  await t.test('the ticker shows fifty symbols and flashes changes', async () => {
    const page = await newPage(browser);
    await page.goto(`${origin}/ticker.html`);
    await page.waitForFunction(() => document.querySelectorAll('#quotes tbody tr').length === 50);
    // Two panes (full rate, maxRate=1), each a table of every symbol under its own header.
    await page.waitForFunction(() => document.querySelectorAll('#quotes-limited tbody tr').length === 50);
    const headers = await page
      .locator('.pane table')
      .evaluateAll((tables) => tables.map((table) => table.querySelector('thead')?.textContent));
    assert.deepEqual(headers, ['SymbolPriceChange', 'SymbolPriceChange']);
    await page.waitForFunction(() => Number(document.querySelector('#updates')!.textContent) >= 20, null, {
      timeout: 30_000,
    });
    await page.waitForFunction(
      () => document.querySelectorAll('#quotes tr.flash-up, #quotes tr.flash-down').length > 0,
    );
    const changed = await page.locator('#quotes td.change.up, #quotes td.change.down').count();
    assert.ok(changed > 0, 'some changes are coloured up or down');
    await screenshot(page, 'ticker');
    await page.close();
  });

  await t.test(
    'the ticker panes: full rate and maxRate=1 end with the same prices, the limited one with fewer updates',
    async () => {
      // A hub of its own whose ticker the test drives, so that it can stop and compare.
      const ticker = new Ticker();
      const own = await startDemoHub(t, { publishers: false, ticker });
      const page = await newPage(browser);
      await page.goto(`${own.origin}/ticker.html`);
      await page.waitForFunction(
        () =>
          document.querySelectorAll('#quotes tbody tr').length === 50 &&
          document.querySelectorAll('#quotes-limited tbody tr').length === 50 &&
          document.querySelectorAll('[data-pane][data-open="true"]').length === 2,
      );
      // Every price each pane shows, in order: a row's colour must follow the move its reader saw.
      await page.evaluate(() => {
        const w = window as unknown as { shown: Record<string, Record<string, string[]>> };
        w.shown = {};
        for (const table of ['quotes', 'quotes-limited']) {
          // Each record keeps the price a row held before it was set again; the last comes from the row.
          const shown: Record<string, string[]> = (w.shown[table] = {});
          for (const tr of document.querySelectorAll<HTMLElement>(`#${table} tbody tr`)) {
            shown[tr.dataset.symbol!] = [];
          }
          new MutationObserver((records) => {
            for (const r of records) shown[(r.target as HTMLElement).dataset.symbol!]!.push(r.oldValue!);
          }).observe(document.querySelector(`#${table} tbody`)!, {
            subtree: true,
            attributes: true,
            attributeOldValue: true,
            attributeFilter: ['data-price'],
          });
        }
      });
      const ticks = 40;
      for (let i = 0; i < ticks; i++) {
        await publishTick(own.hub, ticker);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const final = Object.fromEntries(ticker.snapshot().map(([symbol, price]) => [symbol, String(price)]));
      // The limited pane gets its last send within a second of the last update.
      await page.waitForFunction(
        (expected) =>
          ['#quotes', '#quotes-limited'].every((table) =>
            [...document.querySelectorAll<HTMLElement>(`${table} tbody tr`)].every(
              (tr) => tr.dataset.price === expected[tr.dataset.symbol!],
            ),
          ),
        final,
        { timeout: 30_000 },
      );
      const full = Number(await page.locator('#updates').textContent());
      const limited = Number(await page.locator('#updates-limited').textContent());
      assert.ok(full <= ticks * 10 && full > 0, `full rate: ${full} of ${ticks * 10}`);
      assert.ok(limited < full, `limited: ${limited} < full: ${full}`);
      // Each row is green or red by the last move its pane showed, not by the publisher's last tick.
      const colours = await page.evaluate(() => {
        const { shown } = window as unknown as { shown: Record<string, Record<string, string[]>> };
        return ['quotes', 'quotes-limited'].flatMap((table) =>
          [...document.querySelectorAll<HTMLElement>(`#${table} tbody tr`)].map((tr) => {
            const prices = [...shown[table]![tr.dataset.symbol!]!, tr.dataset.price!].map(Number);
            const move = Math.round((prices.at(-1)! - (prices.at(-2) ?? prices.at(-1)!)) * 100) / 100;
            const cell = tr.querySelector('.change')!;
            return {
              row: `${table} ${tr.dataset.symbol} ${prices.slice(-2).join(' -> ')}`,
              expected: move > 0 ? 'up' : move < 0 ? 'down' : 'none',
              shown: cell.classList.contains('up') ? 'up' : cell.classList.contains('down') ? 'down' : 'none',
            };
          }),
        );
      });
      const wrong = colours.filter((c) => c.expected !== c.shown);
      assert.deepEqual(
        wrong,
        [],
        `${wrong.length} of ${colours.length} rows coloured against the move shown`,
      );
      await screenshot(page, 'ticker-panes');
      await page.close();
    },
  );

  await t.test('a notification reaches every tab; a tab that was away catches up, once', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    t.after(() => context.close());
    const a = await context.newPage();
    const b = await context.newPage();
    await a.goto(`${origin}/notifications.html`);
    await b.goto(`${origin}/notifications.html`);
    for (const page of [a, b]) await page.waitForSelector('[data-status][data-ready-state="open"]');

    const publish = async (text: string) => {
      await a.fill('#text', text);
      await a.click('#notify button');
      await a.waitForFunction(() => document.querySelector('[data-result]')!.textContent === 'published');
    };
    const feed = (page: Page) => page.locator('#feed li span').allInnerTexts();
    const waitFor = (page: Page, text: string) =>
      page.waitForFunction(
        (t) => [...document.querySelectorAll('#feed li span')].some((s) => s.textContent === t),
        text,
        { timeout: 10_000 },
      );

    await publish('first: both tabs see this');
    await waitFor(a, 'first: both tabs see this');
    await waitFor(b, 'first: both tabs see this');

    // The second tab leaves (its stream closes), two notifications go out, then it comes back.
    await b.goto(`${origin}/clock.html`);
    await publish('second: published while the other tab was away');
    await publish('third: also missed');
    await b.goBack();
    await waitFor(b, 'third: also missed');
    // What it had shown is still there (kept locally), and it resumed after the last ID it had seen:
    // each missed notification shows, once, in order, marked, with a "caught up" line under them.
    assert.deepEqual(await feed(b), [
      'third: also missed',
      'second: published while the other tab was away',
      'first: both tabs see this',
    ]);
    assert.deepEqual(await b.locator('#feed li.missed span').allInnerTexts(), [
      'third: also missed',
      'second: published while the other tab was away',
    ]);
    await b.waitForFunction(
      () => document.querySelector('#feed .caught-up')?.textContent === 'caught up: 2 missed',
    );
    assert.deepEqual(await b.locator('#feed > li').evaluateAll((items) => items.map((li) => li.className)), [
      'missed',
      'missed',
      'caught-up',
      '',
    ]);
    assert.deepEqual(await feed(a), [
      'third: also missed',
      'second: published while the other tab was away',
      'first: both tabs see this',
    ]);
    const lastId = await b.locator('#feed li').first().getAttribute('data-id');
    assert.equal(await b.locator('[data-status] [data-last-id]').textContent(), lastId);
    await screenshot(a, 'notifications');

    // An empty (or blank) submit says why nothing was published, and publishes nothing.
    const before = (await feed(a)).length;
    await a.fill('#text', '   ');
    await a.click('#notify button');
    await a.waitForFunction(() =>
      document.querySelector('[data-result]')!.textContent!.startsWith('Write something'),
    );
    assert.equal(await a.locator('#text').getAttribute('aria-invalid'), 'true');
    // "published" does not linger: it goes once the reader types again (or after a few seconds).
    await publish('fourth: after the empty one');
    await waitFor(a, 'fourth: after the empty one');
    assert.equal((await feed(a)).length, before + 1, 'the blank submit published nothing');
    await a.fill('#text', 'x');
    await a.waitForFunction(() => document.querySelector('[data-result]')!.textContent === '');
    await a.waitForFunction(() => document.querySelector('#text')!.getAttribute('aria-invalid') === 'false');
  });
});
