/**
 * `npm run bench`: the Herald hub side by side with nchan, better-sse and Pushpin, under the same
 * load generator, on one machine.
 *
 *   npm run bench                       every scenario, 3 runs each (under 20 minutes)
 *   npm run bench -- --quick            a small subset, 1 run, results under bench/results/raw/
 *   npm run bench -- --only herald,nchan --scenarios fanout-1k-100 --runs 1
 *   npm run bench -- --only transports  the hub over SSE, WebSocket and long polling, and a plain
 *                                       ws server, on the 1k fan-out cases only (a run of its own:
 *                                       a full run leaves these systems out)
 *   npm run bench -- --node 24          the Node systems on the newest Node 24 (see --node below)
 *
 * Each system runs pinned to core 0 and the load generator (subscriber processes and the publisher)
 * to core 1 (`taskset`). Systems are interleaved within each scenario (herald, nchan, better-sse,
 * pushpin, herald, ...), and the median of each figure over the runs is reported with the ratios of
 * the hub's figures to each peer's. Writes bench/results/bench.{json,md,svg}, and
 * bench/results/transports.{json,md,svg} for the transport comparison (the hub's WebSocket and
 * long-polling paths and a plain `ws` server run the 1k fan-out cases beside the hub's SSE path).
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LatencyHistogram } from './load/histogram.js';
import { treeCpu, treeRssBytes } from './load/proc-tree.js';
import { writeReport } from './load/report.js';
import { KEEP_UP_SHARE, type RunResult, type Summary } from './load/results.js';
import { type Scenario, scenarios } from './load/scenarios.js';
import {
  type PublisherTimes,
  type ReceiveTimes,
  type StageQuantiles,
  type Stages,
  stages,
} from './load/stages.js';
import { TRANSPORT_SCENARIOS, writeTransportsReport } from './load/transports-report.js';
import { betterSse } from './peers/better-sse.js';
import { herald, heraldBaseline, heraldNoDelay, heraldPoll, heraldWs } from './peers/herald.js';
import { nchan } from './peers/nchan.js';
import type { Peer, RunningPeer } from './peers/peer.js';
import { RAW, ROOT, spawnPinned, stopProcess } from './peers/process.js';
import { pushpin } from './peers/pushpin.js';
import { wsBroadcast } from './peers/ws-broadcast.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    scenarios: { type: 'string' },
    out: { type: 'string' },
    // Writes a V8 CPU profile of the hub's processes to this folder (open it in Chrome DevTools).
    'cpu-prof': { type: 'string' },
    // Writes each fan-out run's per-event times (the publisher's and every generator's, as
    // bench/load/stages.ts reads them) to DIR/<system>-<scenario>-<run>.json, to see when in a run
    // the late events fall.
    'per-event': { type: 'string' },
    // The subscriber side of the load generator: `c` (bench/load/c/subscribers.c, built with the
    // machine's cc; the default when cc exists, event streams only) or `node`
    // (bench/load/subscribers.ts; the default of `--only transports`).
    generator: { type: 'string' },
    // The Node binary the hub and the other Node systems run on: a path, or a line number (22, 24,
    // 26) for the newest binary of that line fetched into .cache/ by scripts/node-lines.sh.
    node: { type: 'string' },
    // Another checkout whose built hub (DIR/dist, built there beforehand) runs beside this one as
    // `herald-base`: before/after figures of a change from one run.
    baseline: { type: 'string' },
  },
});
const QUICK = values.quick!;
const NODE = systemsNode(values.node);
/** Runs per case: --runs, else 1 in a quick run, else each scenario's own count. */
const RUNS = values.runs !== undefined ? Number(values.runs) : QUICK ? 1 : undefined;
const OUT = values.out ?? (QUICK ? RAW : join(ROOT, 'bench', 'results'));
const SERVER_CORE = 0;
const LOAD_CORE = 1;
/** Each generator process stays under the 20,000 open-files limit with room to spare. */
const SOCKETS_PER_GENERATOR = 18_000;
const EVENT_BYTES = 100;

const ALL: Peer[] = [
  herald,
  ...(values.baseline ? [heraldBaseline(values.baseline)] : []),
  nchan,
  betterSse,
  pushpin,
  heraldNoDelay,
  heraldWs,
  heraldPoll,
  wsBroadcast,
];
/** `--only transports`: the transport comparison alone. */
const TRANSPORTS_ONLY = values.only === 'transports';
const wanted = TRANSPORTS_ONLY
  ? ['herald', ...ALL.filter((p) => p.suite === 'transports').map((p) => p.name)]
  : values.only?.split(',');
