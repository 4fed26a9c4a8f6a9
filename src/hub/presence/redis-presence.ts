/**
 * Presence in Redis: the subscribers of every hub node sharing one Redis and prefix, for the
 * subscriptions API.
 *
 * Each node keeps one hash, `<prefix>:presence:<node>`, subscriber ID -> JSON record, with a TTL it
 * refreshes every `refreshMs`; the set `<prefix>:presence:nodes` names the nodes. A node killed
 * without closing stops refreshing and its hash expires after `ttlMs`: Redis's own clock decides,
 * so clock skew between nodes does not matter. `list()` reads every node's hash and drops from the
 * set the nodes whose hash is gone.
 *
 * Joins and leaves are batched: all those of one turn of the event loop go out in one MULTI. While
 * Redis is down they are kept locally; the first refresh after it is back rewrites the node's hash
 * from the local records, so nothing joined or left meanwhile is lost for long.
 */

import { randomUUID } from 'node:crypto';
import { StoreUnavailableError } from '../stores/errors.js';
import { Redis } from '../stores/ioredis.js';
import {
  baseRedisOptions,
  connectionName,
  positiveMs,
  redisLocation,
  redisPrefix,
} from '../stores/redis-connection.js';
import type { Presence, SubscriberRecord } from '../subscribers/presence.js';

/** Options of {@link createRedisPresence}. */
export interface RedisPresenceOptions {
  /** Prefix of every key (default `herald`), the same as the store's. */
  prefix?: string;
  /**
   * How long a node's records outlive its last refresh (default 30,000 ms): the subscribers of a
   * node that died without closing are listed for at most this long.
   */
  ttlMs?: number;
  /** How often a node refreshes its records' TTL (default a third of `ttlMs`, so two refreshes may fail). */
  refreshMs?: number;
  /** How long `list()` waits for Redis (default 2,000 ms). */
  commandTimeoutMs?: number;
  /** Told when writing this node's records fails (Redis down); they are rewritten once it is back. */
  onError?: (error: Error) => void;
}

/** A presence in Redis, plus a way to wait for its first connection. */
export interface RedisPresence extends Presence {
  /** This node's ID in Redis (a random UUID per process). */
  readonly nodeId: string;
  /** Resolves once connected; rejects with `StoreUnavailableError` after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
}

/** Default TTL of a node's records: a dead node's subscribers disappear within 30 s. */
export const DEFAULT_PRESENCE_TTL_MS = 30_000;

/** Removes a node from the set if its hash has expired, atomically (a node may re-add meanwhile). */
const DROP_IF_GONE = `if redis.call('EXISTS', KEYS[2]) == 0 then return redis.call('SREM', KEYS[1], ARGV[1]) end return 0`;

/**
 * Creates a Redis presence. `url` is the store's `redis://` or `rediss://` URL.
 *
 * @example
 * const presence = createRedisPresence('redis://127.0.0.1:6379', { prefix: 'herald:prod' });
 * await presence.ready();
 * const hub = createHub({ store, presence });
 */
export function createRedisPresence(url: string, options: RedisPresenceOptions = {}): RedisPresence {
  return new RedisPresenceImpl(url, options);
}

class RedisPresenceImpl implements RedisPresence {
  readonly nodeId = randomUUID();
  readonly #redis: Redis;
  readonly #display: string;
  readonly #nodesKey: string;
  readonly #prefix: string;
  readonly #hashKey: string;
  readonly #ttlMs: number;
  readonly #onError: (error: Error) => void;
  readonly #local = new Map<string, SubscriberRecord>();
  /** Joins (record) and leaves (null) not yet written. */
  readonly #pending = new Map<string, SubscriberRecord | null>();
  readonly #timer: NodeJS.Timeout;
  #flushScheduled = false;
  /** Set when a write failed: the next refresh rewrites the whole hash. */
  #dirty = false;
  #closed = false;
  #reportedDown = false;

