import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { claimPort, reusePortAvailable } from '../../../src/hub/index.js';

test('reusePortAvailable: Linux on Node 22.12+, 23.1+ and later lines; no earlier runtime, no other platform', () => {
  const cases: [string, NodeJS.Platform, boolean][] = [
    ['20.20.2', 'linux', false],
    ['22.11.0', 'linux', false],
    ['22.12.0', 'linux', true],
    ['23.0.0', 'linux', false],
    ['23.1.0', 'linux', true],
    ['24.0.0', 'linux', true],
    ['26.1.0', 'linux', true],
    ['24.0.0', 'darwin', false],
    ['24.0.0', 'win32', false],
  ];
  for (const [version, platform, expected] of cases) {
    assert.equal(reusePortAvailable(version, platform), expected, `${version} on ${platform}`);
  }
});

test('claimPort: turns port 0 into a free port, then leaves it free; refuses a port another process listens on', async (t) => {
  const port = await claimPort(0, '127.0.0.1');
  assert.ok(port > 0);
  // Released: a listener can take it right away.
  const server = createServer();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  await assert.rejects(claimPort(port, '127.0.0.1'), { code: 'EADDRINUSE', port });
});
