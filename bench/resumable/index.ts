/**
 * Resumable streams: 1 producer writes 50,000 small chunks at full speed; 1 / 100 / 1,000 readers
 * join at random points, each forced to drop once mid-stream and resume. Herald on the memory
 * store and on Redis, and the npm package `resumable-stream` (node-redis clients) on the same
 * Redis. Producer, server and readers share one process, the same way for both, so CPU per
 * delivered chunk counts all three. Every reader checks that it got chunks 0..49,999, each once.
 *
 * npm run bench:resumable [-- --readers 1,100,1000 --chunks 50000]
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { createRedisResumableStore } from '../../src/hub/stores/redis-resumable.js';
import { createParser } from '../../src/protocol/index.js';
import {
  createMemoryResumableStore,
  createResumableStreams,
  type ResumableStore,
  SseServer,
} from '../../src/server/index.js';

// The peer and its Redis client are devDependencies loaded by name, so type-checking the project
// does not need them installed.
type RedisClient = {
  connect(): Promise<unknown>;
  quit(): Promise<unknown>;
  del(keys: string[]): Promise<unknown>;
  memoryUsage(key: string): Promise<number | null>;
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string | string[]>;
};
type PeerContext = {
  resumeExistingStream(id: string, skip?: number): Promise<ReadableStream<string> | null | undefined>;
  createNewResumableStream(
    id: string,
    make: () => ReadableStream<string>,
  ): Promise<ReadableStream<string> | null>;
};
// HERALD_BENCH_PEER_DIR: a node_modules folder holding them, when the project's does not.
const peerDir = process.env.HERALD_BENCH_PEER_DIR;
const REDIS_MODULE = peerDir ? `${peerDir}/redis/dist/index.js` : 'redis';
const PEER_MODULE = peerDir ? `${peerDir}/resumable-stream/dist/index.js` : 'resumable-stream';
const interop = <T>(m: Record<string, unknown>, name: string): T =>
  (m[name] ?? (m.default as Record<string, unknown> | undefined)?.[name]) as T;
const createClient = interop<(o: { url: string }) => RedisClient>(await import(REDIS_MODULE), 'createClient');
const createResumableStreamContext = interop<
  (o: {
    keyPrefix: string;
    waitUntil: (p: Promise<unknown>) => void;
    publisher: unknown;
    subscriber: unknown;
  }) => PeerContext
>(await import(PEER_MODULE), 'createResumableStreamContext');

const REDIS_URL = process.env.HERALD_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1]!;
};
const CHUNKS = Number(arg('chunks', '50000'));
const READERS = arg('readers', '1,100,1000').split(',').map(Number);
http.globalAgent.maxSockets = Number.POSITIVE_INFINITY;

interface Result {
  system: string;
  readers: number;
  producerMs: number;
  chunksPerSec: number;
  cpuUsPerDelivered: number;
  catchUpMsP50: number;
  catchUpMsMax: number;
  delivered: number;
  readersOk: number;
  lostOrDuplicated: number;
  memoryBytes?: number;
}

/** A reader's view: verifies the sequence, measures the catch-up with the producer's position at join. */
class Tally {
  next = 0;
  bad = 0;
  joinedAt = 0;
  target = 0;
  caughtUpMs = -1;
  accept(i: number): void {
    if (i !== this.next) this.bad++;
    this.next = i + 1;
    if (this.caughtUpMs < 0 && this.next >= this.target) this.caughtUpMs = performance.now() - this.joinedAt;
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function listen(handler: http.RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** One HTTP GET read to its end, dropping the connection once after `dropAfter` chunks. */
function heraldReader(port: number, id: string, tally: Tally, dropAfter: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let lastId = '';
    let dropped = false;
    const connect = () => {
      const req = http.get(
        { port, host: '127.0.0.1', path: `/s/${id}`, headers: lastId ? { 'Last-Event-ID': lastId } : {} },
        (res) => {
          if (res.statusCode === 204) return resolve();
          let done = false;
          const parser = createParser({
            onEvent: (e) => {
              if (done) return;
              if (e.type === 'end') {
                done = true;
                res.destroy();
                resolve();
                return;
              }
              lastId = e.lastEventId;
              tally.accept(Number(e.data));
              if (!dropped && tally.next >= dropAfter) {
                dropped = true;
                done = true;
                res.destroy();
                setImmediate(connect);
              }
            },
          });
          res.on('data', (chunk: Buffer) => parser.feed(chunk));
          res.on('error', () => {});
          // Closed before the end event (the server shed it): resume like a browser would.
          res.on('close', () => {
            if (!done) {
              done = true;
              setTimeout(connect, 10);
            }
          });
        },
      );
      req.on('error', reject);
    };
    connect();
  });
}

async function runHerald(name: string, store: ResumableStore, readers: number): Promise<Result> {
  const sse = new SseServer({ heartbeatMs: 0 });
  const streams = createResumableStreams({ store, server: sse, streamOptions: { retryMs: 10 } });
  const server = await listen((req, res) => void streams.respond(req.url!.slice(3), req, res));
  const id = `bench-${Date.now()}-${readers}`;
  const tallies: Tally[] = [];
  const reading: Promise<void>[] = [];
  const joins = Array.from({ length: readers }, () => Math.floor(Math.random() * CHUNKS)).sort(
    (a, b) => a - b,
  );
  const heapBefore = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const writer = await streams.writer(id);
  let j = 0;
  for (let i = 0; i < CHUNKS; i++) {
    while (j < joins.length && joins[j]! <= i) {
      const tally = new Tally();
      tally.joinedAt = performance.now();
      tally.target = i;
      tallies.push(tally);
      reading.push(heraldReader(server.port, id, tally, Math.floor(Math.random() * CHUNKS)));
      j++;
    }
    if (!writer.write(String(i))) await writer.drained();
    // Let readers connect while the producer writes: yield once every 1,000 chunks.
    if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
  }
  await writer.end();
  const producerMs = performance.now() - t0;
  const memoryBytes = name === 'herald-memory' ? process.memoryUsage().heapUsed - heapBefore : undefined;
  await Promise.all(reading);
  const cpu = process.cpuUsage(cpu0);
  await streams.close();
  sse.closeAll();
  await server.close();
  return summarize(name, readers, producerMs, cpu, tallies, memoryBytes);
}

function summarize(
  system: string,
  readers: number,
  producerMs: number,
  cpu: NodeJS.CpuUsage,
  tallies: Tally[],
  memoryBytes?: number,
): Result {
  const delivered = tallies.reduce((n, t) => n + t.next, 0) + CHUNKS; // + the store's copy
  const ok = tallies.filter((t) => t.bad === 0 && t.next === CHUNKS).length;
  const catchUps = tallies.filter((t) => t.caughtUpMs >= 0).map((t) => t.caughtUpMs);
  return {
    system,
    readers,
    producerMs: Math.round(producerMs),
    chunksPerSec: Math.round(CHUNKS / (producerMs / 1000)),
    cpuUsPerDelivered: Number(((cpu.user + cpu.system) / delivered).toFixed(2)),
    catchUpMsP50: Math.round(percentile(catchUps, 0.5)),
    catchUpMsMax: Math.round(percentile(catchUps, 1)),
    delivered,
    readersOk: ok,
    lostOrDuplicated: tallies.reduce((n, t) => n + t.bad + Math.abs(CHUNKS - t.next), 0),
    memoryBytes,
  };
}

/** The peer: resumable-stream's context over node-redis, readers over HTTP with `resumeAt`. */
async function runPeer(readers: number): Promise<Result> {
  const publisher = createClient({ url: REDIS_URL });
  const subscriber = createClient({ url: REDIS_URL });
  await Promise.all([publisher.connect(), subscriber.connect()]);
  const pending: Promise<unknown>[] = [];
  const context = createResumableStreamContext({
    keyPrefix: `herald-bench-rs-${Date.now()}`,
    waitUntil: (p) => pending.push(p),
    publisher,
    subscriber,
  });
  const server = await listen(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const stream = await context.resumeExistingStream(
      url.pathname.slice(3),
      Number(url.searchParams.get('resumeAt') ?? '0') || undefined,
    );
    if (!stream) {
      // null: the stream is done (resumable-stream serves nothing then); undefined: unknown.
      res.writeHead(stream === null ? 204 : 404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    const reader = stream.getReader();
    res.on('close', () => void reader.cancel().catch(() => {}));
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) break;
      if (!res.write(value)) await once(res, 'drain').catch(() => {});
    }
    res.end();
  });
  const id = `bench-${Date.now()}-${readers}`;
  const tallies: Tally[] = [];
  const reading: Promise<void>[] = [];
  const joins = Array.from({ length: readers }, () => Math.floor(Math.random() * CHUNKS)).sort(
    (a, b) => a - b,
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let produced = 0;
  let producerDone!: () => void;
  const producerFinished = new Promise<void>((resolve) => {
    producerDone = resolve;
  });
  // The producer: a ReadableStream written at full speed; the first response (read here) drives it.
  const source = new ReadableStream<string>({
    async pull(controller) {
      for (let k = 0; k < 1000 && produced < CHUNKS; k++) controller.enqueue(`${produced++},`);
      if (produced >= CHUNKS) {
        controller.close();
        producerDone();
      }
      let j = joins.findIndex((x) => x >= produced - 1000);
      if (j === -1) j = joins.length;
      await new Promise((resolve) => setImmediate(resolve));
    },
  });
  const first = await context.createNewResumableStream(id, () => source);
  let joined = 0;
  const firstDrain = (async () => {
    const r = first!.getReader();
    for (;;) {
      const { done } = await r.read();
      if (done) break;
      while (joined < joins.length && joins[joined]! <= produced) {
        const tally = new Tally();
        tally.joinedAt = performance.now();
        tally.target = produced;
        tallies.push(tally);
        reading.push(peerReader(server.port, id, tally, Math.floor(Math.random() * CHUNKS)));
        joined++;
      }
    }
  })();
  await producerFinished;
  await firstDrain;
  const producerMs = performance.now() - t0;
  await Promise.race([Promise.all(reading), new Promise((resolve) => setTimeout(resolve, 60_000))]);
  const cpu = process.cpuUsage(cpu0);
  await server.close();
  await Promise.allSettled(pending);
  await Promise.allSettled([publisher.quit(), subscriber.quit()]);
  return summarize('resumable-stream', readers, producerMs, cpu, tallies);
}

/** A peer reader: text `0,1,2,…`; on a drop it resumes at the number of characters it received. */
function peerReader(port: number, id: string, tally: Tally, dropAfter: number): Promise<void> {
  return new Promise((resolve) => {
    let chars = 0;
    let partial = '';
    let dropped = false;
    const connect = () => {
      const req = http.get({ port, host: '127.0.0.1', path: `/r/${id}?resumeAt=${chars}` }, (res) => {
        if (res.statusCode !== 200) {
          if (process.env.BENCH_DEBUG) console.error('peer reader got', res.statusCode, 'at', chars);
          res.resume();
          resolve();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          chars += text.length;
          const parts = (partial + text).split(',');
          partial = parts.pop()!;
          for (const p of parts) tally.accept(Number(p));
          if (!dropped && tally.next >= dropAfter) {
            dropped = true;
            res.destroy();
            setImmediate(connect);
          }
        });
        res.on('end', resolve);
        res.on('error', () => {});
      });
      req.on('error', (e) => {
        if (process.env.BENCH_DEBUG) console.error('peer reader error', e);
        resolve();
      });
    };
    connect();
  });
}

