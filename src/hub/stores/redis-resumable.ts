/**
 * Resumable streams on Redis: a producer on one node, readers on any node sharing the Redis and
 * prefix. Per stream, two keys in one hash slot (`{<id>}`):
 *
 * - `<prefix>:rs:{<id>}:m`, a hash: `tag`, `state`, `count`, `bytes`, `reason`, `touched` (Redis
 *   clock, ms);
 * - `<prefix>:rs:{<id>}:c`, a Redis stream of the chunks whose entry IDs are `0-<n>`: chunk n is
 *   entry `0-n`, so reading "after n" is one `XRANGE` by ID, O(log N) plus the chunks returned.
 *
 * Every change is one Lua script (check state and size, add, publish), so a stream's chunks and
 * state always agree and an append to an ended stream is refused atomically. Changes are announced
 * on the channel `<prefix>:rs:{<id>}:n`; each node holds one subscriber connection for the streams
 * its readers watch. Pub/sub may lose a message across a reconnect; readers poll as well.
 *
 * Finished streams get `PEXPIRE expireAfterMs`; open ones `openTtlMs` (default a day), renewed
 * by each append or touch, so a stream whose producer vanished is never kept forever.
 */
import {
  type AppendOptions,
  type CreateOptions,
  type ResumableStore,
  StreamEndedError,
  StreamExistsError,
  type StreamInfo,
  StreamNotFoundError,
  type StreamPage,
  StreamSequenceError,
  type StreamState,
  StreamTooLargeError,
} from '../../server/index.js';
import { StoreClosedError, StoreUnavailableError } from './errors.js';
import { Redis, type RedisOptions } from './ioredis.js';
import {
  baseRedisOptions,
  connectionName,
  positiveMs,
  redisLocation,
  redisPrefix,
} from './redis-connection.js';

/** Options of {@link createRedisResumableStore}. */
export interface RedisResumableStoreOptions {
  /** Prefix of every key (default `herald`). */
  prefix?: string;
  /** How long a command may wait for Redis before failing (default 2,000 ms). */
  commandTimeoutMs?: number;
  /** How long `ready()` waits for the first connection (default 5,000 ms). */
  connectTimeoutMs?: number;
  /** An open stream untouched this long is deleted (default 24 h): the safety net for dead producers. */
  openTtlMs?: number;
}

/** A Redis resumable store, plus a way to wait for its connections. */
export interface RedisResumableStore extends ResumableStore {
  /** Resolves once both connections are up; rejects with `StoreUnavailableError` after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
}

const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: meta, chunks. ARGV: tag, channel, openTtlMs, bytes, chunk... (the first chunks, all or none;
// the caller checked their size).
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
${NOW}
redis.call('DEL', KEYS[2])
local n = 0
for i = 5, #ARGV do
  n = n + 1
  redis.call('XADD', KEYS[2], '0-' .. n, 'd', ARGV[i])
end
redis.call('HSET', KEYS[1], 'tag', ARGV[1], 'state', 'open', 'count', n, 'bytes', ARGV[4], 'touched', now)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if n > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
redis.call('PUBLISH', ARGV[2], n)
return 1`;

// KEYS: meta, chunks. ARGV: bytes, maxStreamBytes, channel, openTtlMs, after ('' for none), chunk...
// With after: stored when count == after; a retry already stored (after < count, count >= after + n)
// answers {after + n, 'dup'}; any other count is {-4, count}.
const APPEND = `
local m = redis.call('HMGET', KEYS[1], 'state', 'count', 'bytes')
if not m[1] then return {-1} end
if m[1] ~= 'open' then return {-2, m[1]} end
local n = tonumber(m[2])
if ARGV[5] ~= '' then
  local after = tonumber(ARGV[5])
  local k = #ARGV - 5
  if n ~= after then
    if after < n and n >= after + k then return {after + k, 'dup'} end
    return {-4, n}
  end
end
local bytes = tonumber(m[3]) + tonumber(ARGV[1])
if bytes > tonumber(ARGV[2]) then return {-3, bytes} end
for i = 6, #ARGV do
  n = n + 1
  redis.call('XADD', KEYS[2], '0-' .. n, 'd', ARGV[i])
end
${NOW}
redis.call('HSET', KEYS[1], 'count', n, 'bytes', bytes, 'touched', now)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[3], n)
return {n}`;

// KEYS: meta, chunks. ARGV: state, reason, expireAfterMs, channel, idleMs (or '' for no idle check).
const FINISH = `
local m = redis.call('HMGET', KEYS[1], 'state', 'touched')
if not m[1] then return {-1} end
if m[1] ~= 'open' then return {-2, m[1]} end
if ARGV[5] ~= '' then
  ${NOW}
  if now - tonumber(m[2]) < tonumber(ARGV[5]) then return {0} end
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'reason', ARGV[2])
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
else
  redis.call('DEL', KEYS[1], KEYS[2])
end
redis.call('PUBLISH', ARGV[4], 'end')
return {1}`;

// KEYS: meta, chunks. ARGV: openTtlMs.
const TOUCH = `
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return 0 end
${NOW}
redis.call('HSET', KEYS[1], 'touched', now)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1`;

type Commands = {
  rsCreate(meta: string, chunks: string, ...args: string[]): Promise<number>;
  rsAppend(meta: string, chunks: string, ...args: string[]): Promise<[number, (number | string)?]>;
  rsFinish(
    meta: string,
    chunks: string,
    state: string,
    reason: string,
    ttl: string,
    channel: string,
    idle: string,
  ): Promise<[number, string?]>;
  rsTouch(meta: string, chunks: string, ttl: string): Promise<number>;
};

/**
 * Creates a resumable-stream store on Redis. Connects in the background; `ready()` waits for it.
 *
 * @example
 * const store = createRedisResumableStore('redis://127.0.0.1:6379', { prefix: 'herald' });
 * await store.ready();
 * const streams = createResumableStreams({ store });
 */
export function createRedisResumableStore(
  url: string,
  options: RedisResumableStoreOptions = {},
): RedisResumableStore {
  return new RedisResumable(url, options);
}

class RedisResumable implements RedisResumableStore {
  readonly #prefix: string;
  readonly #display: string;
  readonly #openTtl: string;
  readonly #connectTimeoutMs: number;
  readonly #client: Redis & Commands;
  readonly #sub: Redis;
  /** Listeners by channel; a channel is subscribed while it has one. */
  readonly #watchers = new Map<string, Set<() => void>>();
  #closed = false;

