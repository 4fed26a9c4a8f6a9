// The conformance suite (./conformance.ts) in real Chromium: against Herald's bundled EventSource,
// then against Chromium's own EventSource to prove the expectations are the standard's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bundleClient, launchChromium } from '../support/browser.js';
import { type CaseEnvironment, cases } from './conformance.js';
import { type PageImplementation, runInPage, startConformanceServer } from './conformance-harness.js';

test('EventSource conformance in Chromium', async (t) => {
  const browser = await launchChromium(t);
  if (browser === null) return;
  const server = await startConformanceServer(await bundleClient());
  t.after(() => server.close());
  const page = await browser.newPage();
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => (globalThis as { heraldReady?: boolean }).heraldReady === true);

  for (const implementation of ['herald', 'native'] as PageImplementation[]) {
    const env: CaseEnvironment = { browser: true, implementation };
    for (const testCase of cases) {
      if (testCase.only === 'node') continue;
      const skip = implementation === 'native' ? testCase.skipNative : undefined;
      await t.test(`${implementation}: ${testCase.name}`, { skip }, async () => {
        const { state } = server.register(testCase);
        const result = await runInPage(page, testCase, state, implementation);
        const expected = typeof testCase.expected === 'function' ? testCase.expected(env) : testCase.expected;
        assert.deepEqual(result.log, expected);
        assert.equal(result.timedOut, false, 'the case timed out');
        testCase.checkRequests?.(state.requests, env);
      });
    }
  }
});
