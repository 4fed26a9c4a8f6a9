/**
 * Paired A/B of the hub's CPU per publish: this checkout's build against another (`--base DIR`, a
 * checkout built there) and, with `--with`, against nchan and a bare node:net server
 * (bench/publish/node-net-floor.ts). Every server runs on core 0 at once, the publisher on core 1.
 * Blocks of publishes go to each server in turn, the order rotated every round, so all of them see
 * the same phases of the machine; the figure is each server's user + system time over its blocks
 * (its process tree's /proc stat), and the median of the per-round ratios to this checkout. `npm run
 * bench`'s publish cases run each system once per run, minutes apart: on a machine whose speed
 * drifts, a difference under ~20% is lost there and found here.
 *
 *   node --import tsx bench/publish/hub-ab.ts [--base DIR] [--with nchan,node-net] [--node PATH]
 *        [--mode keepalive] [--pairs 24] [--per 50000]
 *
 * Modes: `keepalive` (8 raw keep-alive connections, each sending its next request on the answer:
 * the hub near saturation), `http` (node:http's client with a keep-alive agent, 8 in flight: the
 * load of `npm run bench`'s publish-keepalive case), `close` (node:http's client, a connection per
 * request, `Connection: close`: its publish-new-connection case).
 *
 * `node-net` is the floor of any Node server: framing each request and writing a fixed answer, no
 * more. The hub's cost above it is the hub's own code; its cost above nchan is Node's.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { nowUs, type PublishTarget, payload, publishBody } from '../load/payload.js';
import { treeCpu } from '../load/proc-tree.js';
import { nchan } from '../peers/nchan.js';
import { freePort, ROOT, spawnPinned, stopProcess, waitForPort } from '../peers/process.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    with: { type: 'string', default: '' },
    node: { type: 'string', default: process.execPath },
    mode: { type: 'string', default: 'keepalive' },
    pairs: { type: 'string', default: '24' },
    per: { type: 'string' },
  },
});
const others = values.with === '' ? [] : values.with!.split(',');
for (const other of others) {
  if (other !== 'nchan' && other !== 'node-net') throw new Error(`unknown --with ${other}: nchan, node-net`);
}
if (values.base === undefined && others.length === 0) {
  throw new Error(
    '--base DIR (a checkout built there, DIR/dist) or --with nchan,node-net: something to compare with',
  );
}
if (others.includes('nchan') && nchan.missing() !== undefined) throw new Error(`nchan: ${nchan.missing()}`);
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

/** A server under test: where it listens, how it takes a publish, the processes to measure. */
interface Server {
  name: string;
  target: PublishTarget;
  pids: number[];
  stop(): Promise<void>;
}

const mercureTarget = (port: number): PublishTarget => ({
  host: HOST,
  port,
  path: '/.well-known/mercure',
  format: 'mercure',
  topic: 'https://bench.example/topics/shared',
  headers: { authorization: `Bearer ${token}` },
});

/**
 * A Node server on core 0 taking the hub's publishes, `args(port)` its arguments; stopped again if
 * its port never answers.
 */
async function startNodeServer(name: string, args: (port: number) => string[]): Promise<Server> {
  const port = await freePort();
  const child = spawnPinned(0, values.node!, args(port), `${name.replaceAll(' ', '-')}-${port}`);
  try {
    await waitForPort(HOST, port, child);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { name, target: mercureTarget(port), pids: [child.pid!], stop: () => stopProcess(child) };
}

const startHub = (name: string, dist: string) =>
  startNodeServer(name, (port) => [
    '--max-semi-space-size=2',
    join(dist, 'cli/main.js'),
    'serve',
    ...['--host', HOST, '--port', String(port), '--jwt-key', key, '--anonymous', '--log-level', 'warn'],
  ]);

// It reads no body: the hub's request is as good as any, and keeps the bytes on the wire the same.
const startFloor = () =>
  startNodeServer('node-net', (port) => [
    '--import',
    'tsx',
    join(ROOT, 'bench/publish/node-net-floor.ts'),
    String(port),
  ]);

async function startNchan(scratch: string): Promise<Server> {
  const running = await nchan.start({ core: 0, workers: 1, scratch, node: values.node! });
  return { name: 'nchan', target: running.publishTarget, pids: running.pids, stop: () => running.stop() };
}

/** One request of a 100-byte event as `npm run bench` publishes it, its sequence number in front. */
function request(
  target: PublishTarget,
  seq: number,
  close: boolean,
): { body: string; headers: http.OutgoingHttpHeaders } {
  const { body, contentType } = publishBody(target, payload(seq, nowUs(), 100));
  const headers: http.OutgoingHttpHeaders = {
    ...target.headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
  };
  if (close) headers.connection = 'close';
  return { body, headers };
}

/** `n` publishes over raw keep-alive connections, each sending its next request on the answer. */
function rawKeepAlive(target: PublishTarget, n: number): Promise<void> {
  let left = n;
  let seq = 0;
  const text = () => {
    const { body, headers } = request(target, seq++, false);
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    return `POST ${target.path} HTTP/1.1\r\nhost: ${HOST}\r\n${lines.join('')}\r\n${body}`;
  };
  const connection = () =>
    new Promise<void>((resolve, reject) => {
      const socket = net.connect(target.port, HOST);
      let buffered = '';
      const next = () => {
        if (left-- > 0) socket.write(text());
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
          const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
          if (buffered.length < end + 4 + length) return;
          if (!/^HTTP\/1\.1 2/.test(buffered)) return reject(new Error(buffered.slice(0, 200)));
          buffered = buffered.slice(end + 4 + length);
          next();
        }
      });
    });
  return Promise.all(Array.from({ length: IN_FLIGHT }, connection)).then(() => undefined);
}

