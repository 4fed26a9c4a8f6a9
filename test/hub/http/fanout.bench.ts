/**
 * Fan-out of the hub: N subscribers on one topic, R updates per second published in-process, for S
 * seconds. Reports hub CPU per delivered event, events delivered, RSS, and the latency from publish
 * to a client reading the bytes (p50 / p99, every event's first data line timed).
 *
 * The hub runs in this process, the subscribers in a child pinned to CPU 1 (when `taskset` exists):
 *
 *   taskset -c 0 node --import tsx test/hub/http/fanout.bench.ts --subs 1000 --rate 100 --seconds 10
 *
 * Latency is only meaningful on an otherwise idle machine (check `uptime`); CPU per event is not
 * affected as much by other load.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createHub } from '../../../src/hub/index.js';

const { values } = parseArgs({
  options: {
    subs: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    payload: { type: 'string', default: '100' },
    role: { type: 'string', default: 'hub' },
    port: { type: 'string', default: '0' },
  },
});
const SUBS = Number(values.subs);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const now = () => performance.timeOrigin + performance.now();

if (values.role === 'clients') await clients(Number(values.port));
else await hubSide();

async function hubSide(): Promise<void> {
  const hub = createHub({ anonymous: true, metrics: false, heartbeatMs: 0 });
  const server = http.createServer((req, res) => hub.handle(req, res));
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--role', 'clients', '--port', String(port), '--subs', String(SUBS)];
  const pinned = existsSync('/usr/bin/taskset');
  const child = spawn(
    pinned ? '/usr/bin/taskset' : process.execPath,
    pinned ? ['-c', '1', process.execPath, ...args] : args,
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  await new Promise<void>((resolve) => child.once('message', () => resolve())); // all connected

  const pad = 'x'.repeat(Number(values.payload));
  const cpu0 = process.cpuUsage();
  const t0 = now();
  const total = RATE * SECONDS;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((now() - t0) / 1000) * RATE));
      while (sent < due) {
        sent++;
        void hub.publish({ topics: ['bench'], data: `${now()} ${pad}` });
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const cpu = process.cpuUsage(cpu0);
  const delivered = hub.metrics.delivered;
  const result = await new Promise((resolve) => {
    child.once('message', resolve);
    child.send('report');
  });
  console.log(
    JSON.stringify({
      subs: SUBS,
      rate: RATE,
      seconds: SECONDS,
      published: sent,
      delivered,
      hubCpuMs: Math.round((cpu.user + cpu.system) / 1000),
      hubCpuUsPerDelivered: Number(((cpu.user + cpu.system) / delivered).toFixed(2)),
      hubRssMB: Math.round(process.memoryUsage().rss / 1e6),
      ...(result as object),
    }),
  );
  child.kill();
  await hub.close();
  server.closeAllConnections();
  server.close();
}

async function clients(port: number): Promise<void> {
  const latencies: number[] = [];
  let events = 0;
  const sockets: net.Socket[] = [];
  const connect = (i: number) =>
    new Promise<void>((resolve) => {
      // Several source addresses keep the kernel's port search fast past ~14k connections.
      const socket = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 50)}` });
      sockets.push(socket);
      let headers = true;
      socket.setEncoding('utf8');
      socket.on('error', (error) => console.error(`subscriber ${i}: ${error.message}`));
      socket.on('connect', () =>
        socket.write(
          'GET /.well-known/mercure?topic=bench HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n',
        ),
      );
      socket.on('data', (chunk: string) => {
        if (headers) {
          if (chunk.includes('\r\n\r\n')) {
            headers = false;
            resolve();
          }
          return;
        }
        // A flush writes whole events: time the first in the chunk, count them all.
        let at = chunk.indexOf('data: ');
        if (at === -1) return;
        const sentAt = Number(chunk.slice(at + 6, chunk.indexOf(' ', at + 6)));
        if (sentAt > 0) latencies.push(now() - sentAt);
        while (at !== -1) {
          events++;
          at = chunk.indexOf('data: ', at + 6);
        }
      });
    });
  // Connect in batches: a burst of thousands would overflow the listen backlog.
  for (let i = 0; i < SUBS; i += 200) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(SUBS, i + 200); j++) batch.push(connect(j));
    await Promise.all(batch);
  }
  process.send!('ready');
  process.on('message', () => {
    latencies.sort((a, b) => a - b);
    const q = (p: number) =>
      Number((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0).toFixed(2));
    process.send!({ received: events, p50ms: q(0.5), p99ms: q(0.99) });
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
}