  constructor(url: string, options: RedisResumableStoreOptions) {
    const location = redisLocation('resumable store', url);
    this.#prefix = `${redisPrefix('resumable store', options.prefix)}:rs:`;
    this.#display = location.display;
    this.#openTtl = String(positiveMs('resumable store', 'openTtlMs', options.openTtlMs, 86_400_000));
    this.#connectTimeoutMs = positiveMs(
      'resumable store',
      'connectTimeoutMs',
      options.connectTimeoutMs,
      5000,
    );
    const common: RedisOptions = {
      ...baseRedisOptions(location),
      connectTimeout: this.#connectTimeoutMs,
      // An append in flight when the connection dropped may have been applied: never resend it.
      autoResendUnfulfilledCommands: false,
    };
    const name = connectionName(options.prefix ?? 'herald');
    this.#client = new Redis({
      ...common,
      commandTimeout: positiveMs('resumable store', 'commandTimeoutMs', options.commandTimeoutMs, 2000),
      connectionName: `${name}:streams`,
    }) as Redis & Commands;
    this.#sub = new Redis({ ...common, connectionName: `${name}:streams-sub`, autoResubscribe: true });
    this.#client.defineCommand('rsCreate', { numberOfKeys: 2, lua: CREATE });
    this.#client.defineCommand('rsAppend', { numberOfKeys: 2, lua: APPEND });
    this.#client.defineCommand('rsFinish', { numberOfKeys: 2, lua: FINISH });
    this.#client.defineCommand('rsTouch', { numberOfKeys: 2, lua: TOUCH });
    // Errors surface through the commands (StoreUnavailableError); the events alone are not news.
    this.#client.on('error', () => {});
    this.#sub.on('error', () => {});
    this.#sub.on('message', (channel: string) => {
      const listeners = this.#watchers.get(channel);
      if (listeners !== undefined) for (const listener of listeners) listener();
    });
  }

  #keys(streamId: string): [meta: string, chunks: string, channel: string] {
    const base = `${this.#prefix}{${streamId}}`;
    return [`${base}:m`, `${base}:c`, `${base}:n`];
  }

  async ready(timeoutMs = this.#connectTimeoutMs): Promise<void> {
    if (this.#closed) throw new StoreClosedError('connect');
    const deadline = Date.now() + timeoutMs;
    for (const connection of [this.#client, this.#sub]) {
      while (connection.status !== 'ready') {
        if (Date.now() >= deadline) {
          throw new StoreUnavailableError(
            `redis resumable store could not reach Redis at ${this.#display} within ${timeoutMs} ms; ` +
              'check that Redis is running and the URL is right',
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /**
   * `options.maxOpenStreams` and `maxHeldBytes` are not checked here: counting across every node
   * would need a key outside each stream's slot. Redis's own `maxmemory` bounds them.
   */
  async create(streamId: string, tag: string, options: CreateOptions = {}): Promise<StreamInfo> {
    const [meta, chunks, channel] = this.#keys(streamId);
    const bytes = options.bytes ?? 0;
    const max = options.maxStreamBytes ?? Number.POSITIVE_INFINITY;
    if (bytes > max) throw new StreamTooLargeError(streamId, 'maxStreamBytes', bytes, max);
    const first = options.chunks ?? [];
    const created = await this.#run('start a stream', () =>
      this.#client.rsCreate(meta, chunks, tag, channel, this.#openTtl, String(bytes), ...first),
    );
    if (created !== 1) throw new StreamExistsError(streamId);
    return { tag, state: 'open', count: first.length, bytes };
  }

  async append(
    streamId: string,
    chunks: readonly string[],
    bytes: number,
    maxStreamBytes: number,
    options: AppendOptions = {},
  ): Promise<number> {
    const [meta, chunkKey, channel] = this.#keys(streamId);
    const reply = await this.#run('append', () =>
      this.#client.rsAppend(
        meta,
        chunkKey,
        String(bytes),
        String(maxStreamBytes),
        channel,
        this.#openTtl,
        options.after === undefined ? '' : String(options.after),
        ...chunks,
      ),
    );
    const code = Number(reply[0]);
    if (code >= 0) return code;
    if (code === -1) throw new StreamNotFoundError(streamId);
    if (code === -2) throw new StreamEndedError(streamId, reply[1] as 'ended' | 'aborted');
    if (code === -4) throw new StreamSequenceError(streamId, options.after!, Number(reply[1]));
    throw new StreamTooLargeError(streamId, 'maxStreamBytes', Number(reply[1]), maxStreamBytes);
  }

  async finish(
    streamId: string,
    state: 'ended' | 'aborted',
    reason: string | undefined,
    expireAfterMs: number,
  ): Promise<StreamInfo> {
    await this.#finish(streamId, state, reason, expireAfterMs, '');
    const { info } = await this.read(streamId, 0, 0);
    // Expiry 0 deletes at once: report what was finished.
    return info ?? { tag: '', state, count: 0, bytes: 0, ...(reason === undefined ? {} : { reason }) };
  }

  async abortIfIdle(
    streamId: string,
    idleMs: number,
    reason: string,
    expireAfterMs: number,
  ): Promise<boolean> {
    try {
      return await this.#finish(streamId, 'aborted', reason, expireAfterMs, String(idleMs));
    } catch (error) {
      if (error instanceof StreamNotFoundError || error instanceof StreamEndedError) return false;
      throw error;
    }
  }

  async #finish(
    streamId: string,
    state: 'ended' | 'aborted',
    reason: string | undefined,
    expireAfterMs: number,
    idle: string,
  ): Promise<boolean> {
    const [meta, chunks, channel] = this.#keys(streamId);
    const reply = await this.#run('finish a stream', () =>
      this.#client.rsFinish(meta, chunks, state, reason ?? '', String(expireAfterMs), channel, idle),
    );
    const code = Number(reply[0]);
    if (code === -1) throw new StreamNotFoundError(streamId);
    if (code === -2) throw new StreamEndedError(streamId, reply[1] as 'ended' | 'aborted');
    return code === 1;
  }

  async touch(streamId: string): Promise<void> {
    const [meta, chunks] = this.#keys(streamId);
    await this.#run('touch a stream', () => this.#client.rsTouch(meta, chunks, this.#openTtl));
  }

  async read(streamId: string, after: number, limit: number): Promise<StreamPage> {
    const [meta, chunkKey] = this.#keys(streamId);
    const replies = await this.#run('read a stream', () => {
      const multi = this.#client.multi();
      if (limit > 0) multi.xrange(chunkKey, `0-${after + 1}`, `0-${after + limit}`);
      multi.hgetall(meta);
      return multi.exec();
    });
    if (replies === null)
      throw new StoreUnavailableError('redis resumable store: a read transaction was aborted');
    for (const [error] of replies) if (error) throw this.#translate(error, 'read a stream');
    const fields = replies[replies.length - 1]![1] as Record<string, string>;
    if (fields.tag === undefined) return { chunks: [], info: undefined };
    const chunks: string[] = [];
    if (limit > 0) {
      for (const [, values] of replies[0]![1] as [string, string[]][]) chunks.push(values[1]!);
    }
    const info: { tag: string; state: StreamState; count: number; bytes: number; reason?: string } = {
      tag: fields.tag,
      state: fields.state as StreamState,
      count: Number(fields.count),
      bytes: Number(fields.bytes),
    };
    if (info.state === 'aborted') info.reason = fields.reason || 'aborted';
    return { chunks, info };
  }

  watch(streamId: string, listener: () => void): () => void {
    const channel = this.#keys(streamId)[2];
    let listeners = this.#watchers.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.#watchers.set(channel, listeners);
      // Errors are retried by resubscription on reconnect; the readers' poll covers the gap.
      this.#sub.subscribe(channel).catch(() => {});
    }
    listeners.add(listener);
    return () => {
      const set = this.#watchers.get(channel);
      if (set === undefined || !set.delete(listener) || set.size > 0) return;
      this.#watchers.delete(channel);
      if (!this.#closed) this.#sub.unsubscribe(channel).catch(() => {});
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchers.clear();
    this.#client.disconnect();
    this.#sub.disconnect();
  }

  async #run<T>(action: string, command: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreClosedError(action);
    try {
      return await command();
    } catch (error) {
      throw this.#translate(error, action);
    }
  }

  #translate(error: unknown, action: string): Error {
    if (error instanceof StoreClosedError || error instanceof StoreUnavailableError) return error;
    if (error instanceof TypeError || error instanceof RangeError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new StoreUnavailableError(
      `redis resumable store could not ${action}: Redis at ${this.#display} is unavailable (${message}); retry later`,
      { cause: error },
    );
  }
}
