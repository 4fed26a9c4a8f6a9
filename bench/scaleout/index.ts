/**
 * Scale-out benchmark: hubs on one Redis, as `herald serve` processes, in one run.
 * `npm run bench:scaleout [-- --subscribers 200 --events 500 --rate 200 --runs 1]`
 *
 * Setups, each on a fresh redis-server of its own (no persistence) on a free port:
 * - `1 node`: one `herald serve --store redis://…`, every subscriber on it;
 * - `2 nodes`: two of them, subscribers split evenly: each node has its own stream reader;
 * - `1 node, 2 workers`: `--workers 2`: on Redis each worker has its own stream reader (chosen over
 *   one reader in the primary relaying to the workers over IPC, which cost ~20% more hub CPU per
 *   delivery here; bench/results/scaleout.md keeps both measurements).
 * Two phases per setup: `burst` (every event published as fast as 16 concurrent POSTs go; fan-out
 * throughput = events delivered / time from first POST to last delivery) and `rate` (a fixed
 * publish rate; latency = receive time - send time, both read in this process). Every delivery is
 * checked: losses and duplicates are counted. Results go to bench/results/scaleout.md.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { createParser } from '../../src/protocol/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, '..', '..', 'src', 'cli', 'main.ts');
const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '200' },
    events: { type: 'string', default: '500' },
    rate: { type: 'string', default: '200' },
    runs: { type: 'string', default: '1' },
    out: { type: 'string', default: join(here, '..', 'results', 'scaleout.md') },
  },
});
const SUBSCRIBERS = Number(values.subscribers);
const EVENTS = Number(values.events);
const RATE = Number(values.rate);
const RUNS = Number(values.runs);
const KEY = 'scaleout-bench-key-scaleout-bench-key';
const TOPIC = 'https://example.com/bench';
const CONCURRENCY = 16;

interface Setup {
  name: string;
  nodes: number;
  workers: number;
}
const SETUPS: Setup[] = [
  { name: '1 node', nodes: 1, workers: 1 },
  { name: '2 nodes', nodes: 2, workers: 1 },
  { name: '1 node, 2 workers', nodes: 1, workers: 2 },
];

interface PhaseResult {
  /** CPU time of every hub process (nodes, primaries, workers) during the phase, in µs. */
  cpuMicros: number;
  delivered: number;
  lost: number;
  duplicates: number;
  wallMs: number;
  latencies: number[];
}

const now = () => performance.timeOrigin + performance.now();
const TICK_MICROS = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);

/** User + system CPU of `pid` and of its children (cluster workers), from /proc, in µs. */
function treeCpuMicros(pid: number): number {
  let total = 0;
  const pids = [pid];
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (children !== '') pids.push(...children.split(/\s+/).map(Number));
  } catch {}
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * TICK_MICROS; // utime, stime
    } catch {}
  }
  return total;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
  });
  child.removeAllListeners('exit');
  child.stdout!.resume();
  return { url: `redis://127.0.0.1:${port}`, child };
}

async function startNode(
  redisUrl: string,
  workers: number,
): Promise<{ hubUrl: string; child: ChildProcess }> {
  const args = ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--store', redisUrl];
  args.push('--anonymous', '--jwt-key', KEY, '--workers', String(workers), '--log-level', 'info');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`herald exited with ${code}: ${out}`)));
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const match = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (match) resolve(match[1]!.replace('localhost', '127.0.0.1'));
    });
  });
  child.removeAllListeners('exit');
  return { hubUrl: `${url}/.well-known/mercure`, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

/** One subscriber: counts events of the current phase by sequence number, with receive latency. */
class Sub {
  seen = new Uint8Array(0);
  received = 0;
  duplicates = 0;
  lastAt = 0;
  latencies: number[] = [];
  phase = '';
  readonly req: http.ClientRequest;
  constructor(url: string, ready: () => void) {
    const parser = createParser({
      onEvent: (event) => {
        const [phase, seq, sentAt] = event.data.split(' ') as [string, string, string];
        if (phase !== this.phase) return;
        const at = now();
        const i = Number(seq);
        if (this.seen[i]) this.duplicates++;
        else {
          this.seen[i] = 1;
          this.received++;
        }
        this.lastAt = at;
        this.latencies.push(at - Number(sentAt));
      },
    });
    this.req = http.get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      ready();
    });
    this.req.on('error', () => {});
  }
  reset(phase: string): void {
    this.phase = phase;
    this.seen = new Uint8Array(EVENTS);
    this.received = 0;
    this.duplicates = 0;
    this.latencies = [];
  }
}

