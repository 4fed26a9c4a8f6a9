/**
 * `herald serve --workers N` whose workers cannot start: the group stops with the cause and exits 1,
 * instead of replacing its workers forever.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { reusePortAvailable } from '../../src/hub/index.js';
import { startHerald } from './herald-process.js';

const KEY = 'workers-startup-test-key-of-32-bytes!';

test('--workers 2 on a port already in use: names the cause and exits 1, without replacing workers forever', async (t) => {
  const taken = createServer();
  taken.listen(0, '127.0.0.1');
  await once(taken, 'listening');
  t.after(() => taken.close());
  const { port } = taken.address() as { port: number };

  const herald = startHerald(
    ['serve', '--workers', '2', '--port', String(port), '--host', '127.0.0.1', '--anonymous'],
    {
      HERALD_JWT_KEY: KEY,
    },
  );
  t.after(() => herald.kill());
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    herald.exited,
    new Promise<string>((resolve) => {
      timer = setTimeout(resolve, 20_000, 'still running after 20 s');
    }),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, 1, `stdout: ${herald.stdout()}\nstderr: ${herald.stderr()}`);
  const cause = `cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`;
  const restarts = herald.stdout().match(/worker exited; starting a replacement/g) ?? [];
  if (reusePortAvailable()) {
    // Workers with sockets of their own: the primary checks the port before forking any.
    assert.match(herald.stderr(), new RegExp(`herald: ${cause}`));
    assert.equal(restarts.length, 0, herald.stdout());
  } else {
    // The primary's shared socket: the workers fail on it and the primary gives up after three.
    assert.match(herald.stderr(), new RegExp(`herald: workers could not start: ${cause}`));
    assert.ok(restarts.length <= 2, `replaced ${restarts.length} workers before giving up`);
    assert.match(herald.stdout(), /"msg":"workers failed to start 3 times in a row/);
  }
});
