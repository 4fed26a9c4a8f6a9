/**
 * Paired A/B of the hub's CPU per publish: this checkout's build against another (`--base DIR`, a
 * checkout built there), both `herald serve` processes pinned to core 0 at once, the publisher on
 * core 1. Blocks of publishes alternate between the two (A B, B A, A B, ...), so both see the same
 * phases of the machine; the figure is each hub's user + system time over its blocks (from
 * /proc/PID/stat), and the median of the per-pair ratios. `npm run bench`'s publish cases run each
 * system once per run, minutes apart: on a machine whose speed drifts, a difference under ~20% is
 * lost there and found here.
 *
 *   node --import tsx bench/publish/hub-ab.ts --base /tmp/base [--node PATH] [--mode keepalive]
 *        [--pairs 24] [--per 50000]
 *
 * Modes: `keepalive` (8 raw keep-alive connections, each sending its next request on the answer:
 * the hub near saturation), `http` (node:http's client with a keep-alive agent, 8 in flight: the
 * load of `npm run bench`'s publish-keepalive case), `close` (node:http's client, a connection per
 * request, `Connection: close`: its publish-new-connection case).
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { nowUs, payload, publishBody } from '../load/payload.js';
import { freePort, ROOT, spawnPinned, stopProcess, waitForPort } from '../peers/process.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    node: { type: 'string', default: process.execPath },
    mode: { type: 'string', default: 'keepalive' },
    pairs: { type: 'string', default: '24' },
    per: { type: 'string' },
  },
});
if (values.base === undefined) throw new Error('--base DIR: a checkout built there (DIR/dist)');
const mode = values.mode as 'keepalive' | 'http' | 'close';
if (!['keepalive', 'http', 'close'].includes(mode)) throw new Error(`unknown --mode ${mode}`);
const pairs = Number(values.pairs);
const per = Number(values.per ?? (mode === 'close' ? 5000 : 50000));
const IN_FLIGHT = 8;
const HOST = '127.0.0.1';

execFileSync('taskset', ['-p', '-c', '1', String(process.pid)]);
const key = randomBytes(32).toString('hex');
const token = await new SignJWT({ mercure: { publish: ['*'] } })
  .setProtectedHeader({ alg: 'HS256' })
  .sign(new TextEncoder().encode(key));
const target = {
  host: HOST,
  port: 0,
  path: '/.well-known/mercure',
  format: 'mercure' as const,
  topic: 'https://bench.example/topics/shared',
  headers: {},
};

/** A 100-byte event as `npm run bench` publishes it, its sequence number in front. */
function body(seq: number): string {
  return publishBody(target, payload(seq, nowUs(), 100)).body;
}

interface Hub {
  name: string;
  port: number;
  child: ChildProcess;
}

async function start(name: string, dist: string): Promise<Hub> {
  const port = await freePort();
  const args = ['--max-semi-space-size=2', join(dist, 'cli/main.js'), 'serve', '--host', HOST];
  args.push('--port', String(port), '--jwt-key', key, '--anonymous', '--log-level', 'warn');
  const child = spawnPinned(0, values.node!, args, `hub-ab-${port}`);
  await waitForPort(HOST, port, child);
  return { name, port, child };
}

/** The hub's user and system CPU so far, µs (clock ticks of 10 ms). */
function cpu(hub: Hub): { user: number; system: number } {
  const fields = readFileSync(`/proc/${hub.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) * 10_000, system: Number(fields[12]) * 10_000 };
}

/** `n` publishes over raw keep-alive connections, each sending its next request on the answer. */
function rawKeepAlive(port: number, n: number): Promise<void> {
  let left = n;
  let seq = 0;
  const request = () => {
    const text = body(seq++);
    return (
      'POST /.well-known/mercure HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      `Content-Type: application/x-www-form-urlencoded\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`
    );
  };
  const connection = () =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, HOST);
      let buffered = '';
      const next = () => {
        if (left-- > 0) socket.write(request());
        else {
          socket.destroy();
          resolve();
        }
      };
      socket.setEncoding('latin1');
      socket.on('connect', next);
      socket.on('error', reject);
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        for (;;) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end === -1) return;
          const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1]);
          if (buffered.length < end + 4 + length) return;
          if (!buffered.startsWith('HTTP/1.1 200')) return reject(new Error(buffered.slice(0, 200)));
          buffered = buffered.slice(end + 4 + length);
          next();
        }
      });
    });
  return Promise.all(Array.from({ length: IN_FLIGHT }, connection)).then(() => undefined);
}

/** `n` publishes through node:http's client: a keep-alive agent, or a connection per request. */
async function viaNodeHttp(port: number, n: number, keepAlive: boolean): Promise<void> {
  const agent = new http.Agent({ keepAlive, maxSockets: IN_FLIGHT });
  let left = n;
  let seq = 0;
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const text = body(seq++);
      const headers: http.OutgoingHttpHeaders = {
        authorization: `Bearer ${token}`,
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(text),
      };
      if (!keepAlive) headers.connection = 'close';
      const req = http.request(
        { agent, host: HOST, port, path: target.path, method: 'POST', headers },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(text);
    });
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (left-- > 0) await post();
    }),
  );
  agent.destroy();
}

const publish = (hub: Hub, n: number) =>
  mode === 'keepalive' ? rawKeepAlive(hub.port, n) : viaNodeHttp(hub.port, n, mode === 'http');

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const a = await start('this checkout', join(ROOT, 'dist'));
const b = await start('base', join(values.base, 'dist'));
try {
  // Warm-up: the JIT's tiers, as `npm run bench` gives every system 30,000 requests.
  for (const hub of [a, b]) await publish(hub, mode === 'close' ? 3000 : 30_000);
  const figures = new Map<Hub, { total: number[]; user: number[] }>([
    [a, { total: [], user: [] }],
    [b, { total: [], user: [] }],
  ]);
  for (let pair = 0; pair < pairs; pair++) {
    for (const hub of pair % 2 === 0 ? [a, b] : [b, a]) {
      const before = cpu(hub);
      await publish(hub, per);
      const after = cpu(hub);
      const user = (after.user - before.user) / per;
      figures.get(hub)!.total.push(user + (after.system - before.system) / per);
      figures.get(hub)!.user.push(user);
    }
  }
  const fa = figures.get(a)!;
  const fb = figures.get(b)!;
  const ratios = fa.total.map((x, i) => x / fb.total[i]!);
  console.log(`mode ${mode}, ${pairs} pairs of ${per} publishes, ${IN_FLIGHT} in flight`);
  console.log(
    `CPU µs per publish, median: this checkout ${median(fa.total).toFixed(2)} ` +
      `(user ${median(fa.user).toFixed(2)}), base ${median(fb.total).toFixed(2)} (user ${median(fb.user).toFixed(2)})`,
  );
  console.log(
    `per-pair ratio this/base: median ${median(ratios).toFixed(3)}, ` +
      `range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}`,
  );
} finally {
  await Promise.all([stopProcess(a.child), stopProcess(b.child)]);
}