async function publishAll(
  hubUrls: string[],
  token: string,
  phase: string,
  rate: number | undefined,
): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (url: string, body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`publish: ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = now();
  let next = 0;
  const worker = async () => {
    while (next < EVENTS) {
      const i = next++;
      if (rate !== undefined) {
        const due = started + (i * 1000) / rate;
        const wait = due - now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const data = `${phase} ${i} ${now()}`;
      await post(hubUrls[i % hubUrls.length]!, new URLSearchParams({ topic: TOPIC, data }).toString());
    }
  };
  await Promise.all(Array.from({ length: rate === undefined ? CONCURRENCY : 4 }, worker));
  agent.destroy();
  return started;
}

async function phase(
  subs: Sub[],
  pids: number[],
  hubUrls: string[],
  token: string,
  name: string,
  rate?: number,
): Promise<PhaseResult> {
  for (const s of subs) s.reset(name);
  const cpuBefore = pids.reduce((n, p) => n + treeCpuMicros(p), 0);
  const started = await publishAll(hubUrls, token, name, rate);
  const deadline = now() + 30_000;
  while (subs.some((s) => s.received < EVENTS) && now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const delivered = subs.reduce((n, s) => n + s.received, 0);
  return {
    cpuMicros: pids.reduce((n, p) => n + treeCpuMicros(p), 0) - cpuBefore,
    delivered,
    lost: subs.length * EVENTS - delivered,
    duplicates: subs.reduce((n, s) => n + s.duplicates, 0),
    wallMs: Math.max(...subs.map((s) => s.lastAt)) - started,
    latencies: subs.flatMap((s) => s.latencies),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runSetup(setup: Setup, token: string) {
  const redis = await startRedis();
  const nodes = await Promise.all(
    Array.from({ length: setup.nodes }, () => startNode(redis.url, setup.workers)),
  );
  try {
    const urls = nodes.map((n) => `${n.hubUrl}?topic=${encodeURIComponent(TOPIC)}`);
    const subs: Sub[] = [];
    // Connect in batches so the accept queues never overflow.
    for (let i = 0; i < SUBSCRIBERS; i += 50) {
      await Promise.all(
        Array.from(
          { length: Math.min(50, SUBSCRIBERS - i) },
          (_, j) => new Promise<void>((ready) => subs.push(new Sub(urls[(i + j) % urls.length]!, ready))),
        ),
      );
    }
    const hubUrls = nodes.map((n) => n.hubUrl);
    const pids = nodes.map((n) => n.child.pid!);
    const burst = await phase(subs, pids, hubUrls, token, 'burst');
    const rate = await phase(subs, pids, hubUrls, token, 'rate', RATE);
    for (const s of subs) s.req.destroy();
    return { burst, rate };
  } finally {
    await Promise.all(nodes.map((n) => stop(n.child)));
    await stop(redis.child);
  }
}

const token = await new SignJWT({ mercure: { publish: ['*'] } })
  .setProtectedHeader({ alg: 'HS256' })
  .sign(new TextEncoder().encode(KEY));
const rows: string[] = [];
for (let run = 1; run <= RUNS; run++) {
  for (const setup of SETUPS) {
    const { burst, rate } = await runSetup(setup, token);
    const sorted = rate.latencies.sort((a, b) => a - b);
    const row = [
      run,
      setup.name,
      Math.round((burst.delivered / burst.wallMs) * 1000).toLocaleString('en-US'),
      `${burst.lost} / ${burst.duplicates}`,
      (burst.cpuMicros / burst.delivered).toFixed(1),
      percentile(sorted, 50).toFixed(1),
      percentile(sorted, 99).toFixed(1),
      `${rate.lost} / ${rate.duplicates}`,
    ];
    rows.push(`| ${row.join(' | ')} |`);
    console.log(rows.at(-1));
  }
}

const load = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(', ');
const report = `# Scale-out benchmark (hubs on one Redis)

\`npm run bench:scaleout -- --subscribers ${SUBSCRIBERS} --events ${EVENTS} --rate ${RATE} --runs ${RUNS}\`
(${new Date().toISOString()}, Node ${process.version}, redis-server of its own per setup, ${os.cpus().length} cores,
load average at the end ${load}: the machine is shared, so figures are noisy.)

${SUBSCRIBERS} subscribers on one topic (split evenly over the nodes), ${EVENTS} events per phase of
~60 bytes. Publishes are POSTs spread round-robin over the nodes. **Burst**: ${CONCURRENCY} concurrent
POSTs, fan-out = events delivered / (last delivery - first POST); hub CPU = user + system time of
every hub process (nodes, cluster primaries and workers, from /proc) during the phase, per delivery:
the steadier figure on a busy machine. **Rate**: ${RATE} events/s,
publish-to-receive latency over every delivery (send and receive times read in this process, which
also runs every subscriber: its own event-loop delay is included).

| run | setup | burst: delivered events/s | burst: lost / dup | burst: hub CPU µs per delivery | rate: p50 ms | rate: p99 ms | rate: lost / dup |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, report);
console.log(`wrote ${values.out}`);
