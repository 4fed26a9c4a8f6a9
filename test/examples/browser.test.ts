/**
 * The browser examples (examples/client-browser.html, examples/shared-event-source.html) in real
 * Chromium, served by examples/browser-pages.ts next to a demo hub.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchChromium } from '../support/browser.js';
import { listeningOn, startExample } from './example-process.js';

test('the browser examples run in Chromium', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const server = startExample('browser-pages.ts', ['0']);
  t.after(() => server.kill());
  const base = (await listeningOn(server)).replace('localhost', '127.0.0.1');

  await t.test('client-browser.html lists the demo clock as it ticks', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    await page.goto(new URL('/client-browser.html', base).href);
    await page.waitForFunction(() => document.querySelectorAll('#ticks li').length >= 2, null, {
      timeout: 30_000,
    });
    assert.equal(await page.locator('#state').textContent(), 'OPEN');
    const ids = await page.locator('#ticks li').evaluateAll((items) => items.map((li) => li.dataset.id));
    assert.equal(new Set(ids).size, ids.length, 'each tick once');
    await page.close();
  });

  await t.test('shared-event-source.html: two tabs, one connection, the same ticks', async () => {
    const context = await browser.newContext();
    const hubRequests: string[] = [];
    context.on('request', (request) => {
      if (request.url().includes('/.well-known/mercure')) hubRequests.push(request.url());
    });
    const pages = [await context.newPage(), await context.newPage()];
    for (const page of pages) {
      page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
      await page.goto(new URL('/shared-event-source.html', base).href);
    }
    // Both tabs show the same tick (the one the leader got and relayed).
    await Promise.all(
      pages.map((page) =>
        page.waitForFunction(() => document.querySelectorAll('#ticks li').length >= 2, null, {
          timeout: 30_000,
        }),
      ),
    );
    const roles = await Promise.all(pages.map((page) => page.locator('#role').textContent()));
    assert.deepEqual(roles.sort(), ['gets events relayed', 'holds the connection']);
    assert.equal(hubRequests.length, 1, `one connection for both tabs: ${hubRequests.join(', ')}`);
    const [first, second] = await Promise.all(
      pages.map((page) => page.locator('#ticks li').evaluateAll((items) => items.map((li) => li.dataset.id))),
    );
    const shared = first!.filter((id) => second!.includes(id));
    assert.ok(shared.length >= 1, `the tabs show the same ticks: ${first} / ${second}`);
    await context.close();
  });

  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});
