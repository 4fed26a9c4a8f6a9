/**
 * `npm run bench:scale`: many idle SSE subscribers on one machine, the hub against nchan at the same
 * scale. Not part of CI: it takes the machine's memory and minutes.
 *
 *   npm run bench:scale -- --subscribers 100000 [--systems herald,nchan] [--min-available-gib 4]
 *     [--node PATH]   the Node binary the hub runs on (default: this one). Its workers accept their
 *                     own connections on Node 22.12+/23.1+ only; on older ones the primary hands
 *                     out every connection, the mass connect's bottleneck (docs/cli.md, "Workers").
 *
 * For each system: start it with enough worker processes (one process holds < 20,000 sockets),
 * connect N idle event-stream subscribers from generator processes (the C generator, 18,000 sockets
 * each, every generator from its own 127.0.x.y source address), then publish one broadcast and wait
 * until every subscriber has it. Reports the time to connect all, the time from the publish to the
 * last delivery, and memory per subscriber: the server's processes (RSS), the generators' (RSS),
 * the kernel's (slab objects and TCP buffers) and the machine's MemAvailable drop ("in all").
 *
 * The run watches MemAvailable every 250 ms while connecting and stops itself cleanly (generators
 * closed, system stopped) before it falls below --min-available-gib: an out-of-memory kill would
 * take the whole machine's work with it. Writes bench/results/scale.json and prints a summary.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { reusePortAvailable } from '../../src/hub/cluster/reuse-port.js';
import { LatencyHistogram } from '../load/histogram.js';
import { processTree, treeRssBytes } from '../load/proc-tree.js';
import { herald } from '../peers/herald.js';
import { nchan } from '../peers/nchan.js';
import type { Peer, RunningPeer } from '../peers/peer.js';
import { ROOT, spawnPinned, stopProcess } from '../peers/process.js';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '50000' },
    systems: { type: 'string', default: 'herald,nchan' },
    'min-available-gib': { type: 'string', default: '6' },
    out: { type: 'string' },
    node: { type: 'string' },
  },
});
const NODE = values.node ?? process.execPath;
const N = Number(values.subscribers);
const MIN_AVAILABLE = Number(values['min-available-gib']) * 2 ** 30;
const OUT = values.out ?? join(ROOT, 'bench', 'results');
const SOCKETS_PER_GENERATOR = 18_000;
/** Subscribers per server process: under the 20,000 files limit with room for the rest. */
const SUBSCRIBERS_PER_WORKER = 17_000;
const PEERS: Peer[] = [herald, nchan].filter((p) => values.systems.split(',').includes(p.name));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function memAvailable(): number {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return Number(m![1]) * 1024;
}
/**
 * Kernel memory that grows with connections: slab objects (sockets, inodes, epoll items, files;
 * /proc/meminfo `Slab`) and TCP socket buffers (/proc/net/sockstat `mem`, in pages). Machine-wide,
 * so other work on the machine blurs it, though less than MemAvailable.
 */
function kernelBytes(): number {
  const slab = /Slab:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  const tcp = /TCP: .* mem (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return Number(slab?.[1] ?? 0) * 1024 + Number(tcp?.[1] ?? 0) * 4096;
}

function next<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no '${type}' within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: { type: string }) => {
      if (m.type === type) done(undefined, m as T);
    };
    const onExit = (code: number | null) => done(new Error(`child exited (${code}) before '${type}'`));
    const done = (error?: Error, value?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value!);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

function buildGenerator(): string {
  const out = join(ROOT, '.cache', 'bench', 'sse-subscribers');
  mkdirSync(join(ROOT, '.cache', 'bench'), { recursive: true });
  execFileSync('cc', ['-O2', '-o', out, join(ROOT, 'bench', 'load', 'c', 'subscribers.c'), '-lm'], {
    stdio: 'inherit',
  });
  return out;
}

const tsxChild = (file: string, log: string, args: string[] = []): ChildProcess =>
  spawnPinned(
    undefined,
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'load', file), ...args],
    log,
    {
      stdio: 'ipc',
    },
  );

interface ScaleResult {
  system: string;
  workers: number;
  generators: number;
  subscribers: number;
  made: number;
  failed: number;
  stopped?: string;
  error?: string;
  connectMs?: number;
  deliverMs?: { p50: number; max: number };
  received?: number;
  lost?: number;
  perSubscriberBytes?: { server: number; generators: number; kernel: number; inAll: number };
  memAvailableMin: number;
}

