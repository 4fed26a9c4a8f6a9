/**
 * Conflation benchmark: 1,000 subscribers on a 50-key ticker at 1,000 updates/s, 100 of which read
 * at a tenth of the feed's byte rate, against the hub with `slowConsumerPolicy: 'conflate'` and with
 * `'close'`, interleaved. `npm run bench:conflation [-- --seconds 10 --runs 1]`; results in
 * bench/results/conflation.md.
 *
 * The hub (from dist/, with the publisher in-process) is pinned to core 0, the subscribers to core 1.
 * Slow subscribers read a fixed byte budget every 100 ms; staleness is sampled on each of those
 * ticks while the feed runs: the age of the newest update the subscriber has read (now minus its
 * scheduled publish time), i.e. how far behind the live feed its view is.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    slow: { type: 'string', default: '100' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    keys: { type: 'string', default: '50' },
    size: { type: 'string', default: '100' },
    runs: { type: 'string', default: '1' },
    grace: { type: 'string', default: '3' },
    // The hub's per-subscriber budget. Below the default 1 MiB so that a 10 s run takes the slow
    // subscribers past it (the kernel's socket buffers take the first few hundred KiB).
    'max-queued': { type: 'string', default: String(256 * 1024) },
    out: { type: 'string', default: join(here, '..', 'results', 'conflation.md') },
  },
});
const SUBSCRIBERS = Number(values.subscribers);
const SLOW = Number(values.slow);
const RATE = Number(values.rate);
const EVENTS = RATE * Number(values.seconds);
const KEYS = Number(values.keys);
const SIZE = Number(values.size);
const RUNS = Number(values.runs);
const GRACE_MS = Number(values.grace) * 1000;
// id: urn:uuid:<36>\n + data: <size>\n + \n
const EVENT_BYTES = SIZE + 58;
const SLOW_BYTES_PER_SECOND = (RATE * EVENT_BYTES) / 10;

type Msg = Record<string, any>;

function child(core: number, file: string, args: string[], flags: string[] = []): ChildProcess {
  const node = [process.execPath, ...flags, '--import', 'tsx', join(here, file), ...args];
  const [cmd, ...rest] = process.platform === 'linux' ? ['taskset', '-c', String(core), ...node] : node;
  return spawn(cmd!, rest, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function next(c: ChildProcess, type: string): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Msg) => {
      if (m.type !== type) return;
      c.off('message', onMessage);
      c.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before '${type}'`));
    c.on('message', onMessage);
    c.once('exit', onExit);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Config {
  label: string;
  policy: 'close' | 'conflate';
  /** Added to the slow subscribers' subscribe query. */
  slowQuery: string;
}

const CONFIGS: Config[] = [
  { label: 'conflate', policy: 'conflate', slowQuery: '' },
  { label: 'close', policy: 'close', slowQuery: '' },
  { label: 'conflate, slow ones with maxRate=1', policy: 'conflate', slowQuery: '&maxRate=1' },
];

async function run({ label, policy, slowQuery }: Config): Promise<Msg> {
  const hub = child(0, 'hub.ts', [policy, String(values['max-queued'])], ['--expose-gc']);
  const clients = child(1, 'clients.ts', []);
  try {
    const { port } = await next(hub, 'ready');
    hub.send({ type: 'stats' });
    const empty = await next(hub, 'stats');
    clients.send({
      type: 'connect',
      port,
      fast: SUBSCRIBERS - SLOW,
      slow: SLOW,
      slowBytesPerSecond: SLOW_BYTES_PER_SECOND,
      slowQuery,
    });
    const connected = await next(clients, 'connected');
    await sleep(1000);
    hub.send({ type: 'stats' });
    const idle = await next(hub, 'stats');
    clients.send({ type: 'start' });
    hub.send({ type: 'publish', events: EVENTS, rate: RATE, size: SIZE, keys: KEYS });
    const published = await next(hub, 'published');
    clients.send({ type: 'stop' });
    await sleep(GRACE_MS);
    hub.send({ type: 'stats' });
    const end = await next(hub, 'stats');
    clients.send({ type: 'report' });
    const report = await next(clients, 'report');
    clients.send({ type: 'close' });
    const result = { policy: label, connected, empty, idle, published, end, report };
    console.log(JSON.stringify(result));
    return result;
  } finally {
    hub.kill();
    clients.kill();
  }
}

