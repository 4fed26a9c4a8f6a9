// The conformance suite (./conformance.ts) against Herald's EventSource in Node, over real sockets.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EventSource } from '../../src/client/index.js';
import { type CaseEnvironment, cases } from './conformance.js';
import { type ConformanceServer, runInNode, startConformanceServer } from './conformance-harness.js';

describe('EventSource conformance in Node', () => {
  let server: ConformanceServer;
  before(async () => {
    server = await startConformanceServer();
  });
  after(() => server.close());

  const env: CaseEnvironment = { browser: false, implementation: 'herald' };
  for (const testCase of cases) {
    if (testCase.only === 'browser') continue;
    test(testCase.name, async () => {
      const { state } = server.register(testCase);
      const result = await runInNode(testCase, state, EventSource);
      const expected = typeof testCase.expected === 'function' ? testCase.expected(env) : testCase.expected;
      assert.deepEqual(result.log, expected);
      assert.equal(result.timedOut, false, 'the case timed out');
      testCase.checkRequests?.(state.requests, env);
    });
  }
});
