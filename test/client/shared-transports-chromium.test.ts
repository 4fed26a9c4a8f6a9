/**
 * The browser bundle in real Chromium against a real hub: the `gap` event on every transport, and
 * `SharedEventSource` over the hub's WebSocket and long polling, across hand-overs (a tab closed, a
 * leader paused in the debugger and deposed), with every tab learning of any gap its relay had.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { DEMO_TOPICS } from '../../src/hub/demo/index.js';
import { createMemoryStore, type Hub, type HubOptions } from '../../src/hub/index.js';
import { launchChromium } from '../support/browser.js';
import { startDemoHub } from '../support/demo-hub.js';

const KEY = 'shared-transports-chromium-key-0123456789';
const TOPIC = 'https://example.com/shared';

/** A hub with its demo (the bundle and a page of its origin), anonymous subscribers, 500 ms polls. */
function startPageHub(t: TestContext, options: HubOptions = {}) {
  const hubOptions = { jwt: { key: KEY }, anonymous: true, pollTimeoutMs: 500, ...options };
  return startDemoHub(t, hubOptions, { publishers: false });
}

declare global {
  interface Window {
    heraldSource: { readyState: number; isLeader?: boolean; close(): void; lastEventId: string };
    /** `data` of each message, and `gap:<requested>><cursor>` for each gap, in order. */
    entries: string[];
    errors: string[];
  }
}

/** Opens a page of the hub's origin with a (Shared)EventSource on TOPIC recording what it gets. */
async function openMember(
  browser: Browser | { newPage(): Promise<Page> },
  origin: string,
  kind: 'SharedEventSource' | 'EventSource',
  options: Record<string, unknown>,
): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  // A page of the origin that subscribes to nothing itself (a 404 is a document too).
  await page.goto(`${origin}/blank`);
  await page.evaluate(
    async ([kind, topic, options]) => {
      const herald = await import('/herald-client.js' as string);
      const url = new URL('/.well-known/mercure', location.href);
      url.searchParams.set('topic', topic);
      window.entries = [];
      window.errors = [];
      const source = new herald[kind](url, options);
      window.heraldSource = source;
      source.addEventListener('message', (e: MessageEvent) => window.entries.push(e.data));
      source.addEventListener('gap', (e: { requested: string; cursor: string }) =>
        window.entries.push(`gap:${e.requested}>${e.cursor}`),
      );
      source.addEventListener('error', (e: { code?: string }) => window.errors.push(e.code ?? 'error'));
    },
    [kind, TOPIC, options] as const,
  );
  return page;
}

const opened = (page: Page) => page.waitForFunction(() => window.heraldSource.readyState === 1);
const dataOf = (page: Page) =>
  page.evaluate(() => window.entries.filter((e) => !e.startsWith('gap:')).map(Number));
const waitFor = (page: Page, n: number) =>
  page.waitForFunction((last) => window.entries.includes(last), String(n), { timeout: 30_000 });

async function publishRange(hub: Hub, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n <= to; n++) ids.push((await hub.publish({ topics: [TOPIC], data: String(n) })).id);
  return ids;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Every skip in the numbers a page received is announced: a `gap` entry sits right before the first
 * number after the skip. True when nothing was skipped.
 */
function everySkipAnnounced(entries: string[]): boolean {
  let last = 0;
  let gap = false;
  for (const entry of entries) {
    if (entry.startsWith('gap:')) {
      gap = true;
      continue;
    }
    const n = Number(entry);
    if (n > last + 1 && last !== 0 && !gap) return false;
    if (n > last) last = n;
    gap = false;
  }
  return true;
}

