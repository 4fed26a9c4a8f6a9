/**
 * Publish benchmark: the publisher over a keep-alive pool against the same publisher opening one
 * connection per request (`Connection: close`), same hub stand-in, same requests, same concurrency.
 *
 * The stand-in runs in a child process pinned to CPU 0 and this process to CPU 1 (`taskset`), so
 * the two do not take turns on one core. Each mode runs `rounds` times, alternating, after a warm-up
 * of each; figures are over all rounds.
 *
 * Usage: npm run bench:publish [-- --requests 2000 --concurrency 16 --rounds 2 --update | --out PATH]
 * Writes bench/results/raw/publish.md; `--update` replaces the committed bench/results/publish.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createPublisher, encodeUpdateForm, type Publisher } from '../../src/publisher/index.js';
import { resultsFile } from '../results-file.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '500' },
    out: { type: 'string' },
    update: { type: 'boolean', default: false },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);
const warmup = Number(values.warmup);

type Mode = 'keep-alive' | 'close';

const DATA = JSON.stringify({ symbol: 'ACME', price: 12.5, at: '2026-01-01T00:00:00Z' });

interface Figures {
  mode: Mode;
  requests: number;
  seconds: number;
  latenciesMs: number[];
  /** TCP connections the stand-in accepted during the run. */
  connections: number;
}

/** Pins every thread of this process to one CPU; returns what happened, for the report. */
function pinSelf(cpu: number): string {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
    return `publisher pinned to CPU ${cpu}`;
  } catch {
    return 'taskset unavailable: publisher not pinned';
  }
}

async function startStub(cpu: number) {
  const node = [process.execPath, '--import', 'tsx', new URL('./hub-stub.ts', import.meta.url).pathname];
  let pinned = true;
  try {
    execFileSync('taskset', ['-c', String(cpu), 'true'], { stdio: 'ignore' });
  } catch {
    pinned = false;
  }
  const child = pinned
    ? spawn('taskset', ['-c', String(cpu), ...node], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(node[0]!, node.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const { port } = JSON.parse((await lines.next()).value as string) as { port: number };
  return {
    /** TCP connections the stand-in accepted so far. */
    async connections(): Promise<number> {
      child.stdin!.write('count\n');
      return (JSON.parse((await lines.next()).value as string) as { connections: number }).connections;
    },
    url: `http://127.0.0.1:${port}/.well-known/mercure`,
    note: pinned ? `hub stand-in pinned to CPU ${cpu}` : 'hub stand-in not pinned',
    async stop() {
      child.stdin!.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

/** Sends `count` publishes with `concurrency` in flight; records each one's latency. */
async function run(
  publisher: Publisher,
  mode: Mode,
  count: number,
  connections: () => Promise<number>,
): Promise<Figures> {
  const before = await connections();
  const latenciesMs: number[] = new Array(count);
  const data = DATA;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const start = performance.now();
      await publisher.publish({ topics: `https://example.com/prices/${i % 64}`, data });
      latenciesMs[i] = performance.now() - start;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { mode, requests: count, seconds, latenciesMs, connections: (await connections()) - before };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summarize(mode: Mode, runs: Figures[]) {
  const mine = runs.filter((r) => r.mode === mode);
  const total = mine.reduce((n, r) => n + r.requests, 0);
  const seconds = mine.reduce((s, r) => s + r.seconds, 0);
  const sorted = mine.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  const connections = mine.reduce((n, r) => n + r.connections, 0);
  return {
    mode,
    total,
    connections,
    rps: total / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

const selfNote = pinSelf(1);
const stub = await startStub(0);
const publishers: Record<Mode, Publisher> = {
  'keep-alive': createPublisher({ hubUrl: stub.url, token: 'bench', connections: concurrency }),
  close: createPublisher({ hubUrl: stub.url, token: 'bench', connections: concurrency, keepAlive: false }),
};
const bodyBytes = Buffer.byteLength(
  encodeUpdateForm({ topics: 'https://example.com/prices/10', data: DATA }),
);
const runs: Figures[] = [];
try {
  for (const mode of ['keep-alive', 'close'] as const)
    await run(publishers[mode], mode, warmup, stub.connections);
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['keep-alive', 'close'] as const)
      runs.push(await run(publishers[mode], mode, requests, stub.connections));
  }
} finally {
  await Promise.all(Object.values(publishers).map((p) => p.close()));
  await stub.stop();
}

const keep = summarize('keep-alive', runs);
const close = summarize('close', runs);
const row = (s: ReturnType<typeof summarize>) =>
  `| ${s.mode.padEnd(10)} | ${String(s.total).padStart(8)} | ${String(s.connections).padStart(15)} | ${s.rps.toFixed(0).padStart(10)} | ${s.p50.toFixed(2).padStart(8)} | ${s.p99.toFixed(2).padStart(8)} |`;
const table = [
  '| mode       | requests | new connections | requests/s | p50 (ms) | p99 (ms) |',
  '| ---------- | -------: | --------------: | ---------: | -------: | -------: |',
  row(keep),
  row(close),
].join('\n');
const ratio = `keep-alive / close: ${(keep.rps / close.rps).toFixed(2)}x requests/s, p50 ${(close.p50 / keep.p50).toFixed(2)}x lower, p99 ${(close.p99 / keep.p99).toFixed(2)}x lower`;
console.log(table);
console.log(ratio);

const report = `# Publish: keep-alive pool vs one connection per request

\`npm run bench:publish\` (bench/publish/index.ts). ${new Date().toISOString().slice(0, 16)}Z, Node ${process.version},
${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, load average ${loadavg()
  .map((l) => l.toFixed(1))
  .join(' ')} at the end (the machine is shared: absolute figures move with the load, the ratio less).

Setup: \`createPublisher\` (undici \`Pool\`, ${concurrency} connections) posting a ${bodyBytes}-byte form update to a
node:http stand-in that answers like a Mercure hub (parse form, check bearer and topic, 200 text/plain ID);
${stub.note}, ${selfNote}. ${concurrency} publishes in flight; ${warmup} warm-up requests per mode, then
${rounds} alternating rounds of ${requests} requests per mode. Latency is from \`publish()\` to its resolution;
"new connections" are those the stand-in accepted during the measured rounds (keep-alive opened its pool in the warm-up).

${table}

${ratio}.

Rerun: \`npm run bench:publish -- --requests ${requests} --concurrency ${concurrency} --rounds ${rounds}\`.
`;
const out = values.out ?? resultsFile('publish.md');
writeFileSync(out, report);
console.log(`wrote ${out}`);
