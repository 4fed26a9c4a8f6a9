/**
 * One measurement of one tree's stores, in a process of its own (so heaps do not mix): prints one
 * JSON line. Run by bench/history/index.ts as
 * `node --expose-gc bench/history/run-store.ts <stores index.js> <case>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Update {
  id: string;
  topics: string[];
  private: boolean;
  data: string;
  time: number;
}
interface Store {
  append(update: Update): Promise<void>;
  close(): Promise<void>;
}
interface Stores {
  openStore(spec: string, retention: object): Promise<Store>;
}

const [modulePath, kind] = process.argv.slice(2);
const stores = (await import(modulePath)) as Stores;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

let n = 0;
const topics = Array.from({ length: 1000 }, (_, i) => [`https://bench.example/topics/${i}`]);
function update(data: string, topicCount: number): Update {
  n++;
  // A flat data string of its own per update, as a publish brings: a shared (or sliced) one would
  // hide its memory.
  return {
    id: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    topics: topics[n % topicCount],
    private: false,
    data: Buffer.from(data, 'latin1').toString('latin1'),
    time: Date.now(),
  };
}

async function heapPerUpdate(count: number, size: number): Promise<number> {
  // Keep everything: the old store's count is global, the new one's per topic, no byte limit.
  const store = await stores.openStore('memory', { maxCount: count, maxAgeMs: 0, maxBytes: 0 });
  const data = 'x'.repeat(size);
  gc!();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) await store.append(update(data, 50));
  gc!();
  const after = process.memoryUsage().heapUsed;
  await store.close();
  return (after - before) / count;
}

/**
 * CPU ns per append (this process's user + system time: the machine may be shared) once history
 * is full (each append evicts one); median of 7 runs.
 */
async function appendCost(
  spec: string,
  topicCount: number,
  total: number,
  inFlight: number,
  fill = 5000,
): Promise<number> {
  const store = await stores.openStore(spec, { maxCount: 1000, maxAgeMs: 0 });
  const data = 'x'.repeat(200);
  for (let i = 0; i < fill; i++) await store.append(update(data, topicCount)); // fill and warm up
  const runs: number[] = [];
  for (let round = 0; round < 7; round++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < total; i += inFlight) {
      const batch: Promise<void>[] = [];
      for (let j = 0; j < inFlight; j++) batch.push(store.append(update(data, topicCount)));
      await Promise.all(batch);
    }
    const used = process.cpuUsage(t0);
    runs.push(((used.user + used.system) * 1e3) / total);
  }
  await store.close();
  runs.sort((a, b) => a - b);
  return runs[3];
}

let result: number;
if (kind === 'heap-1k') result = await heapPerUpdate(100_000, 1000);
else if (kind === 'heap-100') result = await heapPerUpdate(100_000, 100);
else if (kind === 'append-memory-1') result = await appendCost('memory', 1, 200_000, 1);
else if (kind === 'append-memory-50') result = await appendCost('memory', 50, 200_000, 1);
// 1,000 topics, default byte limit (64 MiB: ~130,000 updates of 200 B kept), as in the batch bench
// case; run it with the `herald` command's --max-semi-space-size=2.
else if (kind === 'append-memory-1000') result = await appendCost('memory', 1000, 100_000, 100, 200_000);
else if (kind === 'append-sqlite-1') {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-history-'));
  try {
    result = await appendCost(`sqlite:${join(dir, 'h.db')}`, 1, 20_000, 100);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else throw new Error(`unknown case ${kind}`);
console.log(JSON.stringify({ kind, result }));