/** Kills a relay and the C generator under it (the relay forwards nothing once killed). */
async function stopGenerator(child: ChildProcess): Promise<void> {
  const pids = child.pid === undefined ? [] : processTree(child.pid).map((s) => s.pid);
  await stopProcess(child);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

async function runSystem(peer: Peer, generator: string, round: number): Promise<ScaleResult> {
  const workers = Math.ceil(N / SUBSCRIBERS_PER_WORKER);
  const count = Math.ceil(N / SOCKETS_PER_GENERATOR);
  const result: ScaleResult = {
    system: peer.name,
    workers,
    generators: count,
    subscribers: N,
    made: 0,
    failed: 0,
    memAvailableMin: memAvailable(),
  };
  const scratch = join(os.tmpdir(), `herald-scale-${process.pid}`, peer.name);
  mkdirSync(scratch, { recursive: true });
  const generators: ChildProcess[] = [];
  let publisher: ChildProcess | undefined;
  let running: RunningPeer | undefined;
  let watch: NodeJS.Timeout | undefined;
  try {
    running = await peer.start({ core: undefined, workers, scratch, node: NODE });
    for (let g = 0; g < count; g++)
      generators.push(tsxChild('c-subscribers.ts', 'scale-generator', [generator]));
    publisher = tsxChild('publisher.ts', 'scale-publisher');
    await sleep(2000);
    const before = {
      server: treeRssBytes(running.pids),
      generators: treeRssBytes(generators.map((c) => c.pid!)),
      kernel: kernelBytes(),
      available: memAvailable(),
    };
    // Stops the run cleanly before the machine runs short of memory.
    let abort: (why: string) => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      abort = (why) => reject(new Error(why));
    });
    watch = setInterval(() => {
      const available = memAvailable();
      result.memAvailableMin = Math.min(result.memAvailableMin, available);
      if (available < MIN_AVAILABLE) {
        const why = `MemAvailable ${(available / 2 ** 30).toFixed(1)} GiB fell below ${(MIN_AVAILABLE / 2 ** 30).toFixed(1)} GiB: stopped`;
        result.stopped = why;
        abort(why);
      }
    }, 250);
    const path = running.subscribePath('shared');
    const connected = generators.map((child, g) => {
      const first = g * SOCKETS_PER_GENERATOR;
      const done = next<{ made: number; failed: number }>(child, 'connected', 600_000);
      child.send({
        type: 'connect',
        host: running!.host,
        port: running!.port,
        paths: [path],
        firstIndex: first,
        count: Math.min(SOCKETS_PER_GENERATOR, N - first),
        // Every generator its own source address: Linux's port search slows past ~14k per address.
        sourceAddress: `127.0.${10 + round}.${g + 2}`,
      });
      return done;
    });
    const start = performance.now();
    for (const c of await Promise.race([Promise.all(connected), aborted])) {
      result.made += c.made;
      result.failed += c.failed;
    }
    result.connectMs = performance.now() - start;
    await Promise.race([sleep(3000), aborted]);
    const after = {
      server: treeRssBytes(running.pids),
      generators: treeRssBytes(generators.map((c) => c.pid!)),
      kernel: kernelBytes(),
      available: memAvailable(),
    };
    const per = (a: number, b: number) => (a - b) / Math.max(1, result.made);
    result.perSubscriberBytes = {
      server: per(after.server, before.server),
      generators: per(after.generators, before.generators),
      kernel: per(after.kernel, before.kernel),
      inAll: per(before.available, after.available),
    };
    // One broadcast to all.
    const complete = generators.map((child) => {
      const c = next<object>(child, 'complete', 300_000);
      child.send({ type: 'expect', events: 1 });
      return c;
    });
    const published = next<{ firstDueUs: number; errors: number }>(publisher, 'published', 60_000);
    publisher.send({ type: 'publish', target: running.publishTarget, events: 1, rate: 1, size: 100 });
    await published;
    // Each wait is bounded by its own timer (cleared when it settles): a bare race against a long
    // sleep would leave that timer holding the process open for minutes after the results are written.
    // Settled, not all: a generator still short of the broadcast at the bound reports its losses.
    await Promise.race([Promise.allSettled(complete), aborted]);
    const histogram = new LatencyHistogram();
    let received = 0;
    let lost = 0;
    for (const child of generators) {
      const r = next<{
        received: number;
        lost: number;
        histogram: { buckets: [number, number][]; maxUs: number };
      }>(child, 'report', 60_000);
      child.send({ type: 'report' });
      const x = await r;
      received += x.received;
      lost += x.lost;
      histogram.add(x.histogram);
    }
    result.received = received;
    result.lost = lost;
    result.deliverMs = { p50: histogram.quantileUs(0.5) / 1000, max: histogram.maxUs / 1000 };
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    clearInterval(watch);
    for (const child of generators) if (child.connected) child.send({ type: 'close' });
    if (publisher?.connected) publisher.disconnect();
    await Promise.all(generators.map((c) => stopGenerator(c)));
    if (publisher) await stopProcess(publisher);
    if (running) await running.stop().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
  return result;
}

const started = new Date();
const hubNode = execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();
if (PEERS.includes(herald) && !reusePortAvailable(hubNode.slice(1)))
  console.error(
    `herald on Node ${hubNode}: its workers cannot accept for themselves, the primary hands out every connection (--node with 22.12+ for that)`,
  );
const generator = buildGenerator();
const results: ScaleResult[] = [];
for (const [i, peer] of PEERS.entries()) {
  if (memAvailable() < MIN_AVAILABLE + 2 * 2 ** 30) {
    console.error(`${peer.name}: not started, MemAvailable is too close to the limit`);
    continue;
  }
  const r = await runSystem(peer, generator, i);
  results.push(r);
  console.error(JSON.stringify(r));
  // Let the kernel release the closed sockets (TIME_WAIT holds no buffers, but FINs take a moment).
  await sleep(5000);
}
mkdirSync(OUT, { recursive: true });
writeFileSync(
  join(OUT, 'scale.json'),
  `${JSON.stringify(
    {
      started: started.toISOString(),
      finished: new Date().toISOString(),
      command: `npm run bench:scale -- ${process.argv.slice(2).join(' ')}`,
      machine: {
        cpus: os.cpus().length,
        memTotalBytes: os.totalmem(),
        loadAverageAtEnd: os.loadavg(),
        node: process.version,
        hubNode,
      },
      minAvailableBytes: MIN_AVAILABLE,
      results,
    },
    null,
    2,
  )}\n`,
);
rmSync(join(os.tmpdir(), `herald-scale-${process.pid}`), { recursive: true, force: true });
