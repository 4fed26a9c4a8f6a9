/** Helpers for tests that need Redis: availability, unique prefixes, cleanup, free ports. */
import { randomUUID } from 'node:crypto';
import { connect, createServer } from 'node:net';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { requirePart } from '../../support/requirements.js';

export const REDIS_URL = process.env.HERALD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let reachable: Promise<string | null> | undefined;

/** null when Redis answers PING at REDIS_URL, else why not. Probed once per file. */
function probe(): Promise<string | null> {
  reachable ??= (async () => {
    const client = new Redis(REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 1000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return null;
    } catch (error) {
      return `no Redis at ${REDIS_URL} (${(error as Error).message})`;
    } finally {
      client.disconnect();
    }
  })();
  return reachable;
}

/** Returns a unique key prefix whose keys are deleted after the test, or undefined when skipped. */
export async function redisPrefix(t: TestContext): Promise<string | undefined> {
  if (!requirePart(t, 'redis', await probe())) return undefined;
  const prefix = `herald-test:${randomUUID()}`;
  t.after(() => deleteKeys(REDIS_URL, prefix));
  return prefix;
}

/** Deletes every key under `prefix` (SCAN + DEL). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** What `watchCommands` saw: the commands naming the prefix, in the order Redis ran them. */
export interface CommandWatch {
  readonly commands: string[][];
  /** Resolves once a command with `arg` among its arguments ran; rejects after `timeoutMs`. */
  until(arg: string, timeoutMs?: number): Promise<void>;
}

/**
 * Watches, through MONITOR, the commands that mention `prefix` in an argument. MONITOR reports
 * every client's commands on every database, so the watch keeps only this test's own. It reads the
 * protocol itself: ioredis's monitor mode can take a line that arrives in the same read as MONITOR's
 * `+OK` for a reply and fail with "Command queue state error" on a busy server. Closed after the test.
 */
export async function watchCommands(t: TestContext, url: string, prefix: string): Promise<CommandWatch> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port || 6379), hostname);
  t.after(() => socket.destroy());
  socket.setEncoding('latin1');
  const commands: string[][] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  let started: (() => void) | undefined;
  let failed: ((error: Error) => void) | undefined;
  socket.on('error', (error) => failed?.(error));
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let eol = buffer.indexOf('\r\n'); eol !== -1; eol = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, eol);
      buffer = buffer.slice(eol + 2);
      if (line === '+OK') started?.();
      else if (line.startsWith('-')) failed?.(new Error(`MONITOR: ${line.slice(1)}`));
      else if (line.includes(prefix)) {
        // +1700000000.123456 [0 127.0.0.1:5000] "XRANGE" "key" ...: arguments quoted, \" and \\ escaped.
        const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
        commands.push(args);
        for (const wake of waiters) wake();
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    started = resolve;
    failed = reject;
    socket.write('MONITOR\r\n');
  });
  return {
    commands,
    until(arg, timeoutMs = 10_000) {
      const seen = () => commands.some((c) => c.includes(arg));
      if (seen()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const wake = () => {
          if (!seen()) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`MONITOR never showed a command with ${arg} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
  };
}
