/**
 * The cost of acknowledging a publish after replication: appends per mode (`waitReplicas` 0, 1, 2)
 * through a Sentinel address to a master with two replicas, all on loopback (test/support). One
 * append at a time, as a publisher waiting for each answer does. Not part of the test run.
 *
 *   node --import tsx test/scaleout/redis-wait.bench.ts [appends=3000] [bytes=200]
 *
 * Prints one JSON line per mode: median, mean and p99 latency of an append, appends per second
 * (one at a time). The modes take turns in rounds, so the machine's load weighs on all alike.
 */
import { performance } from 'node:perf_hooks';
import { createRedisStore } from '../../src/hub/stores/redis.js';
import type { Update } from '../../src/hub/update.js';
import { startSentinelGroup } from '../support/redis-server.js';

const [appends = 3000, bytes = 200] = process.argv.slice(2).map(Number);
const MODES = [0, 1, 2];
const ROUNDS = 10;
const group = await startSentinelGroup();
try {
  const stores = await Promise.all(
    MODES.map(async (waitReplicas) => {
      const store = createRedisStore(
        group.url,
        { maxCount: 1000, maxAgeMs: 0 },
        { prefix: `herald-bench-wait-${waitReplicas}`, waitReplicas },
      );
      await store.ready();
      return store;
    }),
  );
  const data = 'x'.repeat(bytes);
  const latencies = MODES.map(() => [] as number[]);
  let n = 0;
  const append = async (mode: number) => {
    const update = { id: `u-${n++}`, topics: ['/bench'], data, private: false, time: Date.now() } as Update;
    const started = performance.now();
    await stores[mode]!.append(update);
    return performance.now() - started;
  };
  for (let mode = 0; mode < MODES.length; mode++) for (let i = 0; i < 200; i++) await append(mode); // warm-up
  // The modes take turns, a slice each per round, so that a busy moment of the machine weighs on
  // all of them alike.
  const slice = Math.ceil(appends / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    for (let mode = 0; mode < MODES.length; mode++) {
      for (let i = 0; i < slice; i++) latencies[mode]!.push(await append(mode));
    }
  }
  for (const store of stores) await store.close();
  for (const [mode, values] of latencies.entries()) {
    values.sort((x, y) => x - y);
    const total = values.reduce((sum, ms) => sum + ms, 0);
    const at = (q: number) => Math.round(values[Math.floor(values.length * q)]! * 1000);
    console.log(
      JSON.stringify({
        waitReplicas: MODES[mode],
        appends: values.length,
        bytes,
        p50Us: at(0.5),
        meanUs: Math.round((total / values.length) * 1000),
        p99Us: at(0.99),
        perSecond: Math.round(values.length / (total / 1000)),
      }),
    );
  }
} finally {
  await group.stop();
}
