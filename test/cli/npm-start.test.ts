/**
 * `npm start`, as the README's quick start runs it: SIGTERM to npm (what a terminal's process
 * manager or `kill <npm's pid>` sends) must reach the hub, which ends its streams with a retry hint,
 * exits and frees its port. npm runs the script through `sh -c`; dash does not pass a signal on to
 * its child, so the script execs node in the shell's place.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { bounded } from '../support/retry.js';
import { ROOT } from './herald-process.js';
import { openStream } from './streams.js';

test('SIGTERM to `npm start` ends the streams with a retry hint, stops the hub and frees its port', async (t) => {
  assert.ok(
    existsSync(new URL('../../dist/cli/main.js', import.meta.url)),
    'npm start runs dist/: npm run build',
  );
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HERALD_PORT: '0',
      HERALD_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A group of its own: if the hub outlives npm, the test still ends it (the assertion then fails).
    detached: true,
  });
  t.after(() => {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  });
  let out = '';
  npm.stdout!.setEncoding('utf8');
  npm.stderr!.resume();
  const exited = once(npm, 'exit');
  const hubUrl = await bounded(
    new Promise<string>((resolve) => {
      npm.stdout!.on('data', (chunk: string) => {
        out += chunk;
        const m = out.match(/publish {5}curl -X POST '([^']+)'/);
        if (m) resolve(m[1]!);
      });
    }),
    'npm start printing its publish line',
    60_000,
  );
  const port = Number(new URL(hubUrl).port);
  const stream = await openStream(`${hubUrl}?topic=${encodeURIComponent('https://example.com/demo/clock')}`);
  t.after(() => stream.close());
  assert.equal(stream.status, 200);

  npm.kill('SIGTERM'); // npm's own pid, not its group
  await bounded(stream.ended, 'the stream ending', 20_000);
  assert.match(stream.text(), /retry: \d+\n\n$/);
  const [code, signal] = await bounded(exited, 'npm exiting', 20_000);
  assert.ok(code === 0 || signal === 'SIGTERM' || code === 143, `npm exited ${code ?? signal}`);
  const refused = await new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
  assert.equal(refused, 'ECONNREFUSED', `port ${port} after SIGTERM`);
});
