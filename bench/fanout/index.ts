/**
 * Fan-out benchmark: N local subscribers x M events through herald/server and through better-sse,
 * in one run. `npm run bench:fanout [-- --subscribers 1000 --events 1000 --runs 3 --rate 1000]`
 *
 * The server under test runs in a child pinned to core 0 (`taskset -c 0`), the load generator in a
 * child pinned to core 1, so the server's CPU time is its own. Each implementation publishes at full
 * speed (every event in one synchronous loop, as a burst of publishes would arrive) and at a fixed
 * rate (one event per event-loop turn). Runs are interleaved (herald, better-sse, herald, ...) and
 * the median of each figure is reported. Results go to bench/results/raw/fanout.md (`--update`:
 * bench/results/fanout.md, the committed figures; `--out PATH`: anywhere).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resultsFile } from '../results-file.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    events: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    size: { type: 'string', default: '100' },
    timeout: { type: 'string', default: '300' },
    out: { type: 'string' },
    update: { type: 'boolean', default: false },
    // For quick checks while developing: e.g. --only herald --modes full
    only: { type: 'string' },
    modes: { type: 'string', default: 'full,rate' },
    // Writes a V8 CPU profile of each server child to this folder (open it in Chrome DevTools).
    'cpu-prof': { type: 'string' },
  },
});
const SUBSCRIBERS = Number(values.subscribers);
const EVENTS = Number(values.events);
const RUNS = Number(values.runs);
const RATE = Number(values.rate);
const SIZE = Number(values.size);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const ALL_IMPLS = ['herald', 'better-sse'] as const;
type Impl = (typeof ALL_IMPLS)[number];
const IMPLS = ALL_IMPLS.filter((i) => values.only === undefined || values.only === i);

interface RunResult {
  received: number;
  lost: number;
  duplicates: number;
  wallMs: number;
  cpuMicros: number;
  userMicros: number;
}

function pinned(core: number, file: string, args: string[], flags: string[] = []): ChildProcess {
  const node = [process.execPath, ...flags, '--import', 'tsx', join(here, file), ...args];
  const [cmd, ...rest] = process.platform === 'linux' ? ['taskset', '-c', String(core), ...node] : node;
  return spawn(cmd!, rest, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function next(child: ChildProcess, type: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string }) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as unknown as Record<string, number>);
    };
    const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function run(impl: Impl, rate: number): Promise<RunResult> {
  const profile = values['cpu-prof'];
  const server = pinned(0, 'server.ts', [impl], profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []);
  const load = pinned(1, 'load.ts', []);
  try {
    const { port } = await next(server, 'ready');
    const subscribed = next(server, 'subscribed');
    server.send({ type: 'wait', subscribers: SUBSCRIBERS });
    load.send({ type: 'connect', port, subscribers: SUBSCRIBERS, events: EVENTS });
    await next(load, 'connected');
    await subscribed;
    // Let the opening bytes of every stream reach the load generator before the clock starts.
    await new Promise((r) => setTimeout(r, 200));
    const done = next(load, 'done');
    const start = performance.now();
    server.send({ type: 'publish', events: EVENTS, rate, size: SIZE });
    // A generous limit: on a busy machine the load generator itself may take minutes. A run that hits
    // it is reported with its missing deliveries counted as lost.
    const timeout = setTimeout(() => load.send({ type: 'report' }), TIMEOUT_MS);
    const result = await done;
    const wallMs = performance.now() - start;
    clearTimeout(timeout);
    const cpu = next(server, 'cpu');
    server.send({ type: 'stop' });
    const { micros, userMicros } = await cpu;
    return {
      received: result.received!,
      lost: result.lost!,
      duplicates: result.duplicates!,
      wallMs,
      cpuMicros: micros!,
      userMicros: userMicros!,
    };
  } finally {
    for (const child of [server, load]) {
      if (child.exitCode === null && child.signalCode === null) {
        // Children exit by themselves after 'stop' / 'done' (a profile is written on a clean exit).
        const exited = once(child, 'exit');
        const timer = setTimeout(() => child.kill(), 5000);
        await exited;
        clearTimeout(timer);
      }
    }
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface Summary {
  mode: string;
  impl: Impl;
  deliveriesPerSec: number;
  cpuMicrosPerDelivery: number;
  deliveriesPerCpuSec: number;
  lost: number;
  duplicates: number;
  runs: RunResult[];
}

const modes = [
  { key: 'full', name: 'full speed', rate: 0 },
  { key: 'rate', name: `${RATE} events/s`, rate: RATE },
].filter((m) => values.modes!.split(',').includes(m.key));
const summaries: Summary[] = [];
for (const mode of modes) {
  const results: Record<Impl, RunResult[]> = { herald: [], 'better-sse': [] };
  for (let r = 0; r < RUNS; r++) {
    for (const impl of IMPLS) {
      const result = await run(impl, mode.rate);
      results[impl].push(result);
      console.error(
        `${mode.name} ${impl} run ${r + 1}: ${result.received} deliveries in ${result.wallMs.toFixed(0)} ms, ` +
          `server CPU ${(result.cpuMicros / 1000).toFixed(0)} ms (user ${(result.userMicros / 1000).toFixed(0)} ms), lost ${result.lost}, duplicates ${result.duplicates}`,
      );
    }
  }
  for (const impl of IMPLS) {
    const rs = results[impl];
    summaries.push({
      mode: mode.name,
      impl,
      deliveriesPerSec: median(rs.map((x) => x.received / (x.wallMs / 1000))),
      cpuMicrosPerDelivery: median(rs.map((x) => x.cpuMicros / x.received)),
      deliveriesPerCpuSec: median(rs.map((x) => x.received / (x.cpuMicros / 1e6))),
      lost: rs.reduce((a, x) => a + x.lost, 0),
      duplicates: rs.reduce((a, x) => a + x.duplicates, 0),
      runs: rs,
    });
  }
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const rows: string[] = [
  '| mode | server | deliveries/s | server CPU µs/delivery | deliveries per CPU-second | vs better-sse (per CPU-s) | vs better-sse (per s) | lost | duplicated |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const s of summaries) {
  const base = summaries.find((b) => b.mode === s.mode && b.impl === 'better-sse') ?? s;
  rows.push(
    `| ${s.mode} | ${s.impl} | ${fmt(s.deliveriesPerSec)} | ${fmt(s.cpuMicrosPerDelivery, 3)} | ` +
      `${fmt(s.deliveriesPerCpuSec)} | ${fmt(s.deliveriesPerCpuSec / base.deliveriesPerCpuSec, 2)}x | ` +
      `${fmt(s.deliveriesPerSec / base.deliveriesPerSec, 2)}x | ${s.lost} | ${s.duplicates} |`,
  );
}
const table = rows.join('\n');
console.log(table);

const cpus = os.cpus();
const report = `# Fan-out benchmark

${SUBSCRIBERS.toLocaleString('en-US')} local subscribers x ${EVENTS.toLocaleString('en-US')} events of ${SIZE} bytes of data,
herald/server (\`Channel.broadcast\` of bytes encoded once) against better-sse ${betterSseVersion()}
(\`Channel.broadcast\`, identity serializer). Medians of ${RUNS} interleaved runs; lost and duplicated
are totals over all runs.

${table}

- **full speed**: the server publishes every event in one synchronous loop; **${RATE} events/s**: on a
  1 ms timer, publishing what the clock says is due (one event per event-loop turn when on time).
- **deliveries/s**: events received by all subscribers / wall time from the publish order to the last
  delivery. **CPU per delivery**: user+system CPU of the server process over the same span
  (\`process.cpuUsage()\`) / deliveries.
- Server pinned to core 0, load generator (raw \`net\` sockets, chunked decoding and \`id:\` counting)
  to core 1, HTTP/1.1 over loopback. On a busy machine the single-core load generator, not the
  server, sets the wall-clock pace (and a fixed-rate run then takes longer than its nominal
  duration): read deliveries/s as a lower bound and CPU per delivery as the server's cost. A
  subscriber that falls behind pushes back, its events queue, and herald then writes them in one
  buffer: the fixed-rate figures mix one-event writes with such batches.
- Server CPU includes the kernel's loopback TCP work done in the server's send calls (system time).

Machine: ${cpus.length} x ${cpus[0]?.model ?? 'unknown'}, Node ${process.version}, load average at the end
${os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join(' / ')} (a shared machine: wall-clock figures are noisier than CPU figures).
Run on ${new Date().toISOString().slice(0, 10)} with:

\`\`\`sh
npm run bench:fanout -- --subscribers ${SUBSCRIBERS} --events ${EVENTS} --runs ${RUNS} --rate ${RATE} --size ${SIZE}
\`\`\`
`;
const out = values.out ?? resultsFile('fanout.md');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, report);
console.error(`wrote ${out}`);

function betterSseVersion(): string {
  // better-sse does not export its package.json; read it next to its resolved entry point.
  const entry = createRequire(import.meta.url).resolve('better-sse');
  const pkg = join(dirname(entry), '..', 'package.json');
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}