const results: Msg[] = [];
for (let r = 0; r < RUNS; r++) for (const config of CONFIGS) results.push(await run(config));

const ms = (us: number) => (Number.isFinite(us) ? (us / 1000).toFixed(us < 10_000 ? 1 : 0) : 'n/a');
const kb = (b: number) => (b / 1024).toFixed(1);
const rows = results.map((x) => {
  const r = x.report;
  const fastExpected = r.fastCount * EVENTS;
  const heapGrowth =
    x.published.memory.heapUsed +
    x.published.memory.arrayBuffers -
    (x.idle.memory.heapUsed + x.idle.memory.arrayBuffers);
  const idlePer =
    (x.idle.memory.heapUsed +
      x.idle.memory.arrayBuffers -
      x.empty.memory.heapUsed -
      x.empty.memory.arrayBuffers) /
    x.connected.made;
  return `| ${x.policy} | ${r.slowDisconnected} of ${r.slowCount} | ${ms(r.staleness.p50)} / ${ms(r.staleness.p99)} | ${kb(r.slowBytes)} | ${Math.round(r.slowReceived)} | ${kb(x.end.meanSlowQueued / r.slowCount)} / ${kb(x.end.maxSlowQueued)} | ${kb(heapGrowth / Math.max(1, r.slowCount))} | ${kb(idlePer)} | ${r.fastReceived.toLocaleString('en-US')} of ${fastExpected.toLocaleString('en-US')} | ${r.fastDisconnected} | ${ms(r.fastLatency.p50)} / ${ms(r.fastLatency.p99)} | ${x.end.conflated.toLocaleString('en-US')} | ${x.end.slowDropped} | ${(x.published.cpuMicros / 1000).toFixed(0)} |`;
});
const load = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' / ');
const md = `# Conflation benchmark

${SUBSCRIBERS.toLocaleString('en-US')} subscribers on a ${KEYS}-key ticker (\`herald.key\` = symbol), ${RATE.toLocaleString('en-US')} updates/s for ${values.seconds} s
(${EVENTS.toLocaleString('en-US')} updates of ${SIZE} bytes of data), ${SLOW} of them reading at a tenth of the feed's byte rate
(${kb(SLOW_BYTES_PER_SECOND)} KiB/s, in 100 ms steps); the hub with \`slowConsumerPolicy: 'conflate'\` and with
\`'close'\` (\`maxQueuedBytes\` ${kb(Number(values['max-queued']))} KiB), ${RUNS} run(s) each, interleaved. Hub from \`dist/\` on core 0 with
the publisher in-process (\`hub.publish\`), subscribers (raw sockets) on core 1. Subscribers do not reconnect.

| policy | slow disconnected | slow staleness p50 / p99 (ms) | slow KiB received (each) | slow updates received (each) | hub queue per slow, mean / max (KiB) | server heap growth per slow (KiB) | server memory per idle subscriber (KiB) | fast deliveries | fast disconnected | fast latency p50 / p99 (ms) | updates conflated | slow closed | server CPU during publish (ms) |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

- **staleness**: sampled every 100 ms on each slow subscriber while the feed runs: now minus the
  scheduled publish time of the newest update it has read. Under \`close\` a slow subscriber is
  sampled only while connected (after that it shows nothing newer at all).
- **hub queue per slow**: the stream's \`queuedBytes\` (its queue plus what its socket held past
  the high-water mark when it pushed back), sampled 10 times a second; the bytes are the shared
  encoded buffers, so this is an upper bound of what the subscriber owns.
- **server heap growth per slow**: heap + array buffers of the hub process at the end of the feed
  minus before it, divided by the slow subscribers (the fast ones hold nothing queued).
- Machine: ${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, Node ${process.version}, load average at the end ${load} (shared machine).

\`\`\`sh
npm run build && npm run bench:conflation -- --seconds ${values.seconds} --runs ${RUNS} --max-queued ${values['max-queued']}
\`\`\`
`;
writeFileSync(values.out!, md);
console.log(md);
