import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';

const NODE_CYCLES = 2500;
const FETCH_CYCLES = 600;
const CONCURRENCY = 50;

/** One node:http subscriber: connect, wait for the first bytes, destroy the request. */
function nodeCycle(port: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get({ port, host: '127.0.0.1', path: '/events', agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => resolve());
  });
}

/** One Fetch subscriber: connect, read the first chunk, abort. */
async function fetchCycle(port: number): Promise<void> {
  const aborter = new AbortController();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/events`, { signal: aborter.signal });
    const reader = res.body!.getReader();
    await reader.read();
    aborter.abort();
    await reader.closed.catch(() => {});
  } catch {
    // aborted
  }
}

async function churn(cycles: number, cycle: () => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next++ < cycles) await cycle();
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

function reply<T>(child: ChildProcess, message: object, type: string): Promise<T> {
  const answer = new Promise<T>((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
  });
  child.send(message);
  return answer;
}

interface Figures {
  heap: number;
  listeners: string[];
  timers: number;
  registry: number;
  channel: number;
}

test('3,100 subscribers connect and vanish: registry and channel empty; heap, listeners, timers back', async (t) => {
  const child = fork(join(import.meta.dirname, 'fixtures', 'churn.ts'), {
    execArgv: ['--expose-gc', '--import', 'tsx'],
  });
  try {
    const [ready] = (await once(child, 'message')) as [{ nodePort: number; fetchPort: number }];
    const node = () => nodeCycle(ready.nodePort);
    const web = () => fetchCycle(ready.fetchPort);
    // Warm up (JIT, lazily built internals), then take the baseline.
    await churn(200, node);
    await churn(100, web);
    const before = await reply<Figures>(child, { type: 'measure' }, 'figures');
    await churn(NODE_CYCLES, node);
    await churn(FETCH_CYCLES, web);
    const after = await reply<Figures>(child, { type: 'measure' }, 'figures');

    assert.equal(after.registry, 0, 'registry empty');
    assert.equal(after.channel, 0, 'channel empty');
    assert.deepEqual(after.listeners, before.listeners, 'no listeners left on the servers');
    assert.ok(after.timers <= before.timers, `timers ${before.timers} -> ${after.timers}`);
    // A leaked stream holds its response, request and socket (several KiB): 3,100 of them would be
    // well over 3 MiB. What remains is allocator and JIT noise.
    const growth = after.heap - before.heap;
    assert.ok(
      growth < 3 * 1024 * 1024,
      `heap grew ${growth} bytes over ${NODE_CYCLES + FETCH_CYCLES} cycles`,
    );
    t.diagnostic(`heap ${before.heap} -> ${after.heap} (${growth} bytes)`);

    const ended = await reply<{ timers: number }>(child, { type: 'end' }, 'ended');
    assert.equal(ended.timers, 0, 'heartbeat timer gone with the last stream');
  } finally {
    if (child.exitCode === null) child.kill();
  }
});
