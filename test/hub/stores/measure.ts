/**
 * Throughput and latency of each store, for the numbers quoted in reviews. Not part of the suite.
 *
 *   node --import tsx test/hub/stores/measure.ts [memory|sqlite|redis ...]   (default: all three)
 *
 * Per store: appends/s with 100 in flight (a busy hub), append -> listener latency with one in
 * flight (p50/p99), and after(id, 100) from the middle of 10,000 kept updates (p50/p99).
 * Redis at HERALD_TEST_REDIS_URL (default redis://127.0.0.1:6379), under a throwaway prefix.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore, type Store } from '../../../src/hub/stores/index.js';
import type { Update } from '../../../src/hub/update.js';
import { deleteKeys, REDIS_URL } from './redis-support.js';

const retention = { maxCount: 10_000, maxAgeMs: 0 };
const payload = JSON.stringify({ symbol: 'ACME', price: 12.5, note: 'x'.repeat(150) }); // ~200 bytes
let n = 0;
const update = (): Update => ({
  id: `urn:uuid:${randomUUID()}`,
  topics: [`https://example.com/prices/${++n % 50}`],
  private: false,
  data: payload,
  time: Date.now(),
});
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const ms = (x: number) => `${x.toFixed(3)} ms`;

async function measure(name: string, store: Store): Promise<void> {
  // Throughput: 20,000 appends, 100 in flight.
  const total = 20_000;
  let t0 = performance.now();
  for (let i = 0; i < total; i += 100) {
    await Promise.all(Array.from({ length: 100 }, () => store.append(update())));
  }
  const perSecond = total / ((performance.now() - t0) / 1000);

  // Append -> listener latency, one at a time.
  const latencies: number[] = [];
  let sentAt = 0;
  let arrived: () => void = () => {};
  const stop = store.subscribe(() => {
    latencies.push(performance.now() - sentAt);
    arrived();
  });
  for (let i = 0; i < 1000; i++) {
    const got = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    sentAt = performance.now();
    await store.append(update());
    await got;
  }
  stop();
  latencies.sort((a, b) => a - b);

  // after(id, 100) from the middle of the kept history.
  const kept = (await store.after('earliest', retention.maxCount)).updates;
  const reads: number[] = [];
  for (let i = 0; i < 500; i++) {
    const from = kept[(kept.length >> 1) + (i % 100)].id;
    t0 = performance.now();
    const { found, updates } = await store.after(from, 100);
    reads.push(performance.now() - t0);
    if (!found || updates.length !== 100) throw new Error(`${name}: after() returned ${updates.length}`);
  }
  reads.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(7)} appends/s (100 in flight): ${Math.round(perSecond).toLocaleString('en-US')}; ` +
      `append->listener p50 ${ms(pct(latencies, 0.5))} p99 ${ms(pct(latencies, 0.99))}; ` +
      `after(id,100) p50 ${ms(pct(reads, 0.5))} p99 ${ms(pct(reads, 0.99))}; kept ${kept.length}`,
  );
}

const which = process.argv.slice(2);
const wanted = (name: string) => which.length === 0 || which.includes(name);
if (wanted('memory')) {
  const store = await openStore('memory', retention);
  await measure('memory', store);
  await store.close();
}
if (wanted('sqlite')) {
  const dir = mkdtempSync(join(tmpdir(), 'herald-measure-'));
  const store = await openStore(`sqlite:${join(dir, 'h.db')}`, retention);
  await measure('sqlite', store);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
if (wanted('redis')) {
  const prefix = `herald-measure:${randomUUID()}`;
  const store = await openStore(REDIS_URL, retention, { prefix });
  await measure('redis', store);
  await store.close();
  await deleteKeys(REDIS_URL, prefix);
}