const peers: Peer[] = [];
const skipped: { name: string; why: string }[] = [];
for (const peer of ALL) {
  if (wanted && !wanted.includes(peer.name)) continue;
  // The transport comparison has its own run and report (`--only transports`).
  if (!wanted && peer.suite === 'transports') continue;
  const missing = peer.missing() ?? (wanted ? undefined : peer.optIn);
  if (missing) {
    skipped.push({ name: peer.name, why: missing });
    console.error(`${peer.name}: not available, skipped; ${missing}`);
  } else peers.push(peer);
}
// The hub runs from dist/, as users run it: build the current sources first.
if (peers.includes(herald))
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
const chosen = scenarios(QUICK).filter(
  (s) =>
    (!values.scenarios || values.scenarios.split(',').includes(s.key)) &&
    (!TRANSPORTS_ONLY || TRANSPORT_SCENARIOS.includes(s.key)),
);
/** Whether a peer runs a scenario: the transport comparison's peers run its cases only. */
const runsIn = (peer: Peer, scenario: Scenario): boolean =>
  peer.suite !== 'transports' || TRANSPORT_SCENARIOS.includes(scenario.key);

/** `--node`: a path, a line number (its newest build in .cache/, from scripts/node-lines.sh), or this Node. */
function systemsNode(wanted: string | undefined): string {
  if (wanted === undefined) return process.execPath;
  if (!/^\d+$/.test(wanted)) return wanted;
  const cache = join(ROOT, '.cache');
  const builds = existsSync(cache)
    ? readdirSync(cache)
        .filter((d) => d.startsWith(`node-${wanted}.`) && existsSync(join(cache, d, 'bin', 'node')))
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    : [];
  const newest = builds.at(-1);
  if (newest === undefined)
    throw new Error(`no Node ${wanted} in .cache/: run NODE_LINES=${wanted} scripts/node-lines.sh first`);
  return join(cache, newest, 'bin', 'node');
}

function next<T>(child: ChildProcess, type: string, timeoutMs = 120_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no '${type}' within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: { type: string }): void => {
      if (m.type === type) done(undefined, m as T);
    };
    const onExit = (code: number | null): void =>
      done(new Error(`generator exited (${code}) before '${type}'`));
    const done = (error?: Error, value?: T): void => {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tsxChild = (file: string, log: string, args: string[] = []): ChildProcess =>
  spawnPinned(
    LOAD_CORE,
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'load', file), ...args],
    log,
    {
      stdio: 'ipc',
    },
  );

/**
 * Compiles the C subscriber side into .cache/bench/ (gitignored) when it is asked for or by default
 * when `cc` exists; returns its path, or undefined for the Node generator.
 */
function buildCGenerator(): string | undefined {
  // The C generator speaks event streams only: the transport comparison (WebSocket, long polling)
  // runs every system on the Node one, so that they share a generator.
  const wanted = values.generator ?? (TRANSPORTS_ONLY ? 'node' : 'c');
  if (wanted === 'c' && TRANSPORTS_ONLY)
    throw new Error(
      '--generator c reads event streams only: the transport comparison needs --generator node',
    );
  if (wanted === 'node') return undefined;
  if (wanted !== 'c') throw new Error(`--generator must be c or node (got ${JSON.stringify(wanted)})`);
  const out = join(ROOT, '.cache', 'bench', 'sse-subscribers');
  mkdirSync(join(ROOT, '.cache', 'bench'), { recursive: true });
  try {
    execFileSync('cc', ['-O2', '-o', out, join(ROOT, 'bench', 'load', 'c', 'subscribers.c'), '-lm'], {
      stdio: 'inherit',
    });
  } catch (error) {
    if (values.generator === 'c') throw error;
    console.error(`cc failed (${(error as Error).message}): the Node generator is used`);
    return undefined;
  }
  return out;
}
const C_GENERATOR = buildCGenerator();
const generatorChild = (): ChildProcess =>
  C_GENERATOR === undefined
    ? tsxChild('subscribers.ts', 'generator')
    : tsxChild('c-subscribers.ts', 'generator', [C_GENERATOR]);

