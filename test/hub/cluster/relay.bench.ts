/**
 * Relay throughput: updates per second through the cluster relay, appended by the workers (spread
 * evenly, a window in flight each) and delivered to every worker. Not part of the test run.
 *
 *   node --import tsx test/hub/cluster/relay.bench.ts [workers=2] [updates=20000] [bytes=200]
 *
 * Prints one JSON line: elapsed time, updates/s, deliveries/s (updates x workers) and the
 * primary's CPU time per update.
 */
import cluster from 'node:cluster';
import { startCluster } from '../../../src/hub/cluster/primary.js';
import { connectToPrimary } from '../../../src/hub/cluster/worker.js';
import { createMemoryStore } from '../../../src/hub/stores/index.js';
import type { Update } from '../../../src/hub/update.js';

interface Setup {
  workers: number;
  updates: number;
  bytes: number;
}
const WINDOW = Number(process.env.WINDOW ?? 64);

if (cluster.isPrimary) {
  const [workers = 2, updates = 20_000, bytes = 200] = process.argv.slice(2).map(Number);
  const store = createMemoryStore({ maxCount: 1000, maxAgeMs: 0 });
  const quiet = { info() {}, warn() {}, error: console.error };
  const running = startCluster<Setup>({ workers, store, setup: { workers, updates, bytes }, logger: quiet });
  let ready = 0;
  let done = 0;
  let start = 0n;
  let cpu = process.cpuUsage();
  cluster.on('message', (_worker, message: { bench?: string }) => {
    if (message.bench === 'ready' && ++ready === workers) {
      start = process.hrtime.bigint();
      cpu = process.cpuUsage();
      for (const w of Object.values(cluster.workers ?? {})) w!.send({ bench: 'go' });
    }
    if (message.bench === 'done' && ++done === workers) {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const used = process.cpuUsage(cpu);
      console.log(
        JSON.stringify({
          workers,
          updates,
          bytes,
          seconds: +seconds.toFixed(3),
          updatesPerSecond: Math.round(updates / seconds),
          deliveriesPerSecond: Math.round((updates * workers) / seconds),
          primaryCpuUsPerUpdate: +((used.user + used.system) / updates).toFixed(1),
          relayed: running.relayed,
        }),
      );
      void running.shutdown(0, 5_000).then(() => process.exit(0));
    }
  });
} else {
  const link = await connectToPrimary<Setup>();
  const { workers, updates, bytes } = link.setup;
  const index = cluster.worker!.id - 1;
  let received = 0;
  link.store.subscribe(() => {
    if (++received === updates) process.send!({ bench: 'done' });
  });
  link.onShutdown(() => {
    link.close();
    process.exit(0);
  });
  const data = 'x'.repeat(bytes);
  const mine = Array.from({ length: updates }, (_, i) => i).filter((i) => i % workers === index);
  process.on('message', async (message: { bench?: string }) => {
    if (message.bench !== 'go') return;
    let next = 0;
    const lane = async () => {
      while (next < mine.length) {
        const i = mine[next++]!;
        const update: Update = {
          id: `u${i}`,
          topics: ['https://example.com/t'],
          private: false,
          data,
          time: Date.now(),
        };
        await link.store.append(update);
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, lane));
  });
  process.send!({ bench: 'ready' });
}
