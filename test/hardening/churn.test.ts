/**
 * Churn: 10,000 subscribers connect to a hub in a child process and vanish (half after their
 * first event, half before any), while updates are published. Afterwards the hub holds no
 * subscriber, and its heap and open file descriptors (`/proc/<pid>/fd`) are back where they were.
 * `npm run soak` runs the same for longer.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { publish, signDraft07 } from '../support/hub.js';
import { churn, forkHub, measure, TOPIC } from './churn-client.js';

const CYCLES = 10_000;

test(`${CYCLES.toLocaleString('en')} connect/disconnect cycles: no subscriber left, heap and fds flat`, async (t) => {
  const child = forkHub();
  t.after(() => {
    if (child.exitCode === null) child.kill();
  });
  const [ready] = (await once(child, 'message')) as [{ port: number }];
  const hubUrl = `http://127.0.0.1:${ready.port}/.well-known/mercure`;
  const token = await signDraft07({ publish: [TOPIC] });
  // A publisher all along, so subscribers that wait get an event and fan-out runs during churn.
  let publishing = true;
  const publisher = (async () => {
    let n = 0;
    while (publishing) await publish(hubUrl, { topic: TOPIC, data: String(n++) }, token);
  })();

  await churn(ready.port, 500); // warm-up: JIT, lazily built internals
  const before = await measure(child);
  await churn(ready.port, CYCLES);
  publishing = false;
  await publisher;
  const after = await measure(child);
  const fdsSeenFromOutside = readdirSync(`/proc/${child.pid}/fd`).length;

  assert.equal(after.subscribers, 0, 'no subscriber left');
  assert.ok(after.fds <= before.fds + 2, `fds ${before.fds} -> ${after.fds}`);
  assert.ok(fdsSeenFromOutside <= before.fds + 3, `fds from /proc/${child.pid}/fd: ${fdsSeenFromOutside}`);
  // A leaked subscriber holds its request, response, socket and index entries (several KiB):
  // 10,000 of them would be tens of MiB. What remains is allocator and JIT noise.
  const growth = after.heap - before.heap;
  assert.ok(growth < 4 * 1024 * 1024, `heap grew ${growth} bytes over ${CYCLES} cycles`);
  t.diagnostic(`heap ${before.heap} -> ${after.heap} (${growth} bytes); fds ${before.fds} -> ${after.fds}`);
  child.disconnect();
  await once(child, 'exit');
});