let runCounter = 0;
/** What to stop if the run is interrupted. */
const live = new Set<{ stop(): Promise<void> }>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping ${live.size} process group(s)`);
    void Promise.allSettled([...live].map((l) => l.stop())).then(() => process.exit(130));
  });
}

async function runOnce(peer: Peer, scenario: Scenario, run: number): Promise<RunResult> {
  const workers = peer.scales ? scenario.workers : 1;
  const result: RunResult = {
    scenario: scenario.key,
    system: peer.name,
    run,
    workers,
    subscribers: scenario.subscribers,
    made: 0,
    failed: 0,
  };
  const scratch = join(os.tmpdir(), `herald-bench-${process.pid}`, `${peer.name}-${++runCounter}`);
  mkdirSync(scratch, { recursive: true });
  const generators: ChildProcess[] = [];
  let publisher: ChildProcess | undefined;
  let running: RunningPeer | undefined;
  try {
    running = await peer.start({
      core: SERVER_CORE,
      workers,
      scratch,
      node: NODE,
      ...(values['cpu-prof'] && { cpuProfileDir: values['cpu-prof'] }),
    });
    live.add(running);
    const count = Math.ceil(scenario.subscribers / SOCKETS_PER_GENERATOR);
    for (let g = 0; g < count; g++) generators.push(generatorChild());
    publisher = tsxChild('publisher.ts', 'publisher');
    for (const child of [...generators, publisher]) {
      const handle = { stop: () => stopProcess(child) };
      live.add(handle);
      child.once('exit', () => live.delete(handle));
    }
    await sleep(QUICK ? 300 : 1000);
    const roots = running.pids;
    result.rssBeforeBytes = treeRssBytes(roots);

    // Connect: each generator its share, from its own source address (127.0.<run>.<generator + 2>).
    const path = running.subscribePath(scenario.topics);
    const connected = generators.map((child, g) => {
      const first = g * SOCKETS_PER_GENERATOR;
      const share = Math.min(SOCKETS_PER_GENERATOR, scenario.subscribers - first);
      const done = next<{ made: number; failed: number }>(child, 'connected', 300_000);
      child.send({
        type: 'connect',
        host: running!.host,
        port: running!.port,
        paths: [path],
        firstIndex: first,
        count: share,
        sourceAddress: `127.0.${1 + (runCounter % 250)}.${g + 2}`,
        protocol: running!.protocol,
      });
      return done;
    });
    const connectStart = performance.now();
    for (const c of await Promise.all(connected)) {
      result.made += c.made;
      result.failed += c.failed;
    }
    result.connectMs = performance.now() - connectStart;
    // Let the server settle (first bytes written, buffers released) before reading its memory.
    await sleep(scenario.subscribers >= 10_000 ? 2000 : 1000);
    result.rssAfterBytes = treeRssBytes(roots);
    if (result.made > 0)
      result.memoryPerSubscriberBytes = (result.rssAfterBytes - result.rssBeforeBytes) / result.made;

    if (scenario.throughput) {
      const { warmup = 0, ...load } = scenario.throughput;
      const publishAll = (requests: number) => {
        const done = next<{ ok: number; errors: number; wallMs: number }>(publisher!, 'throughput', 300_000);
        publisher!.send({
          type: 'throughput',
          target: running!.publishTarget,
          size: EVENT_BYTES,
          ...load,
          requests,
        });
        return done;
      };
      // Warm-up, not counted: a JIT compiles the hot path in its first few thousand requests (on
      // threads of its own, whose CPU the process's counts), which a hub that runs for days pays
      // once. Its CPU per publish is logged beside the measured one.
      if (warmup > 0) {
        const w0 = treeCpu(roots);
        const w = await publishAll(warmup);
        const w1 = treeCpu(roots);
        result.throughputWarmupCpuMicrosPerPublish =
          ((w1.user + w1.system - w0.user - w0.system) * 1e6) / Math.max(1, w.ok);
      }
      const cpu0 = treeCpu(roots);
      const t = await publishAll(load.requests);
      const cpu1 = treeCpu(roots);
      const cpu = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
      result.throughput = {
        ok: t.ok,
        errors: t.errors,
        perSecond: t.ok / (t.wallMs / 1000),
        cpuMicrosPerPublish: (cpu * 1e6) / t.ok,
        userCpuShare: cpu > 0 ? (cpu1.user - cpu0.user) / cpu : 0,
      };
    } else if (scenario.events > 0) {
      const complete = generators.map((child) => {
        const c = next<object>(child, 'complete', 3_600_000);
        child.send({ type: 'expect', events: scenario.events });
        return c;
      });
      const cpu0 = treeCpu(roots);
      const generatorPids = generators.map((c) => c.pid!);
      const generatorCpu0 = treeCpu(generatorPids);
      const published = next<{ firstDueUs: number; errors: number; stages?: PublisherTimes }>(
        publisher,
        'published',
        3_600_000,
      );
      if (scenario.batch) {
        if (running.batchTarget === undefined) throw new Error(`${peer.name} has no batch publishing`);
        publisher.send({
          type: 'batch',
          target: running.batchTarget,
          events: scenario.events,
          rate: scenario.rate,
          size: EVENT_BYTES,
          topics: scenario.subscribers,
        });
      } else {
        publisher.send({
          type: 'publish',
          target: running.publishTarget,
          events: scenario.events,
          rate: scenario.rate,
          size: EVENT_BYTES,
        });
      }
      const pub = await published;
      // The last deliveries may lag: wait for every subscriber to have the last event, or the grace.
      let timedOut = false;
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(complete),
        new Promise<void>((resolve) => {
          grace = setTimeout(() => {
            timedOut = true;
            resolve();
          }, scenario.graceS * 1000);
        }),
      ]);
      // Cleared, or the last case's grace would hold the finished run open.
      clearTimeout(grace);
      const cpu1 = treeCpu(roots);
      const generatorCpu1 = treeCpu(generatorPids);
      const user = cpu1.user - cpu0.user;
      const cpu = user + cpu1.system - cpu0.system;
      const generatorCpu =
        generatorCpu1.user + generatorCpu1.system - generatorCpu0.user - generatorCpu0.system;
      const histogram = new LatencyHistogram();
      let received = 0;
      let lost = 0;
      let duplicates = 0;
      let lastUs = 0;
      const receiveTimes: ReceiveTimes[] = [];
      for (const child of generators) {
        const r = next<{
          received: number;
          lost: number;
          duplicates: number;
          lastUs: number;
          histogram: { buckets: [number, number][]; maxUs: number };
          stages?: ReceiveTimes;
        }>(child, 'report');
        child.send({ type: 'report' });
        const x = await r;
        received += x.received;
        lost += x.lost;
        duplicates += x.duplicates;
        lastUs = Math.max(lastUs, x.lastUs);
        histogram.add(x.histogram);
        if (x.stages) receiveTimes.push(x.stages);
      }
      const spanS = Math.max(1e-6, (lastUs - pub.firstDueUs) / 1e6);
      const perEvent = values['per-event'];
      if (perEvent !== undefined) {
        mkdirSync(perEvent, { recursive: true });
        writeFileSync(
          join(perEvent, `${peer.name}-${scenario.key}-${run}.json`),
          JSON.stringify({ publisher: pub.stages, generators: receiveTimes }),
        );
      }
      const deliveriesPerSecond = received / Math.max(1e-6, (lastUs - pub.firstDueUs) / 1e6);
      const offeredPerSecond = result.made * scenario.rate;
      result.fanout = {
        offeredPerSecond,
        keptUp: !timedOut && lost === 0 && deliveriesPerSecond >= KEEP_UP_SHARE * offeredPerSecond,
        published: scenario.events - pub.errors,
        publishErrors: pub.errors,
        expected: scenario.events * result.made,
        received,
        lost,
        duplicates,
        complete: !timedOut,
        deliveriesPerSecond,
        cpuMicrosPerDelivery: received > 0 ? (cpu * 1e6) / received : Number.NaN,
        userCpuShare: cpu > 0 ? user / cpu : Number.NaN,
        generatorCoreShare: generatorCpu / spanS,
        serverCoreShare: cpu / spanS,
        windowUs: { from: pub.firstDueUs, to: lastUs },
        stages: stages(pub.stages, receiveTimes),
        latencyMs: {
          p50: histogram.quantileUs(0.5) / 1000,
          p90: histogram.quantileUs(0.9) / 1000,
          p99: histogram.quantileUs(0.99) / 1000,
          max: histogram.maxUs / 1000,
        },
      };
    }
  } catch (error) {
    result.error = (error as Error).message;
  } finally {
    for (const child of generators) {
      if (child.connected) child.send({ type: 'close' });
    }
    if (publisher?.connected) publisher.disconnect();
    if (running) {
      await running.stop().catch(() => undefined);
      live.delete(running);
    }
    await Promise.all([...generators, ...(publisher ? [publisher] : [])].map((c) => stopProcess(c)));
    rmSync(scratch, { recursive: true, force: true });
  }
  return result;
}

function line(r: RunResult): string {
  const parts = [`${r.scenario} ${r.system} #${r.run}:`];
  if (r.error) parts.push(`ERROR ${r.error}`);
  if (r.subscribers) parts.push(`${r.made}/${r.subscribers} connected (${r.failed} failed)`);
  if (r.memoryPerSubscriberBytes !== undefined)
    parts.push(`${(r.memoryPerSubscriberBytes / 1024).toFixed(1)} KB/sub`);
  if (r.fanout) {
    const f = r.fanout;
    parts.push(
      `${f.received}/${f.expected} events, lost ${f.lost}, dup ${f.duplicates}, ${Math.round(f.deliveriesPerSecond)}/s,`,
      `p50 ${f.latencyMs.p50.toFixed(1)} p99 ${f.latencyMs.p99.toFixed(1)} max ${f.latencyMs.max.toFixed(1)} ms,`,
      `${f.cpuMicrosPerDelivery.toFixed(2)} µs CPU/delivery (${Math.round(f.userCpuShare * 100)}% user),`,
      `generator at ${Math.round(f.generatorCoreShare * 100)}% of its core${f.complete ? '' : ' (TIMED OUT)'}`,
      f.keptUp ? 'kept up' : `BEHIND the offered ${Math.round(f.offeredPerSecond)}/s`,
    );
  }
  if (r.throughput) {
    const t = r.throughput;
    parts.push(
      `${Math.round(t.perSecond)} publishes/s, ${t.cpuMicrosPerPublish.toFixed(0)} µs CPU/publish (${Math.round(t.userCpuShare * 100)}% user), ${t.errors} errors`,
      ...(r.throughputWarmupCpuMicrosPerPublish !== undefined
        ? [`(warm-up: ${r.throughputWarmupCpuMicrosPerPublish.toFixed(0)} µs CPU/publish)`]
        : []),
    );
  }
  return parts.join(' ');
}

