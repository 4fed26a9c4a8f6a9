/** Helpers for tests that need Redis: availability, unique prefixes, cleanup, free ports. */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
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
