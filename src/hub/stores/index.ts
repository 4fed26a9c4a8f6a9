// The public face of the hub's stores: open one from a spec, or create one directly.

import { createMemoryResumableStore, type ResumableStore } from '../../server/index.js';
import { StoreUnavailableError } from './errors.js';
import { createMemoryStore } from './memory.js';
import type { RedisStoreOptions } from './redis.js';
import { checkRetention } from './retention.js';
import { parseStoreSpec } from './spec.js';
import type { SqliteStoreOptions } from './sqlite.js';
import type { Retention, Store } from './store.js';

export type { Update } from '../update.js';
export {
  DuplicateUpdateIdError,
  StoreClosedError,
  StoreConfigError,
  StoreUnavailableError,
} from './errors.js';
export type { ListenerErrorHandler } from './listeners.js';
export { createMemoryStore, type StoreOptions } from './memory.js';
export type { RedisStatus, RedisStore, RedisStoreOptions } from './redis.js';
export {
  createRedisResumableStore,
  type RedisResumableStore,
  type RedisResumableStoreOptions,
} from './redis-resumable.js';
export { checkRetention, DEFAULT_RETENTION } from './retention.js';
export { parseStoreSpec, type StoreLocation } from './spec.js';
export type { SqliteStoreOptions } from './sqlite.js';
export { createSqliteResumableStore, type SqliteResumableStoreOptions } from './sqlite-resumable.js';
export type { Retention, Store } from './store.js';

/** Options of `openStore`: those of every store, plus those of the store the spec names. */
export interface OpenStoreOptions extends SqliteStoreOptions, RedisStoreOptions {
  /** Base for a relative `sqlite:PATH` (default: the process's current directory). */
  cwd?: string;
  /**
   * Redis only: when Redis does not answer within `connectTimeoutMs`, return the store anyway and
   * let it connect in the background (`onStatus` reports `up` when it does) instead of throwing.
   * Until then appends and history reads fail with `StoreUnavailableError` (the hub answers 503).
   * What a cluster node wants: a node that starts while Redis restarts serves as soon as Redis is
   * back, without a restart of its own. Default: false.
   */
  startUnavailable?: boolean;
}

/**
 * Opens the store a spec names:
 * - `memory`: history in this process only (the default; lost on restart);
 * - `sqlite:PATH`: history in an SQLite file that survives restarts (a relative PATH is resolved
 *   from the current directory; its parent directory is created);
 * - `redis://[user:pass@]host:port[/db]` or `rediss://…` (TLS): history in a Redis stream shared by
 *   every hub node using the same Redis and key prefix, which also relays updates between them.
 *
 * Throws `StoreConfigError` for a spec or retention that cannot work, and `StoreUnavailableError` when
 * the SQLite file is locked or Redis does not answer within `connectTimeoutMs` (default 5 s), unless
 * `startUnavailable` is set.
 *
 * @example
 * const store = await openStore(process.env.HERALD_STORE ?? 'memory', DEFAULT_RETENTION);
 */
export async function openStore(
  spec: string,
  retention: Retention,
  options: OpenStoreOptions = {},
): Promise<Store> {
  const location = parseStoreSpec(spec, options.cwd);
  checkRetention(retention);
  switch (location.kind) {
    case 'memory':
      return createMemoryStore(retention, options);
    case 'sqlite': {
      // Loaded on demand: the native module is only needed by hubs that use it.
      const { createSqliteStore } = await import('./sqlite.js');
      return createSqliteStore(location.path, retention, options);
    }
    case 'redis': {
      const { createRedisStore } = await import('./redis.js');
      const store = createRedisStore(location.url, retention, options);
      try {
        await store.ready();
      } catch (error) {
        if (options.startUnavailable && error instanceof StoreUnavailableError) return store;
        await store.close();
        throw error;
      }
      return store;
    }
  }
}

/**
 * Opens a resumable-stream store from a spec, as `openStore` does for history: `memory`,
 * `sqlite:PATH` (a file of its own, not the history file) or `redis://…` (streams shared by every
 * node on that Redis and prefix). The SQLite and Redis modules load only when named.
 *
 * @example
 * const streams = await openResumableStore('redis://127.0.0.1:6379', { prefix: 'herald' });
 */
export async function openResumableStore(
  spec: string,
  /** `startUnavailable`: on Redis, return the store even when Redis is not reachable yet (it connects later). */
  options: { cwd?: string; prefix?: string; startUnavailable?: boolean } = {},
): Promise<ResumableStore> {
  const location = parseStoreSpec(spec, options.cwd);
  switch (location.kind) {
    case 'memory':
      return createMemoryResumableStore();
    case 'sqlite': {
      const { createSqliteResumableStore } = await import('./sqlite-resumable.js');
      return createSqliteResumableStore(location.path);
    }
    case 'redis': {
      const { createRedisResumableStore } = await import('./redis-resumable.js');
      const store = createRedisResumableStore(location.url, { prefix: options.prefix });
      try {
        await store.ready();
      } catch (error) {
        if (options.startUnavailable && error instanceof StoreUnavailableError) return store;
        await store.close();
        throw error;
      }
      return store;
    }
  }
}