  constructor(url: string, options: RedisPresenceOptions) {
    const location = redisLocation('presence', url);
    const prefix = redisPrefix('presence', options.prefix);
    this.#ttlMs = positiveMs('presence', 'ttlMs', options.ttlMs, DEFAULT_PRESENCE_TTL_MS);
    const refreshMs = positiveMs(
      'presence',
      'refreshMs',
      options.refreshMs,
      Math.max(1, Math.floor(this.#ttlMs / 3)),
    );
    const commandTimeoutMs = positiveMs('presence', 'commandTimeoutMs', options.commandTimeoutMs, 2000);
    this.#display = location.display;
    this.#prefix = prefix;
    this.#nodesKey = `${prefix}:presence:nodes`;
    this.#hashKey = `${prefix}:presence:${this.nodeId}`;
    this.#onError = options.onError ?? (() => {});
    // Fails fast while disconnected: the local records are rewritten once Redis is back.
    this.#redis = new Redis({
      ...baseRedisOptions(location),
      connectionName: `${connectionName(prefix)}:presence`,
      commandTimeout: commandTimeoutMs,
    });
    this.#redis.on('error', () => {});
    this.#redis.on('ready', () => {
      // Whatever happened while away (a Redis restart emptied it, our TTL ran out): rewrite.
      this.#dirty = true;
      this.#refresh();
    });
    this.#timer = setInterval(() => this.#refresh(), refreshMs);
    this.#timer.unref();
  }

  join(record: SubscriberRecord): void {
    if (this.#closed) return;
    this.#local.set(record.id, record);
    this.#pending.set(record.id, record);
    this.#scheduleFlush();
  }

  leave(id: string): void {
    if (this.#closed || !this.#local.delete(id)) return;
    this.#pending.set(id, null);
    this.#scheduleFlush();
  }

  async list(): Promise<SubscriberRecord[]> {
    try {
      const nodes = (await this.#redis.smembers(this.#nodesKey)).filter((n) => n !== this.nodeId);
      const records = [...this.#local.values()];
      if (nodes.length === 0) return records;
      const pipeline = this.#redis.pipeline();
      for (const node of nodes) pipeline.hvals(this.#nodeKey(node));
      const replies = (await pipeline.exec()) ?? [];
      const gone: string[] = [];
      replies.forEach(([error, values], i) => {
        if (error) throw error;
        const texts = values as string[];
        if (texts.length === 0) gone.push(nodes[i]!);
        for (const text of texts) records.push(JSON.parse(text) as SubscriberRecord);
      });
      for (const node of gone) {
        this.#redis.eval(DROP_IF_GONE, 2, this.#nodesKey, this.#nodeKey(node), node).catch(() => {});
      }
      return records;
    } catch (error) {
      throw new StoreUnavailableError(
        `redis presence could not list subscribers: Redis at ${this.#display} is unavailable ` +
          `(${(error as Error).message}); retry later`,
        { cause: error },
      );
    }
  }

  ready(timeoutMs = 5000): Promise<void> {
    if (this.#redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#redis.off('ready', onReady);
        reject(
          new StoreUnavailableError(
            `redis presence could not reach Redis at ${this.#display} within ${timeoutMs} ms; ` +
              'check that Redis is running and the URL, credentials and TLS setting are right',
          ),
        );
      }, timeoutMs);
      this.#redis.once('ready', onReady);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#local.clear();
    this.#pending.clear();
    try {
      if (this.#redis.status === 'ready') {
        await this.#redis.multi().del(this.#hashKey).srem(this.#nodesKey, this.nodeId).exec();
      }
    } catch {
      // Redis is down: the hash expires on its own after ttlMs.
    }
    this.#redis.disconnect();
  }

  #nodeKey(node: string): string {
    return `${this.#prefix}:presence:${node}`;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** Writes the joins and leaves of this turn in one MULTI. */
  #flush(): void {
    if (this.#closed || this.#pending.size === 0) return;
    if (this.#dirty) {
      this.#pending.clear();
      this.#refresh();
      return;
    }
    const joins: string[] = [];
    const leaves: string[] = [];
    for (const [id, record] of this.#pending) {
      if (record === null) leaves.push(id);
      else joins.push(id, JSON.stringify(record));
    }
    this.#pending.clear();
    const multi = this.#redis.multi();
    if (leaves.length > 0) multi.hdel(this.#hashKey, ...leaves);
    if (joins.length > 0) multi.hset(this.#hashKey, ...joins);
    multi.pexpire(this.#hashKey, this.#ttlMs).sadd(this.#nodesKey, this.nodeId);
    multi.exec().then(
      () => this.#wasUp(),
      (error: Error) => this.#failed(error),
    );
  }

  /** Extends the TTL of this node's records; rewrites them all after a failure. */
  #refresh(): void {
    if (this.#closed || this.#redis.status !== 'ready') return;
    const multi = this.#redis.multi();
    const rewrite = this.#dirty;
    if (rewrite) {
      this.#dirty = false;
      this.#pending.clear();
      multi.del(this.#hashKey);
      const fields: string[] = [];
      for (const [id, record] of this.#local) fields.push(id, JSON.stringify(record));
      if (fields.length > 0) multi.hset(this.#hashKey, ...fields);
    }
    multi.pexpire(this.#hashKey, this.#ttlMs).sadd(this.#nodesKey, this.nodeId);
    multi.exec().then(
      () => this.#wasUp(),
      (error: Error) => this.#failed(error),
    );
  }

  #wasUp(): void {
    this.#reportedDown = false;
  }

  #failed(error: Error): void {
    this.#dirty = true;
    if (this.#closed || this.#reportedDown) return;
    this.#reportedDown = true;
    this.#onError(
      new StoreUnavailableError(
        `redis presence could not write this node's subscribers to Redis at ${this.#display} ` +
          `(${error.message}); they are rewritten once it answers again`,
        { cause: error },
      ),
    );
  }
}
