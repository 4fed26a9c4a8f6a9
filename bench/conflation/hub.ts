/**
 * The server side of the conflation benchmark: a hub from dist/ (as users run it) with the policy
 * under test, and the ticker publisher in the same process (`hub.publish`, so the publish path adds
 * no HTTP client to the machine's load). Driven over IPC by index.ts:
 *   -> ready {port}
 *   <- publish {events, rate, size, keys}  -> published {firstDueUs, cpuMicros, memory}
 *   <- stats                               -> stats {memory, connections, slowQueued, ...}
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { payload } from '../load/payload.js';

const policy = process.argv[2] as 'close' | 'conflate';
const { createHub } = (await import(
  new URL('../../dist/hub/index.js', import.meta.url).href
)) as typeof import('../../src/hub/index.js');
const maxQueuedBytes = Number(process.argv[3]);
const hub = createHub({
  anonymous: true,
  slowConsumerPolicy: policy,
  maxQueuedBytes,
  jwt: { key: 'bench-key-0123456789abcdef' },
});
const server = http.createServer((req, res) => hub.handle(req, res));
server.listen(0, '127.0.0.1');
await once(server, 'listening');

const send = (m: object): void => void process.send!(m);
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
const gc = (globalThis as { gc?: () => void }).gc;
const memory = () => {
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
};

/** The streams of subscribers that also subscribed to the `slow` marker topic. */
function slowStreams() {
  const registry = (
    hub as unknown as {
      registry: {
        values(): Iterable<{ selectors: { source: string }[]; stream: { queuedBytes: number } | null }>;
      };
    }
  ).registry;
  const out: { queuedBytes: number }[] = [];
  for (const s of registry.values())
    if (s.stream && s.selectors.some((x) => x.source === 'slow')) out.push(s.stream);
  return out;
}

let maxSlowQueued = 0;
let sumSlowQueuedSamples = 0;
let samples = 0;

function sample(): void {
  let total = 0;
  for (const s of slowStreams()) {
    total += s.queuedBytes;
    if (s.queuedBytes > maxSlowQueued) maxSlowQueued = s.queuedBytes;
  }
  sumSlowQueuedSamples += total;
  samples++;
}

async function publish(events: number, rate: number, size: number, keys: number): Promise<void> {
  const intervalUs = 1e6 / rate;
  const firstDueUs = nowUs() + 2000;
  const cpu = process.cpuUsage();
  let seq = 0;
  let nextSample = 0;
  while (seq < events) {
    // Publish what the schedule says is due, then yield to the event loop (sends, reads).
    const now = nowUs();
    while (seq < events && firstDueUs + seq * intervalUs <= now) {
      const due = Math.round(firstDueUs + seq * intervalUs);
      void hub.publish({ topics: ['ticker'], key: `S${seq % keys}`, data: payload(seq, due, size) });
      seq++;
    }
    if (seq >= nextSample) {
      sample();
      nextSample += rate / 10;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const used = process.cpuUsage(cpu);
  send({ type: 'published', firstDueUs, cpuMicros: used.user + used.system, memory: memory() });
}

process.on('message', (m: { type: string; events: number; rate: number; size: number; keys: number }) => {
  if (m.type === 'publish') void publish(m.events, m.rate, m.size, m.keys);
  else if (m.type === 'stats') {
    send({
      type: 'stats',
      memory: memory(),
      connections: hub.metrics.connections,
      slowDropped: hub.metrics.slowClientsDropped,
      conflated: hub.metrics.updatesConflated,
      delivered: hub.metrics.delivered,
      maxSlowQueued,
      meanSlowQueued: samples === 0 ? 0 : sumSlowQueuedSamples / samples,
    });
  }
});
process.on('disconnect', () => {
  void hub.close().then(() => process.exit(0));
});
send({ type: 'ready', port: (server.address() as AddressInfo).port });