const median = (xs: number[]): number | undefined => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Each stage's p50 and p99: the medians over the runs that measured it. */
function summarizeStages(runs: (Stages | undefined)[]): Stages | undefined {
  const out: Stages = {};
  for (const key of ['pacingLagMs', 'publishRoundTripMs', 'firstReceiveMs', 'spreadMs'] as const) {
    const qs = runs.map((r) => r?.[key]).filter((q): q is StageQuantiles => q !== undefined);
    const p50 = median(qs.map((q) => q.p50));
    const p99 = median(qs.map((q) => q.p99));
    if (p50 !== undefined && p99 !== undefined) out[key] = { p50, p99 };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** In a paced case, the runs in which the system fell behind the offered load (errors included). */
function behind(scenario: Scenario, rs: RunResult[]): Pick<Summary, 'behind' | 'behindDeliveriesPerSecond'> {
  if (!scenario.paced) return { behind: 0 };
  const late = rs.filter((r) => r.error !== undefined || !r.fanout?.keptUp);
  const rates = late.map((r) => r.fanout?.deliveriesPerSecond ?? 0);
  return {
    behind: late.length,
    behindDeliveriesPerSecond: rates.length > 0 ? Math.min(...rates) : undefined,
  };
}

function summarize(results: RunResult[]): Summary[] {
  const out: Summary[] = [];
  for (const scenario of chosen) {
    for (const peer of peers) {
      const rs = results.filter((r) => r.scenario === scenario.key && r.system === peer.name);
      if (rs.length === 0) continue;
      const ok = rs.filter((r) => !r.error);
      const m = (f: (r: RunResult) => number | undefined) =>
        median(ok.map(f).filter((x): x is number => x !== undefined));
      out.push({
        scenario: scenario.key,
        system: peer.name,
        runs: rs.length,
        errors: rs.filter((r) => r.error).map((r) => r.error!),
        workers: rs[0]!.workers,
        made: m((r) => r.made),
        failed: rs.reduce((a, r) => a + r.failed, 0),
        memoryPerSubscriberBytes: m((r) => r.memoryPerSubscriberBytes),
        deliveriesPerSecond: m((r) => r.fanout?.deliveriesPerSecond),
        cpuMicrosPerDelivery: m((r) => r.fanout?.cpuMicrosPerDelivery),
        userCpuShare: m((r) => r.fanout?.userCpuShare),
        p50Ms: m((r) => r.fanout?.latencyMs.p50),
        p90Ms: m((r) => r.fanout?.latencyMs.p90),
        p99Ms: m((r) => r.fanout?.latencyMs.p99),
        maxMs: m((r) => r.fanout?.latencyMs.max),
        lost: rs.reduce((a, r) => a + (r.fanout?.lost ?? 0), 0),
        duplicates: rs.reduce((a, r) => a + (r.fanout?.duplicates ?? 0), 0),
        incomplete: rs.filter((r) => r.fanout && !r.fanout.complete).length,
        ...behind(scenario, rs),
        publishesPerSecond: m((r) => r.throughput?.perSecond),
        cpuMicrosPerPublish: m((r) => r.throughput?.cpuMicrosPerPublish),
        serverCoreShare: m((r) => r.fanout?.serverCoreShare),
        stages: summarizeStages(ok.map((r) => r.fanout?.stages)),
        generatorCoreShareMax: ok.some((r) => r.fanout)
          ? Math.max(...ok.map((r) => r.fanout?.generatorCoreShare ?? 0))
          : undefined,
      });
    }
  }
  return out;
}

const started = new Date();
const LOAD_AT_START = os.loadavg();
const results: RunResult[] = [];
const notRun: { scenario: string; system: string; why: string }[] = [];
for (const scenario of chosen) {
  for (let run = 1; run <= (RUNS ?? scenario.runs); run++) {
    for (const peer of peers) {
      if (!runsIn(peer, scenario)) continue;
      const workers = peer.scales ? scenario.workers : 1;
      if (scenario.batch && peer.name !== 'herald' && peer.name !== 'herald-base') {
        if (run === 1) {
          notRun.push({ scenario: scenario.key, system: peer.name, why: 'has no batch publishing' });
          console.error(`${scenario.key} ${peer.name}: skipped, no batch publishing`);
        }
        continue;
      }
      if (scenario.subscribers > peer.capacity(workers)) {
        if (run === 1) {
          const why = `holds at most ~${peer.capacity(workers).toLocaleString('en-US')} subscribers (${workers} process${workers > 1 ? 'es' : ''})`;
          notRun.push({ scenario: scenario.key, system: peer.name, why });
          console.error(`${scenario.key} ${peer.name}: skipped, ${why}`);
        }
        continue;
      }
      const r = await runOnce(peer, scenario, run);
      results.push(r);
      console.error(line(r));
      report();
    }
  }
}
/** Writes the report of the runs so far: an interrupted run still leaves its figures. */
function report(): void {
  const load = os.loadavg();
  const all = {
    quick: QUICK,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    runs: RUNS ?? Math.max(...chosen.map((s) => s.runs)),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      systemsNode: execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim(),
      loadAverageAtStart: LOAD_AT_START,
      loadAverageAtEnd: load,
      kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
    },
    versions: Object.fromEntries(peers.map((p) => [p.name, p.version()])),
    skipped,
    notRun,
    scenarios: chosen,
    summaries: summarize(results),
    results,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  };
  const inSuite = (system: string) => ALL.find((p) => p.name === system)?.suite === 'transports';
  if (peers.some((p) => p.suite === 'transports')) {
    writeTransportsReport(OUT, {
      ...all,
      scenarios: all.scenarios.filter((s) => TRANSPORT_SCENARIOS.includes(s.key)),
      summaries: all.summaries.filter((s) => TRANSPORT_SCENARIOS.includes(s.scenario)),
      results: all.results.filter((r) => TRANSPORT_SCENARIOS.includes(r.scenario)),
    });
  }
  // The main report compares the hub with its SSE peers; the transport cases have their own.
  if (!TRANSPORTS_ONLY) {
    writeReport(OUT, {
      ...all,
      versions: Object.fromEntries(Object.entries(all.versions).filter(([name]) => !inSuite(name))),
      summaries: all.summaries.filter((s) => !inSuite(s.system)),
      results: all.results.filter((r) => !inSuite(r.system)),
    });
  }
}
report();
const finished = new Date();
rmSync(join(os.tmpdir(), `herald-bench-${process.pid}`), { recursive: true, force: true });
console.error(
  `done in ${((finished.getTime() - started.getTime()) / 60_000).toFixed(1)} min; results in ${OUT}`,
);