test('in Chromium, browser bundle against a real hub', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;

  for (const transport of ['sse', 'websocket', 'poll'] as const) {
    await t.test(`${transport}: resuming from an ID past history fires gap before any update`, async (t) => {
      const { hub, origin } = await startPageHub(t, {
        store: createMemoryStore({ maxCount: 3, maxAgeMs: 0 }),
      });
      const ids = await publishRange(hub, 1, 6);
      const page = await openMember(browser, origin, 'EventSource', { transport, lastEventId: ids[0] });
      t.after(() => page.close());
      await opened(page);
      await page.waitForFunction(() => window.entries.length > 0);
      const [first] = await page.evaluate(() => window.entries);
      assert.match(first!, new RegExp(`^gap:${ids[0]}>`));
      await publishRange(hub, 7, 7);
      await waitFor(page, 7);
      const entries = await page.evaluate(() => window.entries);
      assert.equal(entries.filter((e) => e.startsWith('gap:')).length, 1);
      assert.equal(entries.at(-1), '7');
    });
  }

  await t.test(
    'SharedEventSource over websocket: a closed leader hands over, nothing is lost or repeated',
    async (t) => {
      const { hub, origin } = await startPageHub(t);
      const context = await browser.newContext();
      t.after(() => context.close());
      const options = { transport: 'websocket', lastEventIdParam: 'lastEventID' };
      const pages: Page[] = [];
      for (let i = 0; i < 3; i++) pages.push(await openMember(context, origin, 'SharedEventSource', options));
      for (const page of pages) await opened(page);
      assert.equal(hub.subscriberCount, 1, 'one hub connection for three tabs');
      await publishRange(hub, 1, 10);
      for (const page of pages) await waitFor(page, 10);
      const leaders = await Promise.all(pages.map((p) => p.evaluate(() => window.heraldSource.isLeader)));
      await pages[leaders.indexOf(true)]!.close();
      const rest = pages.filter((_, i) => !leaders[i]);
      // Published during the hand-over: the new leader resumes after 10 and gets them from history.
      await publishRange(hub, 11, 20);
      for (const page of rest) await waitFor(page, 20);
      await publishRange(hub, 21, 25);
      for (const page of rest) {
        await waitFor(page, 25);
        assert.deepEqual(await dataOf(page), range(1, 25));
        assert.deepEqual(await page.evaluate(() => window.errors), []);
        assert.equal(await page.evaluate(() => window.heraldSource.readyState), 1);
      }
      assert.equal(hub.subscriberCount, 1);
    },
  );

  await t.test(
    'SharedEventSource over poll: a deposed leader coming back learns of what it missed (gap)',
    async (t) => {
      const { hub, origin } = await startPageHub(t);
      const context = await browser.newContext();
      t.after(() => context.close());
      const options = { transport: 'poll', leaderTimeoutMs: 800 };
      const pages: Page[] = [];
      for (let i = 0; i < 3; i++) pages.push(await openMember(context, origin, 'SharedEventSource', options));
      for (const page of pages) await opened(page);
      await publishRange(hub, 1, 5);
      for (const page of pages) await waitFor(page, 5);
      const leaders = await Promise.all(pages.map((p) => p.evaluate(() => window.heraldSource.isLeader)));
      const leader = pages[leaders.indexOf(true)]!;
      const rest = pages.filter((p) => p !== leader);
      const cdp = await context.newCDPSession(leader);
      await cdp.send('Debugger.enable');
      await cdp.send('Debugger.pause');
      await publishRange(hub, 6, 10);
      // A follower steals the lock and resumes after 5.
      for (const page of rest) await waitFor(page, 10);
      await publishRange(hub, 11, 20);
      for (const page of rest) await waitFor(page, 20);
      await cdp.send('Debugger.resume');
      await leader.waitForFunction(() => !window.heraldSource.isLeader);
      await publishRange(hub, 21, 25);
      for (const page of pages) await waitFor(page, 25);
      for (const page of rest) assert.deepEqual(await dataOf(page), range(1, 25));
      const entries = await leader.evaluate(() => window.entries);
      assert.ok(everySkipAnnounced(entries), `a skip without a gap event: ${entries.join(' ')}`);
    },
  );

  await t.test('SharedEventSource: a gap the leader had reaches every tab', async (t) => {
    const { hub, origin } = await startPageHub(t, {
      store: createMemoryStore({ maxCount: 3, maxAgeMs: 0 }),
    });
    const context = await browser.newContext();
    t.after(() => context.close());
    // The leader reconnects half a second after a drop: long enough to publish past its history.
    const options = { backoff: { initialMs: 500, jitter: 'none' } };
    const pages = [
      await openMember(context, origin, 'SharedEventSource', options),
      await openMember(context, origin, 'SharedEventSource', options),
    ];
    for (const page of pages) await opened(page);
    const ids = await publishRange(hub, 1, 2);
    for (const page of pages) await waitFor(page, 2);
    hub.disconnectSubscribers();
    await publishRange(hub, 3, 9);
    // The hub replays what it still holds, or (before it does) only what comes next.
    for (const page of pages)
      await page.waitForFunction(() => window.entries.some((e) => e.startsWith('gap:')), null, {
        timeout: 30_000,
      });
    await publishRange(hub, 10, 10);
    for (const page of pages) await waitFor(page, 10);
    for (const page of pages) {
      const entries = await page.evaluate(() => window.entries);
      const gap = entries.findIndex((e) => e.startsWith('gap:'));
      assert.ok(gap > 1, `a gap after 2: ${entries.join(' ')}`);
      assert.match(entries[gap]!, new RegExp(`^gap:${ids[1]}>`));
      assert.ok(everySkipAnnounced(entries), entries.join(' '));
    }
  });

  await t.test(
    'the notifications demo says some may be missing and shows all the hub still keeps',
    async (t) => {
      const { hub, origin } = await startPageHub(t, {
        store: createMemoryStore({ maxCount: 3, maxAgeMs: 0 }),
      });
      const topic = DEMO_TOPICS.notifications;
      const ids: string[] = [];
      for (let n = 1; n <= 6; n++) {
        const at = new Date().toISOString();
        ids.push((await hub.publish({ topics: [topic], data: JSON.stringify({ text: `n${n}`, at }) })).id);
      }
      const page = await browser.newPage();
      t.after(() => page.close());
      page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
      // The tab showed n1 before it went away; the hub has kept only n4..n6 since.
      await page.addInitScript((id) => {
        const at = new Date().toISOString();
        sessionStorage.setItem('herald-demo-notifications', JSON.stringify([{ id, text: 'n1', at }]));
      }, ids[0]!);
      await page.goto(`${origin}/notifications.html`);
      await page.waitForFunction(() => document.querySelectorAll('#feed li span').length === 4, null, {
        timeout: 30_000,
      });
      assert.match(
        (await page.locator('#feed li.gap').textContent()) ?? '',
        /Some notifications may be missing/,
      );
      assert.deepEqual(await page.locator('#feed li span').allInnerTexts(), ['n6', 'n5', 'n4', 'n1']);
    },
  );

  await t.test(
    'a hung leader is replaced with the tabs visible or hidden (times as diagnostics)',
    async (t) => {
      const { hub, origin } = await startPageHub(t);
      const timeoutMs = 800;
      const took: Record<string, number> = {};
      for (const visibility of ['visible', 'hidden'] as const) {
        const context = await browser.newContext();
        t.after(() => context.close());
        await context.addInitScript(countWakeUps);
        const pages: Page[] = [];
        for (let i = 0; i < 3; i++)
          pages.push(await openMember(context, origin, 'SharedEventSource', { leaderTimeoutMs: timeoutMs }));
        for (const page of pages) await opened(page);
        if (visibility === 'hidden') for (const page of pages) await page.evaluate(() => window.hide());
        const leaders = await Promise.all(pages.map((p) => p.evaluate(() => window.heraldSource.isLeader)));
        const leader = pages[leaders.indexOf(true)]!;
        const cdp = await context.newCDPSession(leader);
        await cdp.send('Debugger.enable');
        const start = Date.now();
        await cdp.send('Debugger.pause');
        await Promise.any(
          pages
            .filter((p) => p !== leader)
            .map((p) =>
              p.waitForFunction(() => window.heraldSource.isLeader, null, { timeout: 30_000, polling: 20 }),
            ),
        );
        took[visibility] = Date.now() - start;
        await cdp.send('Debugger.resume');
        // Chromium drops channel messages to a paused page (such a tab later reports a gap): publish
        // once the old leader runs again and has noticed it was deposed.
        await leader.waitForFunction(() => !window.heraldSource.isLeader, null, { timeout: 30_000 });
        await publishRange(hub, 1, 1);
        for (const page of pages) await waitFor(page, 1);
        await context.close();
      }
      // Headless Chromium neither hides nor throttles pages: the hidden figure is the watch's own
      // period (4.5 timeouts), not Chromium's throttling on top of it.
      t.diagnostic(`takeover of a hung leader, leaderTimeoutMs ${timeoutMs}: ${JSON.stringify(took)} ms`);
    },
  );

  await t.test(
    'hidden idle tabs sharing one connection wake up no more often than as many plain tabs',
    async (t) => {
      // Time scaled down tenfold: a 1.5 s heartbeat (15 s by default), a 1 s leader timeout (10 s).
      const { origin } = await startPageHub(t, { heartbeatMs: 1500 });
      const wakeUps: Record<string, number> = {};
      // Both kinds side by side, in contexts of their own (a context's tabs share channels and locks):
      // the same machine load falls on both counts, and the test takes half the time.
      const measure = async (kind: 'EventSource' | 'SharedEventSource') => {
        const context = await browser.newContext();
        t.after(() => context.close());
        await context.addInitScript(countWakeUps);
        const pages: Page[] = [];
        for (let i = 0; i < 3; i++)
          pages.push(
            await openMember(context, origin, kind, kind === 'EventSource' ? {} : { leaderTimeoutMs: 1000 }),
          );
        for (const page of pages) await opened(page);
        for (const page of pages) await page.evaluate(() => window.hide());
        // Settled, then counted over 20 s (200 s at the default timings).
        await new Promise((resolve) => setTimeout(resolve, 2000));
        for (const page of pages)
          await page.evaluate(() => {
            window.wakeUps = 0;
            window.kinds = {};
          });
        await new Promise((resolve) => setTimeout(resolve, 20_000));
        const counts = await Promise.all(pages.map((page) => page.evaluate(() => window.wakeUps)));
        wakeUps[kind] = counts.reduce((a, b) => a + b, 0);
        t.diagnostic(
          `${kind}: ${JSON.stringify(await Promise.all(pages.map((page) => page.evaluate(() => window.kinds))))}`,
        );
        for (const page of pages) assert.equal(await page.evaluate(() => window.heraldSource.readyState), 1);
      };
      await Promise.all([measure('EventSource'), measure('SharedEventSource')]);
      t.diagnostic(`wake-ups in 20 s, 3 hidden idle tabs: ${JSON.stringify(wakeUps)}`);
      assert.ok(
        wakeUps.SharedEventSource! <= wakeUps.EventSource!,
        `shared ${wakeUps.SharedEventSource} > plain ${wakeUps.EventSource}`,
      );
    },
  );
});