/** `n` publishes through node:http's client: a keep-alive agent, or a connection per request. */
async function viaNodeHttp(target: PublishTarget, n: number, keepAlive: boolean): Promise<void> {
  const agent = new http.Agent({ keepAlive, maxSockets: IN_FLIGHT });
  let left = n;
  let seq = 0;
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const { body, headers } = request(target, seq++, !keepAlive);
      const req = http.request(
        { agent, host: HOST, port: target.port, path: target.path, method: 'POST', headers },
        (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          res.on('end', () =>
            status >= 200 && status < 300 ? resolve() : reject(new Error(`HTTP ${status}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (left-- > 0) await post();
    }),
  );
  agent.destroy();
}

const publish = (server: Server, n: number) =>
  mode === 'keepalive' ? rawKeepAlive(server.target, n) : viaNodeHttp(server.target, n, mode === 'http');

/** CPU µs of the server's processes so far: user and user + system. */
function cpu(server: Server): { user: number; total: number } {
  const { user, system } = treeCpu(server.pids);
  return { user: user * 1e6, total: (user + system) * 1e6 };
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const scratch = mkdtempSync(join(tmpdir(), 'hub-ab-'));
const servers: Server[] = [];
try {
  servers.push(await startHub('this checkout', join(ROOT, 'dist')));
  if (values.base !== undefined) servers.push(await startHub('base', join(values.base, 'dist')));
  for (const other of others)
    servers.push(other === 'nchan' ? await startNchan(scratch) : await startFloor());
  // Warm-up: the JIT's tiers, as `npm run bench` gives every system 30,000 requests.
  for (const server of servers) await publish(server, mode === 'close' ? 3000 : 30_000);
  const figures = new Map(servers.map((s) => [s, { total: [] as number[], user: [] as number[] }]));
  for (let round = 0; round < pairs; round++) {
    // Each round starts with another server, so that none always follows the same one.
    const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
    for (const server of order) {
      const before = cpu(server);
      await publish(server, per);
      const after = cpu(server);
      figures.get(server)!.total.push((after.total - before.total) / per);
      figures.get(server)!.user.push((after.user - before.user) / per);
    }
  }
  const mine = figures.get(servers[0]!)!;
  console.log(`mode ${mode}, ${pairs} rounds of ${per} publishes per server, ${IN_FLIGHT} in flight`);
  console.log(
    'CPU µs per publish, median (user), and the median of per-round ratios this checkout / server:',
  );
  for (const server of servers) {
    const f = figures.get(server)!;
    const ratios = mine.total.map((x, i) => x / f.total[i]!);
    const ratio =
      server === servers[0]
        ? ''
        : `  this/${server.name}: median ${median(ratios).toFixed(3)}, ` +
          `range ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}`;
    console.log(
      `  ${server.name.padEnd(14)} ${median(f.total).toFixed(2)} (user ${median(f.user).toFixed(2)})${ratio}`,
    );
  }
  if (others.includes('nchan') && others.includes('node-net')) {
    const floor = figures.get(servers.find((s) => s.name === 'node-net')!)!;
    const peer = figures.get(servers.find((s) => s.name === 'nchan')!)!;
    const ratios = floor.total.map((x, i) => x / peer.total[i]!);
    console.log(
      `  node-net/nchan: median ${median(ratios).toFixed(3)} (the share of the gap no code above node:net removes)`,
    );
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(scratch, { recursive: true, force: true });
}
