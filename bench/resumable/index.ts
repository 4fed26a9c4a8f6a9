/**
 * Resumable streams: 1 producer writes 50,000 small chunks at full speed; 1 / 100 / 1,000 readers
 * join at random points, each forced to drop once mid-stream and resume. Herald on the memory
 * store and on Redis, and the npm package `resumable-stream` (node-redis clients) on the same
 * Redis. Producer, server and readers share one process, the same way for both, so CPU per
 * delivered chunk counts all three. Every reader checks that it got chunks 0..N-1, each once.
 *
 * npm run bench:resumable [-- --cases 1x50000,100x50000,1000x50000:memory+redis,1000x5000]
 *
 * A case is `<readers>x<chunks>`, optionally `:` and the systems to run (memory, redis, peer; all
 * by default). resumable-stream publishes every chunk to every reader over Redis, so 1,000 readers
 * x 50,000 chunks (50 million publishes) is out of reach on a small machine: the default runs it
 * at 5,000 chunks, with Herald at the same size for the ratio.
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
interface Case {
  readers: number;
  chunks: number;
  systems: string[];
}
const CASES: Case[] = arg('cases', '1x50000,100x50000,1000x50000:memory+redis,1000x5000')
  .split(',')
  .map((text) => {
    const [size, systems] = text.split(':');
    const [readers, chunks] = size!.split('x').map(Number);
    return { readers: readers!, chunks: chunks!, systems: (systems ?? 'memory+redis+peer').split('+') };
  });
/** How long the readers of one run may take after the producer ended before they count as stalled. */
const READERS_TIMEOUT_MS = Number(arg('timeout-ms', '240000'));
// Up to 1,000 readers connect within a few milliseconds: past node's default backlog (511) the
// kernel resets some of them.
const BACKLOG = 4096;
http.globalAgent.maxSockets = Number.POSITIVE_INFINITY;

interface Result {
  system: string;
  readers: number;
  chunks: number;
  wallMs: number;
  connectErrors: number;
  stalled: number;
  producerMs: number;
  chunksPerSec: number;
  cpuUsPerDelivered: number;
  catchUpMsP50: number;
  catchUpMsMax: number;
  delivered: number;
  readersOk: number;
  /** Readers whose first request came after the producer ended. */
  joinedAfterEnd: number;
  /** Readers whose resume after the forced drop came after the producer ended. */
  resumedAfterEnd: number;
  /** Readers that joined and resumed while the stream was live, yet lost or duplicated a chunk. */
  badWhileLive: number;
  lostOrDuplicated: number;
  memoryBytes?: number;
}

/** Set once the current run's producer ended its stream. */
let producerEnded = false;

