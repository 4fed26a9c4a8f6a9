/**
 * The browser bundle's transports in real Chromium against a real hub: the native WebSocket, long
 * polling through fetch, and a fallback list moving past a transport the hub switched off, or past
 * an event stream a buffering proxy holds back.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { HubOptions } from '../../src/hub/index.js';
import { launchChromium } from '../support/browser.js';
import { bufferingProxy } from '../support/buffering-proxy.js';
import { startDemoHub } from '../support/demo-hub.js';

const KEY = 'transports-chromium-key-0123456789abcdef';
const TOPIC = 'https://example.com/books/1';

/** A hub with its demo (the bundle as /herald-client.js and a page to run it from), 500 ms polls. */
function startPageHub(t: TestContext, options: HubOptions) {
  const hubOptions = { jwt: { key: KEY }, anonymous: true, pollTimeoutMs: 500, ...options };
  return startDemoHub(t, hubOptions, { publishers: false });
}

/** In the page: a source over `transport`, resolved with its transport and the first two updates. */
const receiveTwo = async ([topic, transportOption]: [string, string | string[]]) => {
  const { EventSource } = await import('/herald-client.js' as string);
  const url = new URL('/.well-known/mercure', location.href);
  url.searchParams.set('topic', topic);
  const source = new EventSource(url, { transport: transportOption, fallbackAfterMs: 2000 });
  const errors: string[] = [];
  source.addEventListener('error', (e: { code?: string }) => errors.push(e.code ?? 'error'));
  await new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
  (globalThis as { publishNow?: boolean }).publishNow = true;
  const data: string[] = [];
  await new Promise<void>((resolve) =>
    source.addEventListener('message', (e: MessageEvent) => {
      data.push(e.data);
      if (data.length === 2) resolve();
    }),
  );
  const used = source.transport;
  source.close();
  return { used, data, errors };
};

for (const [name, transport, hubTransports, expected, errors] of [
  ['websocket', 'websocket', ['sse', 'ws', 'poll'], 'websocket', []],
  ['poll', 'poll', ['sse', 'ws', 'poll'], 'poll', []],
  [
    'fallback past a switched-off WebSocket',
    ['websocket', 'poll'],
    ['sse', 'poll'],
    'poll',
    ['HERALD_ERR_TRANSPORT_FALLBACK'],
  ],
] as const) {
  test(`Chromium, browser bundle: ${name}`, async (t) => {
    const browser = await launchChromium(t);
    if (!browser) return;
    const { hub, origin } = await startPageHub(t, { transports: [...hubTransports] });
    const page = await browser.newPage();
    page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
    await page.goto(`${origin}/index.html`);
    const result = page.evaluate(receiveTwo, [TOPIC, transport as string | string[]] as [
      string,
      string | string[],
    ]);
    await page.waitForFunction(() => (globalThis as { publishNow?: boolean }).publishNow === true, null, {
      timeout: 30_000,
    });
    await hub.publish({ topics: [TOPIC], data: 'one' });
    await hub.publish({ topics: [TOPIC], data: 'two' });
    assert.deepEqual(await result, { used: expected, data: ['one', 'two'], errors: [...errors] });
  });
}

/** In the page: a source over the event stream, falling back to long polling; state on `globalThis`. */
const openHeldSource = async (topic: string) => {
  const { EventSource } = await import('/herald-client.js' as string);
  const url = new URL('/.well-known/mercure', location.href);
  url.searchParams.set('topic', topic);
  const source = new EventSource(url, { transport: ['sse', 'poll'], fallbackAfterMs: 2000 });
  const state = globalThis as { source?: unknown; seen?: string[]; openedWith?: string };
  state.source = source;
  state.seen = [];
  source.addEventListener('message', (e: MessageEvent) => state.seen!.push(e.lastEventId));
  await new Promise((resolve) => source.addEventListener('open', resolve, { once: true }));
  state.openedWith = `${source.transport} ${source.lastEventId}`;
};

test('Chromium, browser bundle: behind a buffering proxy, a source opened with no ID gets every update published while its stream was silent, once', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const { hub, origin } = await startPageHub(t, { transports: ['sse', 'ws', 'poll'] });
  const proxy = await bufferingProxy(t, origin);
  // Published before the page opened its source: not for it.
  const earlier = await hub.publish({ topics: [TOPIC], data: 'before the source opened' });
  const page = await browser.newPage();
  page.on('pageerror', (error) => assert.fail(`page error: ${error.message}`));
  await page.goto(`${proxy}/index.html`);
  await page.evaluate(openHeldSource, TOPIC);
  // The stream opened (its head passed the proxy, with the hub's cursor) and then stays silent.
  assert.equal(
    await page.evaluate(() => (globalThis as { openedWith?: string }).openedWith),
    `sse ${earlier.id}`,
  );
  const transport = () =>
    page.evaluate(() => (globalThis as { source?: { transport: string } }).source!.transport);
  const silent: string[] = [];
  while ((await transport()) === 'sse') {
    assert.ok(silent.length < 1000, 'the silent stream gives way within fallbackAfterMs');
    silent.push((await hub.publish({ topics: [TOPIC], data: `silent ${silent.length}` })).id);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const later = await hub.publish({ topics: [TOPIC], data: 'after the fallback' });
  const expected = [...silent, later.id];
  await page.waitForFunction((n) => (globalThis as { seen?: string[] }).seen!.length >= n, expected.length, {
    timeout: 30_000,
  });
  assert.ok(silent.length > 0);
  assert.equal(await transport(), 'poll');
  assert.deepEqual(await page.evaluate(() => (globalThis as { seen?: string[] }).seen), expected);
});