declare global {
  interface Window {
    wakeUps: number;
    /** Wake-ups by kind: timer, channel message kind, stream read. */
    kinds: Record<string, number>;
    hide(): void;
  }
}

/**
 * Runs in each page before its scripts: counts the tasks that wake its JavaScript up (timer
 * callbacks, channel messages, stream chunks read), and lets the test hide the page, which headless
 * Chromium never does by itself (it neither hides nor throttles its pages).
 */
// A string, not a function: tsx's transform would add helpers the page does not have.
const countWakeUps = `
  window.wakeUps = 0;
  window.kinds = {};
  let hidden = false;
  Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { get: () => hidden });
  window.hide = () => {
    hidden = true;
    document.dispatchEvent(new Event('visibilitychange'));
  };
  for (const name of ['setTimeout', 'setInterval']) {
    const original = window[name];
    window[name] = (handler, ms) => original(() => { window.wakeUps++; window.kinds[name] = (window.kinds[name] ?? 0) + 1; handler(); }, ms);
  }
  const Channel = BroadcastChannel;
  window.BroadcastChannel = class extends Channel {
    constructor(name) {
      super(name);
      this.addEventListener('message', (e) => { window.wakeUps++; window.kinds[e.data.kind] = (window.kinds[e.data.kind] ?? 0) + 1; });
    }
  };
  const read = ReadableStreamDefaultReader.prototype.read;
  ReadableStreamDefaultReader.prototype.read = function () {
    const result = read.call(this);
    result.then(() => { window.wakeUps++; window.kinds.read = (window.kinds.read ?? 0) + 1; }, () => {});
    return result;
  };
`;
