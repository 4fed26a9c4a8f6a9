/**
 * Memory per idle subscriber: RSS of a hub process before and after N idle SSE subscribers on one
 * topic, divided by N.
 *
 *   npm run bench:memory -- [--subscribers 10000] [--snapshot DIR] [-- node flags for the hub]
 *
 * The hub runs in a child process (bench/memory/hub.ts, with --expose-gc); the subscribers are raw
 * `net` sockets of this process, spread over 127.0.0.1-4 (one process holds < 19,000 sockets: the
 * open-files limit is 20,000). RSS is VmRSS from /proc/<pid>/status after a forced GC and a settle.
 * Node flags after `--` go to the hub, e.g. `-- --max-semi-space-size=2` (see bench/results/memory.md).
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '10000' },
    snapshot: { type: 'string' },
  },
  allowPositionals: true,
});
const N = Number(values.subscribers);
if (!Number.isInteger(N) || N < 1 || N > 18_000) throw new Error('--subscribers must be 1..18000');
const hubFlags = positionals;

const TOPIC = encodeURIComponent('https://bench.example/topics/shared');
const REQUEST = `GET /.well-known/mercure?topic=${TOPIC} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`;
const ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
/** Connections opened at once: enough to go fast, few enough not to overrun the listen backlog. */
const CONCURRENCY = 200;
/** Let the allocator and V8 settle before reading RSS. */
const SETTLE_MS = 2_000;

const child = fork(join(import.meta.dirname, 'hub.ts'), [], {
  execArgv: ['--expose-gc', '--import', 'tsx', ...hubFlags],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});

type Reply = {
  port?: number;
  memory?: NodeJS.MemoryUsage;
  spaces?: Record<string, number>;
  subscribers?: number;
  snapshot?: string;
};
function next(): Promise<Reply> {
  return new Promise((resolve) => child.once('message', (m) => resolve(m as Reply)));
}

function vmRssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return Number(match![1]);
}

async function sample(label: string): Promise<{ rss: number; memory: NodeJS.MemoryUsage }> {
  child.send({ cmd: 'sample' });
  await next();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  child.send({ cmd: 'sample' });
  const reply = await next();
  const rss = vmRssKb(child.pid!);
  const m = reply.memory!;
  const mb = (n: number) => (n / 1048576).toFixed(1);
  console.log(
    `${label.padEnd(22)} subscribers ${String(reply.subscribers).padStart(6)}  VmRSS ${(rss / 1024).toFixed(1)} MB  ` +
      `heapUsed ${mb(m.heapUsed)}  heapTotal ${mb(m.heapTotal)}  external ${mb(m.external)}  arrayBuffers ${mb(m.arrayBuffers)}`,
  );
  const spaces = Object.entries(reply.spaces!)
    .filter(([, size]) => size >= 1048576)
    .map(([name, size]) => `${name.replace(/_space$/, '')} ${mb(size)}`);
  console.log(`${''.padEnd(22)} heap spaces (MB): ${spaces.join(', ')}`);
  return { rss, memory: m };
}

const sockets: net.Socket[] = [];
function connect(port: number, i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: ADDRESSES[i % ADDRESSES.length] });
    socket.setNoDelay(true);
    socket.once('connect', () => socket.write(REQUEST));
    socket.once('data', (chunk) => {
      if (!chunk.toString('latin1').startsWith('HTTP/1.1 200')) {
        reject(new Error(`subscriber ${i}: ${chunk.toString('latin1').split('\r\n')[0]}`));
        return;
      }
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      // Idle: read and discard heartbeats, hold nothing.
      socket.on('data', () => {});
      resolve();
    });
    socket.once('error', reject);
    sockets.push(socket);
  });
}

async function connectRange(port: number, from: number, to: number): Promise<void> {
  let nextIndex = from;
  const worker = async () => {
    while (nextIndex < to) await connect(port, nextIndex++);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, to - from) }, worker));
}

try {
  const { port } = await next();
  await connectRange(port!, 0, 1);
  const before = await sample('1 subscriber');
  await connectRange(port!, 1, N);
  const after = await sample(`${N} subscribers`);
  const perSub = (a: number, b: number) => (((a - b) / (N - 1)) * 1).toFixed(2);
  const bytes = (k: keyof NodeJS.MemoryUsage) =>
    ((after.memory[k] - before.memory[k]) / (N - 1) / 1024).toFixed(2);
  console.log(
    `per subscriber: RSS ${perSub(after.rss, before.rss)} KB  (heapUsed ${bytes('heapUsed')} KB, ` +
      `external ${bytes('external')} KB, arrayBuffers ${bytes('arrayBuffers')} KB)`,
  );
  if (values.snapshot !== undefined) {
    child.send({ cmd: 'snapshot', path: join(values.snapshot, `hub-${N}.heapsnapshot`) });
    console.log(`heap snapshot: ${(await next()).snapshot}`);
  }
} finally {
  for (const socket of sockets) socket.destroy();
  child.send({ cmd: 'stop' });
  await new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}
