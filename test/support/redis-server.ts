/**
 * A redis-server process of a test's own, on a port it chose: unlike the shared one on 6379, it can
 * be stopped, paused and started again. Resolves once the server says it accepts connections.
 * Also a Sentinel group (master, replica, three sentinels) for failover tests.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Starts `redis-server --port PORT --bind 127.0.0.1 --save ''` plus `args` (e.g. `--appendonly yes`). */
export async function spawnRedisServer(port: number, args: string[] = []): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) resolve();
    });
  });
  child.removeAllListeners('exit');
  child.stdout!.resume();
  return child;
}

/** null when `redis-server` and `redis-sentinel` run here, else why not (for `requirePart`). */
export function redisSentinelMissing(): string | null {
  for (const binary of ['redis-server', 'redis-sentinel']) {
    const found = spawnSync(binary, ['--version'], { stdio: 'ignore' });
    if (found.error !== undefined || found.status !== 0) {
      return `no ${binary} binary on PATH (Debian: apt-get install redis-server redis-sentinel)`;
    }
  }
  return null;
}

/** A master, two replicas and three sentinels on loopback ports of a test's own. */
export interface SentinelGroup {
  /** The name the sentinels monitor the master by. */
  masterName: string;
  masterPort: number;
  replicaPorts: number[];
  sentinelPorts: number[];
  master: ChildProcess;
  replicas: ChildProcess[];
  /**
   * Cuts replication: pauses the replicas (SIGSTOP) and has the master drop their links, so that
   * writes acknowledged from now on reach the master only (a replica's socket buffer would otherwise
   * still deliver them). `resume` lets the replicas run again.
   */
  stallReplication(): Promise<{ resume(): void }>;
  /** `redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/NAME` */
  url: string;
  /** The port of the master the sentinels name now. */
  currentMasterPort(): Promise<number>;
  /** Resolves once every sentinel names a replica as master and it says it is one (bounded); returns its port. */
  waitForFailover(timeoutMs?: number): Promise<number>;
  /** Kills every process (SIGKILL) and removes the sentinels' files. */
  stop(): Promise<void>;
}

/**
 * Starts a master on a free port, two replicas of it, and three sentinels (quorum 2) that consider
 * the master down after `downAfterMs` (default 1,000 ms) without an answer. Two replicas, so that one
 * is left to replicate to once the other is promoted. Resolves once the replicas are in sync and
 * every sentinel knows them and the two other sentinels, so that a failover can happen.
 */
export async function startSentinelGroup(options: { downAfterMs?: number } = {}): Promise<SentinelGroup> {
  const masterName = 'herald-test-master';
  const downAfterMs = options.downAfterMs ?? 1000;
  const ports = new Set<number>();
  while (ports.size < 6) ports.add(await freePort());
  const [masterPort, ...others] = [...ports];
  const replicaPorts = others.slice(0, 2);
  const sentinelPorts = others.slice(2);
  const dir = await mkdtemp(join(tmpdir(), 'herald-sentinel-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const master = await spawnRedisServer(masterPort!);
    children.push(master);
    const replicas: ChildProcess[] = [];
    for (const port of replicaPorts) {
      replicas.push(await spawnRedisServer(port, ['--replicaof', '127.0.0.1', String(masterPort)]));
      children.push(replicas.at(-1)!);
    }
    for (const port of sentinelPorts) {
      const file = join(dir, `sentinel-${port}.conf`);
      await writeFile(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      children.push(await spawnUntil('redis-sentinel', [file], /\+monitor master/));
    }
    const ask = (port: number, ...args: string[]) => redisCall(port, args);
    // Ready when the replicas are in sync and each sentinel sees them and both other sentinels.
    await until(20_000, 'the sentinel group to form', async () => {
      for (const port of replicaPorts) {
        const info = String(await ask(port, 'INFO', 'replication'));
        if (!/master_link_status:up/.test(info)) return false;
      }
      for (const port of sentinelPorts) {
        const fields = (await ask(port, 'SENTINEL', 'MASTER', masterName)) as string[];
        const field = (name: string) => Number(fields[fields.indexOf(name) + 1]);
        if (field('num-slaves') < 2 || field('num-other-sentinels') < 2) return false;
      }
      return true;
    });
    const currentMasterPort = async () => {
      const [, port] = (await ask(
        sentinelPorts[0]!,
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        masterName,
      )) as string[];
      return Number(port);
    };
    return {
      masterName,
      masterPort: masterPort!,
      replicaPorts,
      sentinelPorts,
      master,
      replicas,
      async stallReplication() {
        for (const replica of replicas) replica.kill('SIGSTOP');
        await ask(masterPort!, 'CLIENT', 'KILL', 'TYPE', 'replica');
        return {
          resume() {
            for (const replica of replicas) replica.kill('SIGCONT');
          },
        };
      },
      url: `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}/${masterName}`,
      currentMasterPort,
      async waitForFailover(timeoutMs = 30_000) {
        let promoted = 0;
        await until(timeoutMs, 'the sentinels to promote a replica', async () => {
          const named = new Set<number>();
          for (const port of sentinelPorts) {
            const [, at] = (await ask(port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as string[];
            named.add(Number(at));
          }
          [promoted] = [...named];
          if (named.size !== 1 || promoted === masterPort) return false;
          return /role:master/.test(String(await ask(promoted!, 'INFO', 'replication')));
        });
        return promoted;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Spawns `binary args` and resolves once its stdout matches `ready`. */
async function spawnUntil(binary: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${binary} exited with ${code}: ${out}`)));
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (ready.test(out)) resolve();
    });
  });
  child.removeAllListeners('exit');
  child.stdout!.resume();
  return child;
}

/** One command on a fresh connection to 127.0.0.1:`port`; rejects when nothing answers. */
async function redisCall(port: number, args: string[]): Promise<unknown> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(args[0]!, args.slice(1));
  } finally {
    client.disconnect();
  }
}

/** Polls `check` every 100 ms until it holds; throws naming `what` after `timeoutMs`. */
async function until(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${String(last)})` : ''}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