/** A reader's view: verifies the sequence, measures the catch-up with the producer's position at join. */
class Tally {
  next = 0;
  /** The reader's first request, or its resume after the forced drop, was sent after the producer ended. */
  joinedAfterEnd = false;
  resumedAfterEnd = false;
  done = false;
  connectErrors = 0;
  bad = 0;
  joinedAt = 0;
  target = 0;
  /** Resolves once the reader's first request got its response (or failed). */
  readonly admitted: Promise<void>;
  admit!: () => void;
  constructor() {
    this.admitted = new Promise((resolve) => {
      this.admit = resolve;
    });
  }
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
  server.listen(0, '127.0.0.1', BACKLOG);
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

/**
 * One HTTP GET read to its end, dropping the connection once after `dropAfter` chunks. A failed
 * connection or a response closed before the end event is resumed, as a browser would.
 */
function heraldReader(port: number, id: string, tally: Tally, dropAfter: number): Promise<void> {
  return new Promise((resolve) => {
    let lastId = '';
    let dropped = false;
    const finish = () => {
      tally.done = true;
      resolve();
    };
    const connect = () => {
      if (producerEnded) {
        if (dropped) tally.resumedAfterEnd = true;
        else if (tally.next === 0) tally.joinedAfterEnd = true;
      }
      let retried = false;
      const retry = () => {
        if (retried || tally.done) return;
        retried = true;
        setTimeout(connect, 10);
      };
      const req = http.get(
        { port, host: '127.0.0.1', path: `/s/${id}`, headers: lastId ? { 'Last-Event-ID': lastId } : {} },
        (res) => {
          tally.admit();
          if (res.statusCode === 204) {
            res.resume();
            retried = true;
            return finish();
          }
          const parser = createParser({
            onEvent: (e) => {
              if (retried) return;
              if (e.type === 'end') {
                retried = true;
                res.destroy();
                finish();
                return;
              }
              lastId = e.lastEventId;
              tally.accept(Number(e.data));
              if (!dropped && tally.next >= dropAfter) {
                dropped = true;
                retried = true;
                res.destroy();
                setImmediate(connect);
              }
            },
          });
          res.on('data', (chunk: Buffer) => parser.feed(chunk));
          res.on('error', () => {});
          res.on('close', retry);
        },
      );
      req.on('error', () => {
        tally.connectErrors++;
        retry();
      });
    };
    connect();
  });
}

/** Waits for every reader, or `ms` after which the ones still reading count as stalled. */
async function settle(reading: Promise<void>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(reading),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * The readers of one case and where they join: at random chunks, sorted. At a join point the
 * producer starts the readers due there and waits until each one's response has started, so every
 * reader joins a live stream; the producer's throughput leaves that wait out.
 */
class Joins {
  readonly tallies: Tally[] = [];
  readonly reading: Promise<void>[] = [];
  readonly #at: number[];
  readonly #start: (tally: Tally) => Promise<void>;
  #next = 0;

  constructor(readers: number, chunks: number, start: (tally: Tally) => Promise<void>) {
    this.#at = Array.from({ length: readers }, () => Math.floor(Math.random() * chunks)).sort(
      (a, b) => a - b,
    );
    this.#start = start;
  }

  /** Whether a reader joins at chunk `at`. */
  due(at: number): boolean {
    return this.#next < this.#at.length && this.#at[this.#next]! <= at;
  }

  /** Starts the readers due at chunk `at` and waits until they are admitted; returns the wait (ms). */
  async admit(at: number): Promise<number> {
    const admitted: Promise<void>[] = [];
    while (this.due(at)) {
      const tally = new Tally();
      tally.joinedAt = performance.now();
      tally.target = at;
      this.tallies.push(tally);
      this.reading.push(this.#start(tally));
      admitted.push(tally.admitted);
      this.#next++;
    }
    const w0 = performance.now();
    await Promise.all(admitted);
    return performance.now() - w0;
  }
}

async function runHerald(
  name: string,
  store: ResumableStore,
  readers: number,
  CHUNKS: number,
): Promise<Result> {
  const sse = new SseServer({ heartbeatMs: 0 });
  const streams = createResumableStreams({ store, server: sse, streamOptions: { retryMs: 10 } });
  const server = await listen((req, res) => void streams.respond(req.url!.slice(3), req, res));
  const id = `bench-${Date.now()}-${readers}`;
  const joins = new Joins(readers, CHUNKS, (tally) =>
    heraldReader(server.port, id, tally, Math.floor(Math.random() * CHUNKS)),
  );
  producerEnded = false;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const writer = await streams.writer(id);
  let waitMs = 0;
  for (let i = 0; i < CHUNKS; i++) {
    if (joins.due(i)) waitMs += await joins.admit(i);
    if (!writer.write(String(i))) await writer.drained();
    // Let readers connect while the producer writes: yield once every 1,000 chunks.
    if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
  }
  await writer.end();
  producerEnded = true;
  const producerMs = performance.now() - t0 - waitMs;
  await settle(joins.reading, READERS_TIMEOUT_MS);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await streams.close();
  sse.closeAll();
  await server.close();
  return summarize(name, readers, CHUNKS, producerMs, wallMs, cpu, joins.tallies);
}

/** Heap one stored stream of `chunks` chunks takes on the memory store (no reader attached). */
async function memoryStoreBytes(chunks: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return Number.NaN;
  // Ten streams, so a small one is not lost in the heap's noise.
  const copies = 10;
  const store = createMemoryResumableStore();
  const streams = createResumableStreams({ store });
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let k = 0; k < copies; k++) {
    const writer = await streams.writer(`memory-${k}`);
    for (let i = 0; i < chunks; i++) if (!writer.write(String(i))) await writer.drained();
    await writer.end();
  }
  gc();
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / copies;
  await streams.close();
  return bytes;
}

function summarize(
  system: string,
  readers: number,
  CHUNKS: number,
  producerMs: number,
  wallMs: number,
  cpu: NodeJS.CpuUsage,
  tallies: Tally[],
): Result {
  const delivered = tallies.reduce((n, t) => n + t.next, 0) + CHUNKS; // + the store's copy
  const ok = tallies.filter((t) => t.bad === 0 && t.next === CHUNKS).length;
  const catchUps = tallies.filter((t) => t.caughtUpMs >= 0).map((t) => t.caughtUpMs);
  return {
    system,
    readers,
    chunks: CHUNKS,
    wallMs: Math.round(wallMs),
    connectErrors: tallies.reduce((n, t) => n + t.connectErrors, 0),
    stalled: tallies.filter((t) => !t.done).length,
    producerMs: Math.round(producerMs),
    chunksPerSec: Math.round(CHUNKS / (producerMs / 1000)),
    cpuUsPerDelivered: Number(((cpu.user + cpu.system) / delivered).toFixed(2)),
    catchUpMsP50: Math.round(percentile(catchUps, 0.5)),
    catchUpMsMax: Math.round(percentile(catchUps, 1)),
    delivered,
    readersOk: ok,
    lostOrDuplicated: tallies.reduce((n, t) => n + t.bad + Math.abs(CHUNKS - t.next), 0),
    joinedAfterEnd: tallies.filter((t) => t.joinedAfterEnd).length,
    resumedAfterEnd: tallies.filter((t) => t.resumedAfterEnd).length,
    badWhileLive: tallies.filter(
      (t) => !t.joinedAfterEnd && !t.resumedAfterEnd && (t.bad > 0 || t.next !== CHUNKS),
    ).length,
  };
}

/** The peer: resumable-stream's context over node-redis, readers over HTTP with `resumeAt`. */
async function runPeer(readers: number, CHUNKS: number): Promise<Result> {
  const publisher = createClient({ url: REDIS_URL });
  const subscriber = createClient({ url: REDIS_URL });
  await Promise.all([publisher.connect(), subscriber.connect()]);
  const pending: Promise<unknown>[] = [];
  const keyPrefix = `herald-bench-rs-${Date.now()}`;
  const context = createResumableStreamContext({
    keyPrefix,
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
  const joins = new Joins(readers, CHUNKS, (tally) =>
    peerReader(server.port, id, tally, Math.floor(Math.random() * CHUNKS)),
  );
  producerEnded = false;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let produced = 0;
  let producerDone!: () => void;
  const producerFinished = new Promise<void>((resolve) => {
    producerDone = resolve;
  });
  // The producer: a ReadableStream written at full speed, pulled by resumable-stream. Readers join
  // as with Herald.
  let waitMs = 0;
  const source = new ReadableStream<string>({
    async pull(controller) {
      const end = Math.min(CHUNKS, produced + 1000);
      while (produced < end) {
        if (joins.due(produced)) waitMs += await joins.admit(produced);
        controller.enqueue(`${produced++},`);
      }
      if (produced >= CHUNKS) {
        controller.close();
        producerEnded = true;
        producerDone();
      }
      await new Promise((resolve) => setImmediate(resolve));
    },
  });
  const first = await context.createNewResumableStream(id, () => source);
  const firstDrain = (async () => {
    const r = first!.getReader();
    for (;;) {
      const { done } = await r.read();
      if (done) break;
    }
  })();
  await producerFinished;
  await firstDrain;
  const producerMs = performance.now() - t0 - waitMs;
  await settle(joins.reading, READERS_TIMEOUT_MS);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await server.close();
  await Promise.allSettled(pending);
  await Promise.allSettled([publisher.quit(), subscriber.quit()]);
  const result = summarize('resumable-stream', readers, CHUNKS, producerMs, wallMs, cpu, joins.tallies);
  result.memoryBytes = await redisMemory(keyPrefix);
  return result;
}

/** A peer reader: text `0,1,2,…`; on a drop it resumes at the number of characters it received. */
function peerReader(port: number, id: string, tally: Tally, dropAfter: number): Promise<void> {
  return new Promise((resolve) => {
    let chars = 0;
    let partial = '';
    let dropped = false;
    const connect = () => {
      if (producerEnded) {
        if (dropped) tally.resumedAfterEnd = true;
        else if (chars === 0) tally.joinedAfterEnd = true;
      }
      const req = http.get({ port, host: '127.0.0.1', path: `/r/${id}?resumeAt=${chars}` }, (res) => {
        tally.admit();
        if (res.statusCode !== 200) {
          // 204: the stream is done, and resumable-stream serves no replay then.
          res.resume();
          tally.done = true;
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
        res.on('end', () => {
          tally.done = true;
          resolve();
        });
        res.on('error', () => {});
      });
      req.on('error', () => {
        tally.admit();
        tally.connectErrors++;
        tally.done = true;
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

/** Removes what an interrupted earlier run left under the bench's own prefix. */
async function sweepLeftovers(): Promise<void> {
  await redisMemory('herald-bench-');
}

const results: Result[] = [];
const started = new Date();
const loads: number[] = [];
await sweepLeftovers();
try {
  for (const c of CASES) {
    const at = results.length;
    if (c.systems.includes('memory')) {
      const r = await runHerald('herald-memory', createMemoryResumableStore(), c.readers, c.chunks);
      r.memoryBytes = await memoryStoreBytes(c.chunks);
      results.push(r);
    }
    if (c.systems.includes('redis')) {
      const prefix = `herald-bench-${Date.now()}`;
      const store = createRedisResumableStore(REDIS_URL, { prefix });
      await store.ready();
      try {
        results.push(await runHerald('herald-redis', store, c.readers, c.chunks));
      } finally {
        await store.close();
        const bytes = await redisMemory(prefix);
        if (results.length > at && results.at(-1)!.system === 'herald-redis')
          results.at(-1)!.memoryBytes = bytes;
      }
    }
    if (c.systems.includes('peer')) results.push(await runPeer(c.readers, c.chunks));
    loads.push(loadavg()[0]!);
    for (const x of results.slice(at)) console.log(JSON.stringify(x));
  }
} finally {
  await sweepLeftovers();
}

const mib = (bytes: number | undefined) =>
  bytes === undefined || Number.isNaN(bytes) ? '' : `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
const memoryNote: Record<string, string> = {
  'herald-memory': 'heap',
  'herald-redis': 'in Redis',
  'resumable-stream': 'in Redis (its chunks stay in the producer, not measured)',
};
const rows = results.map((r) => {
  const peer = results.find(
    (p) => p.system === 'resumable-stream' && p.readers === r.readers && p.chunks === r.chunks,
  );
  const vs = (ours: number, theirs: number | undefined, digits = 1) =>
    peer === undefined || r === peer || theirs === undefined || theirs === 0
      ? ''
      : ` (${(ours / theirs).toFixed(digits)}x)`;
  return [
    `${r.readers.toLocaleString('en')} x ${r.chunks.toLocaleString('en')}`,
    r.system,
    `${r.chunksPerSec.toLocaleString('en')}${vs(r.chunksPerSec, peer?.chunksPerSec)}`,
    `${r.cpuUsPerDelivered}${vs(r.cpuUsPerDelivered, peer?.cpuUsPerDelivered, 2)}`,
    `${r.catchUpMsP50.toLocaleString('en')} / ${r.catchUpMsMax.toLocaleString('en')}`,
    `${r.readersOk}/${r.readers}`,
    r.lostOrDuplicated.toLocaleString('en'),
    `${r.badWhileLive} / ${r.joinedAfterEnd} / ${r.resumedAfterEnd}`,
    String(r.stalled),
    r.memoryBytes === undefined ? '' : `${mib(r.memoryBytes)} ${memoryNote[r.system]}`,
    (r.wallMs / 1000).toFixed(1),
  ];
});
const md = `# Resumable streams benchmark

Run ${started.toISOString()} to ${new Date().toISOString()}, Node ${process.version}. Load average
(1 min) after each case: ${loads.map((x) => x.toFixed(1)).join(', ')} (2 cores shared with other
work: read ratios, not absolutes).

1 producer writes N chunks (the numbers 0..N-1) at full speed; R readers join at random points of
the stream, each drops its connection once at a random point and resumes (Herald:
\`Last-Event-ID\`; resumable-stream: \`resumeAt\` = characters received).

- Joining: at each join point the producer waits until the joining readers' responses have
  started, so every reader joins a live stream; producer chunks/s leaves those waits out.
- CPU: producer, HTTP server and readers share one process for both systems; user+system time
  over the run divided by the chunks delivered (to every reader, plus one for the store).
- Catch-up: from a reader's connect until it holds the chunk the producer was writing when it
  joined (p50 / max).
- Every chunk once: the reader got 0..N-1 in order, none missing, none twice, across its forced
  reconnect. Bad while live: readers that joined and resumed before the producer ended, yet lost
  or duplicated a chunk; resumed after end: readers whose resume after the drop came once the
  producer had ended (still correct when the count of lost chunks is 0).
- Stalled: readers still reading ${READERS_TIMEOUT_MS / 1000} s after the producer ended.
- Memory per stream: heap of one stored stream with no reader (memory store, mean of ten), Redis
  \`MEMORY USAGE\` of its keys (Redis store).
- In brackets: the ratio to resumable-stream in the same case. Its producer is pulled as it
  publishes every chunk to every reader, so its chunks/s falls with the readers; Herald's producer
  never waits for a reader.

| Readers x chunks | System | Producer chunks/s | CPU µs / delivered chunk | Catch-up ms p50 / max | Every chunk once | Chunks lost or duplicated | Readers bad while live / joined after end / resumed after end | Stalled | Memory per stream | Wall s |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n')}

Command: \`npm run bench:resumable -- --cases ${CASES.map((c) => `${c.readers}x${c.chunks}:${c.systems.join('+')}`).join(',')}\`.
`;
writeFileSync(new URL('../results/resumable.md', import.meta.url), md);
console.log(md);
process.exit(0);