async function redisMemory(prefix: string): Promise<number> {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  let total = 0;
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    for (const key of Array.isArray(keys) ? keys : [keys]) total += (await client.memoryUsage(key)) ?? 0;
  }
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
    keys.push(...(Array.isArray(batch) ? batch : [batch]));
  if (keys.length > 0) await client.del(keys);
  await client.quit();
  return total;
}

const results: Result[] = [];
const started = new Date();
for (const readers of READERS) {
  results.push(await runHerald('herald-memory', createMemoryResumableStore(), readers));
  const prefix = `herald-bench-${Date.now()}`;
  const store = createRedisResumableStore(REDIS_URL, { prefix });
  await store.ready();
  const r = await runHerald('herald-redis', store, readers);
  await store.close();
  r.memoryBytes = await redisMemory(prefix);
  results.push(r);
  results.push(await runPeer(readers));
  for (const x of results.slice(-3)) console.log(JSON.stringify(x));
}

const rows = results.map(
  (r) =>
    `| ${r.system} | ${r.readers} | ${r.chunksPerSec.toLocaleString('en')} | ${r.cpuUsPerDelivered} | ${r.catchUpMsP50} / ${r.catchUpMsMax} | ${r.readersOk}/${r.readers} | ${r.lostOrDuplicated} | ${r.memoryBytes === undefined ? '' : `${(r.memoryBytes / 1024 / 1024).toFixed(1)} MiB`} |`,
);
const md = `# Resumable streams benchmark

Run ${started.toISOString()}, Node ${process.version}, load average at the end ${loadavg()
  .map((x) => x.toFixed(2))
  .join(' ')} (2 cores shared with other work: read ratios, not absolutes).

1 producer writes ${CHUNKS.toLocaleString('en')} chunks (the numbers 0..${CHUNKS - 1}) at full speed;
N readers join at random points of the stream, each drops its connection once at a random point
and resumes (Herald: \`Last-Event-ID\`; resumable-stream: \`resumeAt\` = characters received).
Producer, HTTP server and readers share one process for both systems; CPU is that process's
user+system time over the run divided by the chunks delivered (to every reader, plus one for the
producer's store). Catch-up: from a reader's connect until it holds the chunk the producer was
writing when it joined (p50 / max). Memory: heap growth for one stream (memory store), Redis
\`MEMORY USAGE\` of the stream's keys (Redis store).

| System | Readers | Producer chunks/s | CPU µs / delivered chunk | Catch-up ms p50 / max | Readers with every chunk once | Lost or duplicated | Memory per stream |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

Command: \`npm run bench:resumable -- --readers ${READERS.join(',')} --chunks ${CHUNKS}\`.
`;
writeFileSync(new URL('../results/resumable.md', import.meta.url), md);
console.log(md);
process.exit(0);
