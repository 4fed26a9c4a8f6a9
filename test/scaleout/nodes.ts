/**
 * Scale-out fixtures: a redis-server of the test's own (so it can be stopped, paused and restarted),
 * `herald serve` nodes on it as real child processes, and a raw subscriber that, like a browser's
 * EventSource, reconnects with Last-Event-ID, here to whichever node is still up.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import type { TestContext } from 'node:test';
import { createParser } from '../../src/protocol/index.js';
import { type HeraldProcess, LOCAL_SERVE, startHerald } from '../cli/herald-process.js';
import { spawnRedisServer } from '../support/redis-server.js';
import { requirePart } from '../support/requirements.js';
import { retryUntil } from '../support/retry.js';

export const KEY = '!ChangeThisMercureHubJWTSecretKey!';

/** Whether redis-server can be started here; skips (or fails under CI) when not. */
export function requireRedisServer(t: TestContext): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return requirePart(
    t,
    'redis-server',
    probe.status === 0 ? null : 'the redis-server command is not installed',
  );
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server without persistence on its own port. */
export class OwnRedis {
  readonly port: number;
  #child: ChildProcess | undefined;
  private constructor(port: number) {
    this.port = port;
  }

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again, on the same port, empty). */
  async restart(): Promise<void> {
    this.#child = await spawnRedisServer(this.port, ['--appendonly', 'no']);
  }

  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /**
   * Resolves once at least `connections` client connections have bytes waiting in this Redis's
   * receive queues: commands sent to it while it is paused, which it has not read. Linux only (it
   * reads /proc/net/tcp); checked again on each turn of a 10 ms timer, never a fixed wait.
   */
  async waitForUnreadCommands(connections: number): Promise<void> {
    const port = this.port.toString(16).toUpperCase().padStart(4, '0');
    await retryUntil(
      () => {
        let waiting = 0;
        for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
          const [, local, , state, queues] = line.trim().split(/\s+/);
          // 01: ESTABLISHED; the receive queue is the hex count after the colon.
          if (
            local?.endsWith(`:${port}`) &&
            state === '01' &&
            Number.parseInt(queues!.split(':')[1]!, 16) > 0
          )
            waiting++;
        }
        return waiting >= connections || undefined;
      },
      `${connections} connections with commands the paused Redis has not read`,
      { everyMs: 10 },
    );
  }

  /** Kills it (SIGKILL: no goodbye to clients) and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}

/** One `herald serve` node. */
export interface Node {
  proc: HeraldProcess;
  /** `http://127.0.0.1:PORT/.well-known/mercure` */
  hubUrl: string;
  origin: string;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts a node on `store` (a Redis URL, or any `--store` spec): anonymous subscribers, the test
 * key and a short heartbeat (`heartbeat: null` keeps the default).
 */
export async function startNode(
  store: string,
  extra: string[] = [],
  heartbeat: string | null = '300ms',
): Promise<Node> {
  const proc = startHerald([
    ...LOCAL_SERVE,
    '--store',
    store,
    '--anonymous',
    '--jwt-key',
    KEY,
    ...(heartbeat === null ? [] : ['--heartbeat', heartbeat]),
    '--log-level',
    'info',
    ...extra,
  ]);
  const [, url] = (await proc.waitForOutput(/"url":"(http:\/\/[^"]+)"/)) as RegExpMatchArray as [
    string,
    string,
  ];
  const origin = url.replace('localhost', '127.0.0.1');
  return {
    proc,
    origin,
    hubUrl: `${origin}/.well-known/mercure`,
    async kill() {
      proc.kill();
      await proc.exited;
    },
  };
}

/** Starts `count` nodes at once. */
export function startNodes(redisUrl: string, count: number, extra: string[] = []): Promise<Node[]> {
  return Promise.all(Array.from({ length: count }, () => startNode(redisUrl, extra)));
}

/** POSTs one update; resolves with the status, body and time taken. */
export async function publishTo(
  hubUrl: string,
  token: string,
  fields: Record<string, string>,
): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(hubUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  return { status: res.status, body: await res.text(), ms: performance.now() - started };
}

/** An event as received: its ID and data. */
export interface Received {
  id: string;
  data: string;
}

/**
 * A subscriber that holds one stream at a time and, when it ends or fails, reconnects to the next
 * node in `urls` with `Last-Event-ID`, as EventSource does (WHATWG HTML 9.2.3).
 */
export class ResumingSubscriber {
  readonly events: Received[] = [];
  /** Heartbeat comments received, all streams together. */
  comments = 0;
  /** Streams opened. */
  connections = 0;
  /** `X-Herald-Worker` of each stream opened (a `--workers` node), in order. */
  readonly workers: string[] = [];
  readonly #urls: () => string[];
  #lastEventId: string | undefined;
  #req: http.ClientRequest | undefined;
  #closed = false;
  #turn = 0;
  readonly #waiters = new Set<() => void>();

  constructor(urls: () => string[], lastEventId?: string) {
    this.#urls = urls;
    this.#lastEventId = lastEventId;
  }

  /** Opens the first stream; resolves once its headers are in. */
  start(): Promise<void> {
    return this.#connect();
  }

  /** Resolves once `predicate` holds (checked on each event and comment). */
  until(predicate: (s: ResumingSubscriber) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (predicate(this)) {
          this.#waiters.delete(check);
          resolve();
        }
      };
      this.#waiters.add(check);
      check();
    });
  }

  close(): void {
    this.#closed = true;
    this.#req?.destroy();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  #connect(): Promise<void> {
    const urls = this.#urls();
    const url = urls[this.#turn++ % urls.length]!;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.#lastEventId !== undefined) headers['last-event-id'] = this.#lastEventId;
    return new Promise((resolve) => {
      const req = http.get(url, { headers }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          resolve();
          this.#retry();
          return;
        }
        this.connections++;
        this.workers.push(String(res.headers['x-herald-worker'] ?? ''));
        const parser = createParser({
          onEvent: (event) => {
            this.#lastEventId = event.lastEventId;
            this.events.push({ id: event.lastEventId, data: event.data });
            this.#wake();
          },
          onComment: () => {
            this.comments++;
            this.#wake();
          },
        });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => parser.feed(chunk));
        res.on('close', () => this.#retry());
        resolve();
      });
      req.on('error', () => {
        resolve();
        this.#retry();
      });
      this.#req = req;
    });
  }

  #retry(): void {
    if (this.#closed) return;
    // A short pause, as EventSource's reconnection time would give.
    setTimeout(() => {
      if (!this.#closed) void this.#connect();
    }, 50);
  }
}
