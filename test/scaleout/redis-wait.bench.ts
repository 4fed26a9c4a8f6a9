/**
 * The cost of acknowledging a publish after replication: appends per mode (`waitReplicas` 0, 1, 2)
 * through a Sentinel address to a master with two replicas, all on loopback (test/support). One
 * append at a time, as a publisher waiting for each answer does. Not part of the test run.
 *
 *   node --import tsx test/scaleout/redis-wait.bench.ts [appends=3000] [bytes=200]
 *
 * Prints one JSON line per mode: mean and p99 latency of an append, appends per second.
 */
import { performance } from 'node:perf_hooks';
import { createRedisStore } from '../../src/hub/stores/redis.js';
import type { Update } from '../../src/hub/update.js';
import { startSentinelGroup } from '../support/redis-server.js';

const [appends = 3000, bytes = 200] = process.argv.slice(2).map(Number);
const group = await startSentinelGroup();
try {
  for (const waitReplicas of [0, 1, 2]) {
    const store = createRedisStore(
      group.url,
      { maxCount: 1000, maxAgeMs: 0 },
      { prefix: `herald-bench-wait-${waitReplicas}`, waitReplicas },
    );
    await store.ready();
    const data = 'x'.repeat(bytes);
    const latencies: number[] = [];
    for (let i = 0; i < appends + 200; i++) {
      const update = { id: `u-${i}`, topics: ['/bench'], data, private: false, time: Date.now() } as Update;
      const started = performance.now();
      await store.append(update);
      if (i >= 200) latencies.push(performance.now() - started); // the first 200 warm up
    }
    await store.close();
    latencies.sort((x, y) => x - y);
    const total = latencies.reduce((sum, ms) => sum + ms, 0);
    console.log(
      JSON.stringify({
        waitReplicas,
        appends,
        bytes,
        meanUs: Math.round((total / appends) * 1000),
        p99Us: Math.round(latencies[Math.floor(appends * 0.99)]! * 1000),
        perSecond: Math.round(appends / (total / 1000)),
      }),
    );
  }
} finally {
  await group.stop();
}
