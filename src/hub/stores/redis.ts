import { performance } from 'node:perf_hooks';
import type { Update } from '../update.js';
import { decodeUpdate, encodeBody } from './codec.js';
import {
  DuplicateUpdateIdError,
  StoreClosedError,
  StoreConfigError,
  StoreUnavailableError,
} from './errors.js';
import { HistoryIndex, type Entry as Kept } from './history-index.js';
import { Redis, type RedisOptions } from './ioredis.js';
import { ListenerSet } from './listeners.js';
import type { StoreOptions } from './memory.js';
import {
  baseRedisOptions,
  connectionName,
  positiveMs,
  redisLocation,
  redisPrefix,
} from './redis-connection.js';
import { checkLimit, checkRetention, UPDATE_OVERHEAD_BYTES } from './retention.js';
import type { Retention, Store } from './store.js';

/** Options of the Redis store. */
export interface RedisStoreOptions extends StoreOptions {
  /** Prefix of every key (default `herald`): the stream is `<prefix>:updates`. Nodes sharing it share history. */
  prefix?: string;
  /** How long an append or a history read may wait for Redis before failing (default 2,000 ms). */
  commandTimeoutMs?: number;
  /** How long `ready()` (and `openStore`) waits for the first connection (default 5,000 ms). */
  connectTimeoutMs?: number;
  /** How long one blocking read waits for new entries (default 5,000 ms); a silent connection is replaced after twice this. */
  readBlockMs?: number;
  /**
   * Told when Redis stops answering (`'down'`, with the error) and answers again (`'up'`), once per
   * change; and (`'lost'`, with an error saying which) when, after an outage, updates published
   * meanwhile were trimmed from the stream before this node could read them: its subscribers missed
   * them. Default: a process warning for `'down'` and `'lost'`.
   */
  onStatus?: (status: RedisStatus, error?: Error) => void;
  /**
   * Acknowledge an append only once this many replicas have it (`WAIT`), default 0: acknowledged
   * once the master has it. Redis replicates asynchronously, so with 0 an update acknowledged just
   * before the master dies may be missing on the replica that takes over; with 1 or more, an
   * acknowledged update survives the failover of its master (unless every replica that had it is lost
   * too). Costs one more round trip per publish (docs/deploy.md, "Redis Sentinel").
   */
  waitReplicas?: number;
  /**
   * How long an append waits for `waitReplicas` replicas (default 1,000 ms, below `commandTimeoutMs`).
   * When fewer confirm in time the append rejects with `StoreUnavailableError` (the hub answers 503):
   * the master has the update and may still deliver it, but it is not known to survive a failover.
   */
  waitReplicasTimeoutMs?: number;
}

/** What `onStatus` reports: see `RedisStoreOptions.onStatus`. */
export type RedisStatus = 'up' | 'down' | 'lost';

/** A Redis store: a `Store`, plus a way to wait until it has connected and caught up. */
export interface RedisStore extends Store {
  /**
   * Resolves once the store has connected, loaded its index of kept updates and started reading
   * the stream; rejects with `StoreUnavailableError` if that takes longer than `timeoutMs`.
   */
  ready(timeoutMs?: number): Promise<void>;
}

/**
 * Entries kept in the stream even when retention keeps less history: the stream is also how
 * updates travel between nodes, and a node that lost Redis for a moment resumes reading from the
 * last entry it read. 1,000 entries cover a one-second outage at 1,000 updates/s.
 */
const TRANSPORT_MIN_ENTRIES = 1000;
/** Entries per XREAD/XRANGE page: large enough to amortize a round trip, small enough to keep replies short. */
const PAGE = 1000;
/**
 * How long one XREAD blocks by default: an idle reader wakes this often, and a connection that
 * went silent (a dropped NAT entry, a failed-over host) is replaced after twice this.
 */
const BLOCK_MS = 5000;
/**
 * Age trimming uses the hub's clock, stream IDs carry Redis's: entries are removed only once this
 * much older than `maxAgeMs`, so clock skew between hub nodes and Redis never trims live history.
 * Reads filter by each update's own `time`, so what readers see is exact regardless.
 */
const CLOCK_SLACK_MS = 60_000;

type Entry = [entryId: string, fields: string[]];

/**
 * One append, atomic in Redis: refuse an ID that is still in the kept history (whichever node
 * published it, whatever this node's reader has read), else XADD it and record it.
 *
 * The kept IDs are a sorted set `<prefix>:ids`, scored by the update's time and trimmed to the
 * newest `maxCount` (and by age), i.e. the IDs the memory store would still know.
 *
 * KEYS: stream, ids. ARGV: id, time, body, stream MAXLEN, maxCount, age cutoff (an ID scored
 * below it is expired and may be reused), age trim bound ('' for none).
 * Returns the entry ID, or nil for a duplicate.
 */
const APPEND_SCRIPT = `
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if score and tonumber(score) >= tonumber(ARGV[6]) then return false end
local entry = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'i', ARGV[1], 'm', ARGV[2], 'b', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[5]) + 1))
if ARGV[7] ~= '' then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[7]) end
return entry
`;

/** The writer connection with the append script defined on it (ioredis `defineCommand`). */
type Writer = Redis & {
  heraldAppend(...args: string[]): Promise<string | null>;
};

/**
 * Creates a store over one Redis stream shared by every hub node with the same Redis and prefix:
 * history for `Last-Event-ID`, and the relay that carries each update to every node.
 *
 * - `append` is one `XADD` to `<prefix>:updates` with `MAXLEN ~` (approximate trimming, O(1)
 *   amortized) and, about once a second, `XTRIM MINID ~` for age. An entry holds three fields:
 *   `i` the update ID, `m` its time, `b` the rest as compact JSON.
 * - ONE blocking reader per store (`XREAD BLOCK` on its own connection) feeds `subscribe`: every
 *   node's listeners see every update, each once, in stream order, with the same IDs. It starts at
 *   the newest entry (a restarted node does not replay history to live clients) and, after an
 *   outage, resumes from the last entry it read, so nothing published meanwhile is missed (unless
 *   the stream was trimmed past it).
 * - `after(id)` finds the entry of `id` in a local index (update ID -> stream ID) of the newest
 *   `maxCount` entries, loaded at start and fed by the reader: no extra keys in Redis and O(1)
 *   lookups, for ~100 bytes per kept update per node. An ID the reader has not reached yet is looked
 *   for among the few entries past the last one read. It then reads with one `XRANGE`.
 * - When Redis is down or slow, `append` and reads reject with `StoreUnavailableError` at once or
 *   within `commandTimeoutMs`, never queueing (`enableOfflineQueue: false`), and an unanswered XADD
 *   is never resent (it may have been applied; resending could publish twice).
 * - Duplicate IDs are refused cluster-wide: the append is one Lua script that checks a sorted set
 *   of the kept IDs (`<prefix>:ids`, trimmed like history) and XADDs in the same step, so two
 *   nodes publishing one ID at once, or a node whose reader lags, cannot both succeed.
 *
 * Connects in the background; `ready()` waits for it. `openStore('redis://…')` does that for you.
 *
 * @example
 * const store = createRedisStore('redis://127.0.0.1:6379/0', DEFAULT_RETENTION, { prefix: 'herald:prod' });
 * await store.ready();
 */
export function createRedisStore(
  url: string,
  retention: Retention,
  options: RedisStoreOptions = {},
): RedisStore {
  return new RedisStreamStore(url, checkRetention(retention), options);
}

class RedisStreamStore implements RedisStore {
  readonly #key: string;
  readonly #display: string;
  readonly #maxCount: number;
  readonly #maxAgeMs: number;
  readonly #physicalMax: string;
  readonly #ageTrimEveryMs: number;
  readonly #now: () => number;
  readonly #connectTimeoutMs: number;
  readonly #blockMs: number;
  readonly #onStatus: (status: RedisStatus, error?: Error) => void;
  readonly #listeners: ListenerSet;
  /** The kept updates, by the shared retention rules, as this node's reader read them: value = stream entry ID. */
  readonly #index: HistoryIndex<string>;
  /** Entries (and their update IDs) evicted by the index and not yet deleted from Redis. */
  #evicted: { id: string; value: string }[] = [];
  readonly #idsKey: string;
  readonly #writer: Writer;
  readonly #reader: Redis;
  readonly #pendingAppends = new Set<Promise<unknown>>();
  /** The stream ID of the newest entry this node appended. */
  #lastAppended: string | undefined;
  /** The stream ID of the last entry read; the reader's next XREAD starts after it. */
  #lastRead = '0-0';
  /**
   * The ordinal of `#lastRead` in the stream (1 for the first entry ever added), counted as entries
   * are read; undefined on Redis before 7.0, which does not report `entries-added`.
   */
  #readCount: number | undefined = 0;
  /** Set when reading was interrupted: the next read first checks what happened to the stream meanwhile. */
  #interrupted = false;
  #lastAgeTrim = 0;
  /** Whether Redis answered last time we knew; undefined until the first connection or error. */
  #up: boolean | undefined;
  #lastError: Error | undefined;
  #closed = false;
  #running: Promise<void>;
  #isReady = false;
  /** `ready()` calls waiting for the first connection: resolved once ready, rejected by `close()`. */
  #readyWaiters: { resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout }[] = [];
  #wake: (() => void) | undefined;
  readonly #commandTimeoutMs: number;
  readonly #waitReplicas: number;
  readonly #waitReplicasTimeoutMs: number;
  /** A setup that cannot work (a Redis Cluster node): `ready()` rejects with it and nothing runs. */
  #fatal: StoreConfigError | undefined;
  /** `after` calls waiting for the reader to pass an entry (see #readerPassed). */
  #readWaiters: {
    entryId: string;
    resolve: () => void;
    reject: (error: Error) => void;
    timer: NodeJS.Timeout;
  }[] = [];

  constructor(url: string, retention: Required<Retention>, options: RedisStoreOptions) {
    const location = redisLocation('store', url);
    const prefix = redisPrefix('store', options.prefix);
    const commandTimeoutMs = positiveMs('store', 'commandTimeoutMs', options.commandTimeoutMs, 2000);
    this.#commandTimeoutMs = commandTimeoutMs;
    this.#connectTimeoutMs = positiveMs('store', 'connectTimeoutMs', options.connectTimeoutMs, 5000);
    this.#blockMs = positiveMs('store', 'readBlockMs', options.readBlockMs, BLOCK_MS);
    this.#waitReplicas = options.waitReplicas ?? 0;
    if (!Number.isSafeInteger(this.#waitReplicas) || this.#waitReplicas < 0) {
      throw new StoreConfigError(
        `redis store waitReplicas must be a non-negative integer (got ${String(options.waitReplicas)}); e.g. 1`,
      );
    }
    this.#waitReplicasTimeoutMs = positiveMs(
      'store',
      'waitReplicasTimeoutMs',
      options.waitReplicasTimeoutMs,
      Math.min(1000, Math.floor(commandTimeoutMs / 2) || 1),
    );
    if (this.#waitReplicasTimeoutMs >= commandTimeoutMs) {
      throw new StoreConfigError(
        `redis store waitReplicasTimeoutMs (${this.#waitReplicasTimeoutMs}) must be below commandTimeoutMs ` +
          `(${commandTimeoutMs}): WAIT is a command and would time out first`,
      );
    }
    this.#key = `${prefix}:updates`;
    this.#idsKey = `${prefix}:ids`;
    this.#display = location.display;
    this.#maxCount = retention.maxCount;
    this.#maxAgeMs = retention.maxAgeMs;
    this.#physicalMax = String(physicalMax(retention));
    this.#ageTrimEveryMs = Math.min(60_000, Math.max(1000, retention.maxAgeMs / 10));
    this.#now = options.now ?? Date.now;
    this.#onStatus = options.onStatus ?? warnWhenDown(location.display);
    this.#listeners = new ListenerSet(options.onError);
    this.#index = new HistoryIndex<string>(retention, (id, value) => this.#evicted.push({ id, value }));

    const common: RedisOptions = {
      ...baseRedisOptions(location),
      protocol: 2,
      connectTimeout: this.#connectTimeoutMs,
      // Never resend a command that was in flight when the connection dropped: XADD is not
      // idempotent.
      autoResendUnfulfilledCommands: false,
    };
    this.#writer = new Redis({
      ...common,
      commandTimeout: commandTimeoutMs,
      connectionName: `${connectionName(prefix)}:writer`,
    }) as Writer;
    // EVALSHA, falling back to EVAL once after a Redis restart (NOSCRIPT: nothing was run).
    this.#writer.defineCommand('heraldAppend', { numberOfKeys: 2, lua: APPEND_SCRIPT });
    // The reader's XREAD blocks, so no command timeout; `blockingTimeout` makes the client give up
    // on a blocked read that outlives its BLOCK time by as much again (see #run).
    this.#reader = new Redis({
      ...common,
      blockingTimeout: this.#blockMs,
      blockingTimeoutGrace: this.#blockMs,
      connectionName: `${connectionName(prefix)}:reader`,
    });
    for (const connection of [this.#writer, this.#reader]) {
      connection.on('error', (error: Error) => this.#setUp(false, error));
      connection.on('ready', () => {
        if (this.#writer.status === 'ready' && this.#reader.status === 'ready') this.#setUp(true);
        this.#wake?.();
      });
    }
    this.#running = this.#run();
  }

  append(update: Update): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreClosedError('append'));
    const time = String(update.time);
    const body = encodeBody(update);
    // Without history no ID is kept, so none is a duplicate: a plain XADD.
    const xadd =
      this.#maxCount === 0
        ? this.#writer.call('XADD', [
            this.#key,
            'MAXLEN',
            '~',
            this.#physicalMax,
            '*',
            'i',
            update.id,
            'm',
            time,
            'b',
            body,
          ])
        : this.#writer.heraldAppend(
            this.#key,
            this.#idsKey,
            update.id,
            time,
            body,
            this.#physicalMax,
            this.#physicalMax,
            String(this.#maxAgeMs === 0 ? Number.MIN_SAFE_INTEGER : this.#cutoff()),
            this.#maxAgeMs === 0 ? '' : String(Math.floor(this.#cutoff() - CLOCK_SLACK_MS)),
          );
    this.#maybeTrimAge();
    const done = xadd.then(
      async (entryId) => {
        if (entryId === null) {
          this.#pendingAppends.delete(done);
          throw new DuplicateUpdateIdError(update.id);
        }
        const appended = String(entryId);
        if (this.#lastAppended === undefined || compareEntryIds(appended, this.#lastAppended) > 0) {
          this.#lastAppended = appended;
        }
        if (this.#waitReplicas > 0) {
          const confirmed = await this.#confirmReplicated(update.id).finally(() =>
            this.#pendingAppends.delete(done),
          );
          if (confirmed < this.#waitReplicas) {
            throw new StoreUnavailableError(
              `redis store could not confirm update ${JSON.stringify(update.id)} on ${this.#waitReplicas} ` +
                `replica(s) within ${this.#waitReplicasTimeoutMs} ms (${confirmed} confirmed): the master at ` +
                `${this.#display} has it, but it may be lost if the master fails now; retry later`,
            );
          }
        }
        this.#pendingAppends.delete(done);
      },
      (error: unknown) => {
        this.#pendingAppends.delete(done);
        throw this.#translate(error, 'append');
      },
    );
    this.#pendingAppends.add(done);
    return done;
  }

  /**
   * `WAIT n timeout` after an append: how many replicas have every write of this connection so far,
   * hence this update. Run on the writer, which made the append (WAIT counts the calling
   * connection's writes).
   */
  async #confirmReplicated(id: string): Promise<number> {
    try {
      return (await this.#writer.call('WAIT', [
        String(this.#waitReplicas),
        String(this.#waitReplicasTimeoutMs),
      ])) as number;
    } catch (error) {
      throw this.#translate(error, `confirm update ${JSON.stringify(id)} on replicas`);
    }
  }

  async after(lastEventId: string, limit: number): Promise<{ found: boolean; updates: Update[] }> {
    if (this.#closed) throw new StoreClosedError('read history');
    const max = checkLimit(limit);
    if (this.#maxCount === 0) return { found: lastEventId === 'earliest', updates: [] };
    const cutoff = this.#cutoff();
    try {
      if (this.#writer.status !== 'ready') throw new Error(`connection ${this.#writer.status}`);
      // History is read through the index the reader feeds: first let it reach this node's own
      // appends, which `append` promised visible once resolved.
      await this.#readerPassed(this.#lastAppended);
      this.#index.trimAge(cutoff);
      if (lastEventId === 'earliest') {
        return { found: true, updates: await this.#fetch(this.#index.after(undefined, max), cutoff) };
      }
      const from = this.#index.get(lastEventId);
      if (from !== undefined) {
        if (!this.#index.isWhole(from)) return { found: false, updates: [] };
        return { found: true, updates: await this.#fetch(this.#index.after(from, max), cutoff) };
      }
      return await this.#findUnread(lastEventId, max, cutoff);
    } catch (error) {
      throw this.#translate(error, 'read history');
    }
  }

  async lastId(): Promise<string | undefined> {
    if (this.#closed) throw new StoreClosedError('read history');
    if (this.#maxCount === 0) return undefined;
    try {
      const [newest] = (await this.#writer.call('XREVRANGE', [this.#key, '+', '-', 'COUNT', '1'])) as Entry[];
      const update = newest && this.#decode(newest);
      return update && update.time >= this.#cutoff() ? update.id : undefined;
    } catch (error) {
      throw this.#translate(error, 'read history');
    }
  }

  /**
   * XREVRANGE pages from the last entry this node's reader read (never one it has yet to hand to
   * `subscribe` listeners) back to the oldest kept, until an entry the index keeps that is not
   * private. Waits for the store to be ready (the index loaded), within `ready()`'s bound.
   */
  async newestPublicId(): Promise<string | undefined> {
    if (this.#closed) throw new StoreClosedError('read history');
    if (this.#maxCount === 0) return undefined;
    await this.ready();
    try {
      const cutoff = this.#cutoff();
      this.#index.trimAge(cutoff);
      const oldest = this.#index.oldest?.value;
      if (oldest === undefined) return undefined;
      let end = this.#lastRead;
      for (;;) {
        const page = (await this.#writer.call('XREVRANGE', [
          this.#key,
          end,
          oldest,
          'COUNT',
          String(PAGE),
        ])) as Entry[];
        for (const entry of page) {
          const update = this.#decode(entry);
          if (update === undefined || update.private || update.time < cutoff) continue;
          if (this.#index.get(update.id)?.value === entry[0]) return update.id;
        }
        if (page.length < PAGE) return undefined;
        end = `(${page[page.length - 1][0]}`;
      }
    } catch (error) {
      throw this.#translate(error, 'read history');
    }
  }

  subscribe(listener: (update: Update) => void): () => void {
    if (this.#closed) throw new StoreClosedError('subscribe');
    return this.#listeners.add(listener);
  }

  ready(timeoutMs = this.#connectTimeoutMs): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreClosedError('connect'));
    if (this.#fatal !== undefined) return Promise.reject(this.#fatal);
    if (this.#isReady) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((w) => w !== waiter);
        const reason = this.#lastError ? `: ${this.#lastError.message}` : '';
        reject(
          new StoreUnavailableError(
            `redis store could not reach Redis at ${this.#display} within ${timeoutMs} ms${reason}; ` +
              'check that Redis is running and the URL, credentials and TLS setting are right',
            { cause: this.#lastError },
          ),
        );
      }, timeoutMs);
      const waiter = { resolve, reject, timer };
      this.#readyWaiters.push(waiter);
    });
  }

  #settleReadyWaiters(error?: Error): void {
    for (const waiter of this.#readyWaiters.splice(0)) {
      clearTimeout(waiter.timer);
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#settleReadyWaiters(new StoreClosedError('connect'));
    for (const waiter of this.#readWaiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new StoreClosedError('read history'));
    }
    await Promise.allSettled(this.#pendingAppends);
    this.#writer.disconnect();
    this.#reader.disconnect();
    this.#wake?.();
    await this.#running;
  }

  /** Loads the index, then reads the stream until closed, waiting out outages. */
  async #run(): Promise<void> {
    while (!this.#closed) {
      if (this.#writer.status !== 'ready') {
        await this.#sleepUntilReady(this.#writer);
        continue;
      }
      try {
        if (await this.#isClusterNode()) return;
        await this.#loadIndex();
        break;
      } catch (error) {
        if (this.#closed) return;
        this.#setUp(false, error as Error);
        await this.#sleepUntilReady(this.#writer);
      }
    }
    if (this.#closed) return;
    this.#isReady = true;
    this.#settleReadyWaiters();
    while (!this.#closed) {
      // Commands fail at once while disconnected (no offline queue): wait for the connection
      // rather than spin, and let its 'error' events tell of the outage.
      if (this.#reader.status !== 'ready') {
        await this.#sleepUntilReady(this.#reader);
        continue;
      }
      if (this.#interrupted) {
        try {
          await this.#checkContinuity();
        } catch (error) {
          if (this.#closed) return;
          this.#setUp(false, error as Error);
          await this.#sleepUntilReady(this.#reader);
          continue;
        }
        this.#interrupted = false;
      }
      let reply: [key: string, entries: Entry[]][] | null;
      const startedAt = performance.now();
      try {
        reply = (await this.#reader.call('XREAD', [
          'COUNT',
          String(PAGE),
          'BLOCK',
          String(this.#blockMs),
          'STREAMS',
          this.#key,
          this.#lastRead,
        ])) as [string, Entry[]][] | null;
      } catch (error) {
        if (this.#closed) return;
        this.#interrupted = true;
        this.#setUp(false, error as Error);
        await this.#sleepUntilReady(this.#reader);
        continue;
      }
      if (reply === null) {
        // Redis answers an empty XREAD after blockMs; a null much later may have come from the
        // client's own timer (a silent connection) or from a busy event loop. A PING tells which;
        // a silent connection is replaced now rather than when TCP gives up, minutes later.
        if (performance.now() - startedAt > this.#blockMs * 1.5 && !(await this.#answers(this.#reader))) {
          if (this.#closed) return;
          this.#interrupted = true;
          this.#setUp(false, new Error(`Redis did not answer the reader within ${this.#blockMs} ms`));
          this.#reader.disconnect(true);
        }
        continue;
      }
      for (const entry of reply[0][1]) {
        this.#lastRead = entry[0];
        if (this.#readCount !== undefined) this.#readCount++;
        const update = this.#decode(entry);
        if (!update) continue;
        this.#keep(update, entry);
        this.#listeners.emit(update);
        if (this.#closed) return;
      }
      this.#deleteEvicted();
      this.#releaseReadWaiters();
    }
  }

  /**
   * Resolves once this node's reader has read (and handed to `subscribe` listeners) the entry
   * `entryId`. History read straight from the stream can run ahead of the reader; a subscriber that
   * joined before reading history would then get those updates again, live, after its replay ended.
   * Waiting until the reader has passed them puts them among the updates the hub saw arrive during
   * the replay, which it sends once. Rejects with `StoreUnavailableError` after `commandTimeoutMs`.
   */
  #readerPassed(entryId: string | undefined): Promise<void> {
    if (entryId === undefined || compareEntryIds(entryId, this.#lastRead) <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        entryId,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#readWaiters = this.#readWaiters.filter((w) => w !== waiter);
          reject(
            new StoreUnavailableError(
              `redis store could not read history: this node's reader did not reach stream entry ${entryId} ` +
                `within ${this.#commandTimeoutMs} ms (Redis at ${this.#display} slow or unreachable); retry later`,
            ),
          );
        }, this.#commandTimeoutMs),
      };
      this.#readWaiters.push(waiter);
    });
  }

  #releaseReadWaiters(): void {
    if (this.#readWaiters.length === 0) return;
    this.#readWaiters = this.#readWaiters.filter((w) => {
      if (compareEntryIds(w.entryId, this.#lastRead) > 0) return true;
      clearTimeout(w.timer);
      w.resolve();
      return false;
    });
  }

  /**
   * After an interruption, before reading on from `#lastRead`: were entries the reader had not
   * read trimmed meanwhile? The stream's first entry is number `entries-added - length + 1`; if that
   * is past the one after the last read, those in between are gone and this node's subscribers
   * missed them: say so. Was the stream recreated (its last ID is now below the last one read, e.g.
   * an empty Redis after a restart)? Then read the new one from its start.
   */
  async #checkContinuity(): Promise<void> {
    let info: unknown[];
    try {
      info = (await this.#reader.call('XINFO', ['STREAM', this.#key])) as unknown[];
    } catch (error) {
      if (!/no such key/i.test((error as Error).message)) throw error;
      this.#lastRead = '0-0'; // deleted: whatever is appended next is new
      this.#readCount = 0;
      return;
    }
    const lastGenerated = String(info[info.indexOf('last-generated-id') + 1]);
    if (compareEntryIds(lastGenerated, this.#lastRead) < 0) {
      if (await this.#resumeAfterRollback(info)) return;
      this.#lastRead = '0-0';
      this.#readCount = entriesAdded(info) === undefined ? undefined : 0;
      return;
    }
    // A failover may also have lost the last entries read while new ones, appended since, already
    // carry later IDs: the last entry read is then missing although the stream starts before it.
    if (this.#lastRead !== '0-0') {
      const first = info[info.indexOf('first-entry') + 1] as Entry | null;
      const [same] = (await this.#reader.call('XRANGE', [
        this.#key,
        this.#lastRead,
        this.#lastRead,
        'COUNT',
        '1',
      ])) as Entry[];
      if (same === undefined && first && compareEntryIds(first[0], this.#lastRead) < 0) {
        if (await this.#resumeAfterRollback(info)) return;
      }
    }
    const added = entriesAdded(info);
    if (added === undefined || this.#readCount === undefined) return;
    const length = Number(info[info.indexOf('length') + 1]);
    const missed = added - length + 1 - (this.#readCount + 1);
    if (missed > 0) {
      this.#onStatus(
        'lost',
        new Error(
          `redis store missed ${missed} update(s): stream ${this.#key} was trimmed past them while this ` +
            `node could not read it (after entry ${this.#lastRead}); its subscribers did not receive them; ` +
            'raise retention.maxCount so the stream outlasts outages',
        ),
      );
      this.#readCount += missed;
    }
  }

  /**
   * Refuses a Redis Cluster node (its keys would be spread over nodes the script cannot reach
   * together): sets `#fatal`, which `ready()` rejects with, and stops. See parseStoreSpec.
   */
  async #isClusterNode(): Promise<boolean> {
    const info = String(await this.#writer.call('INFO', ['cluster']));
    if (!/cluster_enabled:1/.test(info)) return false;
    this.#fatal = new StoreConfigError(
      `Redis at ${this.#display} is a Redis Cluster node, and Redis Cluster is not supported: the ` +
        "store's stream and ID set are appended together by one script and must live on one node; " +
        'use a standalone Redis, or Redis Sentinel for failover (redis+sentinel://…)',
    );
    this.#settleReadyWaiters(this.#fatal);
    this.#onStatus('down', this.#fatal);
    return true;
  }

  /**
   * The stream went back in time: its newest entry is older than the last one read. After a Sentinel
   * failover that is the same stream on a replica that lacked the newest entries (asynchronous
   * replication): the entries this node read past the replica's last one are gone from history.
   * Recognized by the newest entry at or before the last one read being one this node read (same
   * entry ID, same update ID): reading goes on after it, without replaying what subscribers already
   * had, and the rollback is reported (`'lost'`). Returns false for a stream that is not the one
   * read (an emptied or replaced Redis), which is then read from its start.
   */
  async #resumeAfterRollback(info: unknown[]): Promise<boolean> {
    const [kept] = (await this.#reader.call('XREVRANGE', [
      this.#key,
      this.#lastRead,
      '-',
      'COUNT',
      '1',
    ])) as Entry[];
    const id = kept && fieldOf(kept[1], 'i');
    if (id === undefined || this.#index.get(id)?.value !== kept![0]) return false;
    const rolledBackFrom = this.#lastRead;
    this.#lastRead = kept![0];
    const added = entriesAdded(info);
    const since = (await this.#reader.call('XRANGE', [
      this.#key,
      `(${kept![0]}`,
      '+',
      'COUNT',
      String(PAGE),
    ])) as Entry[];
    this.#readCount = added === undefined || since.length === PAGE ? undefined : added - since.length;
    this.#onStatus(
      'lost',
      new Error(
        `redis store found stream ${this.#key} at ${this.#display} rolled back from entry ${rolledBackFrom} ` +
          `to ${kept![0]} (a failover to a replica that had not received the newest updates): updates ` +
          'acknowledged after it are gone from history, and nodes that had not read them never will; ' +
          'to keep acknowledged updates across a failover, acknowledge after replication (waitReplicas)',
      ),
    );
    return true;
  }

  /** Indexes the newest `maxCount` entries and starts reading after the newest one. */
  async #loadIndex(): Promise<void> {
    // Where reading starts, and that entry's ordinal in the stream (`entries-added`, Redis 7+),
    // read atomically: counting entries from there tells, after an outage, whether any were
    // trimmed before this node read them (see #checkContinuity).
    const [[newestError, newestReply], [infoError, infoReply]] = (await this.#writer
      .multi()
      .call('XREVRANGE', this.#key, '+', '-', 'COUNT', '1')
      .call('XINFO', 'STREAM', this.#key)
      .exec()) as [[Error | null, unknown], [Error | null, unknown]];
    if (newestError) throw newestError;
    const [newest] = newestReply as Entry[];
    if (!newest) return; // no stream yet: read from its start, entry ordinal 0
    if (infoError) throw infoError;
    this.#lastRead = newest[0];
    this.#readCount = entriesAdded(infoReply as unknown[]);

    // Every entry, oldest first: per-topic retention may keep an old entry of a quiet topic.
    let from = '-';
    for (;;) {
      const page = (await this.#writer.call('XRANGE', [
        this.#key,
        from,
        newest[0],
        'COUNT',
        String(PAGE),
      ])) as Entry[];
      for (const entry of page) {
        const update = this.#decode(entry);
        if (update) this.#keep(update, entry);
      }
      if (page.length < PAGE) break;
      from = `(${page[page.length - 1][0]}`;
    }
    this.#index.trimAge(this.#cutoff());
    this.#deleteEvicted();
  }

  /** Indexes an update read from the stream; an ID kept already (two nodes racing) keeps its first entry. */
  #keep(update: Update, [entryId, fields]: Entry): void {
    // `add` changes nothing for a kept ID: no look-up of its own first.
    const size = UPDATE_OVERHEAD_BYTES + update.id.length + (fieldOf(fields, 'b')?.length ?? 0);
    this.#index.add(update.id, update.time, update.topics, size, entryId);
  }

  /**
   * Deletes from Redis the entries the index evicted, and frees their IDs, in one pipeline sent
   * before the reader waits again (so an append that follows a delivery finds the ID free). Every
   * node reads the same stream under the same retention and evicts the same entries: the deletes
   * are repeated by each node, harmlessly. Best effort: `MAXLEN` still bounds the stream.
   */
  #deleteEvicted(): void {
    if (this.#evicted.length === 0) return;
    const evicted = this.#evicted;
    this.#evicted = [];
    this.#writer
      .multi()
      .call('XDEL', this.#key, ...evicted.map((e) => e.value))
      .call('ZREM', this.#idsKey, ...evicted.map((e) => e.id))
      .exec()
      .catch(() => {});
  }

  /**
   * The updates of kept entries, oldest first, none older than `cutoff`: XRANGEs from the first to
   * the last (at most PAGE entries each), keeping the wanted ones (the range may also hold entries
   * evicted but not yet deleted).
   */
  async #fetch(entries: Kept<string>[], cutoff: number): Promise<Update[]> {
    if (entries.length === 0) return [];
    const wanted = new Set(entries.map((e) => e.value));
    const last = entries[entries.length - 1].value;
    const updates: Update[] = [];
    let from = entries[0].value;
    for (;;) {
      const page = (await this.#writer.call('XRANGE', [
        this.#key,
        from,
        last,
        'COUNT',
        String(PAGE),
      ])) as Entry[];
      for (const entry of page) {
        if (!wanted.has(entry[0])) continue;
        const update = this.#decode(entry);
        if (update && update.time >= cutoff) updates.push(update);
      }
      if (page.length < PAGE) break;
      from = `(${page[page.length - 1][0]}`;
    }
    return updates;
  }

  /** Up to `count` updates after stream entry `entryId`, oldest first, none older than `cutoff`. */
  async #readAfter(entryId: string, count: number, cutoff: number): Promise<Update[]> {
    if (count === 0) return [];
    const entries = await this.#range(`(${entryId}`, count);
    await this.#readerPassed(entries.at(-1)?.[0]);
    return this.#decodeAll(entries, cutoff);
  }

  /**
   * Up to `count` entries from `start` (an XRANGE bound), oldest first, in XRANGEs of at most
   * PAGE entries: one reply holding the whole history (100k entries by default) would block Redis
   * and every other client while it is built and sent.
   */
  async #range(start: string, count: number): Promise<Entry[]> {
    const entries: Entry[] = [];
    let from = start;
    while (entries.length < count) {
      const n = Math.min(PAGE, count - entries.length);
      const page = (await this.#writer.call('XRANGE', [this.#key, from, '+', 'COUNT', String(n)])) as Entry[];
      for (const entry of page) entries.push(entry);
      if (page.length < n) break;
      from = `(${page[page.length - 1][0]}`;
    }
    return entries;
  }

  /**
   * Looks for `id` among the entries the reader has not reached yet (an update appended a moment
   * ago, by this node or another): a page or two at most in steady state, and never more than
   * `maxCount` entries, since older ones are indexed or no longer kept.
   */
  async #findUnread(id: string, max: number, cutoff: number): Promise<{ found: boolean; updates: Update[] }> {
    let start = `(${this.#lastRead}`;
    for (let scanned = 0; scanned < this.#maxCount; ) {
      const count = Math.min(PAGE, this.#maxCount - scanned);
      const page = (await this.#writer.call('XRANGE', [
        this.#key,
        start,
        '+',
        'COUNT',
        String(count),
      ])) as Entry[];
      const at = page.findIndex((entry) => fieldOf(entry[1], 'i') === id);
      if (at >= 0) {
        const found = this.#decode(page[at]);
        if (!found || found.time < cutoff) return { found: false, updates: [] };
        const returned = page.slice(at + 1, at + 1 + max);
        await this.#readerPassed((returned.at(-1) ?? page[at])[0]);
        const updates = this.#decodeAll(returned, cutoff);
        if (updates.length < max && page.length === count) {
          updates.push(...(await this.#readAfter(page[page.length - 1][0], max - updates.length, cutoff)));
        }
        return { found: true, updates };
      }
      if (page.length < count) break;
      scanned += page.length;
      start = `(${page[page.length - 1][0]}`;
    }
    return { found: false, updates: [] };
  }

  #decodeAll(entries: Entry[], cutoff: number): Update[] {
    const updates: Update[] = [];
    for (const entry of entries) {
      const update = this.#decode(entry);
      if (update && update.time >= cutoff) updates.push(update);
    }
    return updates;
  }

  /** The update an entry holds, or undefined (reported) when another program wrote something else there. */
  #decode([entryId, fields]: Entry): Update | undefined {
    const id = fieldOf(fields, 'i');
    const time = Number(fieldOf(fields, 'm'));
    const body = fieldOf(fields, 'b');
    if (id !== undefined && body !== undefined && Number.isFinite(time)) {
      try {
        return decodeUpdate(id, time, body);
      } catch {
        // reported below
      }
    }
    process.emitWarning(
      `redis store skipped stream entry ${entryId} of ${this.#key}: not a Herald update; ` +
        'another program writes to this key: give Herald its own prefix',
      'HeraldStoreWarning',
    );
    return undefined;
  }

  #maybeTrimAge(): void {
    if (this.#maxAgeMs === 0) return;
    const now = this.#now();
    if (now - this.#lastAgeTrim < this.#ageTrimEveryMs) return;
    this.#lastAgeTrim = now;
    const minId = Math.max(0, Math.floor(now - this.#maxAgeMs - CLOCK_SLACK_MS));
    // Best effort: a failed trim is retried with the next one; readers filter by age anyway.
    this.#writer.call('XTRIM', [this.#key, 'MINID', '~', String(minId)]).catch(() => {});
  }

  /** Whether `connection` answers a PING within blockMs. */
  #answers(connection: Redis): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.#blockMs, false);
      connection.ping().then(
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        () => {
          clearTimeout(timer);
          resolve(false);
        },
      );
    });
  }

  #cutoff(): number {
    return this.#maxAgeMs === 0 ? Number.MIN_SAFE_INTEGER : this.#now() - this.#maxAgeMs;
  }

  #setUp(up: boolean, error?: Error): void {
    if (error) this.#lastError = error;
    if (this.#closed || up === this.#up) return;
    this.#up = up;
    this.#onStatus(up ? 'up' : 'down', up ? undefined : error);
  }

  /** Waits until `connection` is ready again (or a second passes, or the store closes). */
  #sleepUntilReady(connection: Redis): Promise<void> {
    if (connection.status === 'ready') {
      // Connected, yet the command failed (e.g. the key holds another type): retry, but not in a busy loop.
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  #translate(error: unknown, action: string): Error {
    if (error instanceof StoreClosedError || error instanceof StoreUnavailableError) return error;
    // A bug here is not an outage: let it surface as what it is.
    if (error instanceof TypeError || error instanceof RangeError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (message === 'Command timed out' && this.#writer.status === 'ready' && !this.#closed) {
      // A silent connection looks connected until TCP gives up, minutes later: replace it now.
      this.#setUp(false, error as Error);
      this.#writer.disconnect(true);
    }
    if (/^WRONGTYPE/.test(message)) {
      return new StoreConfigError(
        `redis store key ${JSON.stringify(this.#key)} at ${this.#display} holds another type of value ` +
          `(${message}); give Herald its own prefix`,
        { cause: error },
      );
    }
    return new StoreUnavailableError(
      `redis store could not ${action}: Redis at ${this.#display} is unavailable (${message}); retry later`,
      { cause: error },
    );
  }
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length - 1; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function warnWhenDown(display: string): (status: RedisStatus, error?: Error) => void {
  return (status, error) => {
    if (status === 'down') {
      process.emitWarning(
        `redis store lost Redis at ${display} (${error?.message ?? 'unknown error'}); ` +
          'appends fail with StoreUnavailableError until it is back',
        'HeraldStoreWarning',
      );
    } else if (status === 'lost') {
      process.emitWarning(error?.message ?? 'redis store missed updates', 'HeraldStoreWarning');
    }
  };
}

/**
 * The stream's `MAXLEN`: a backstop, since the index deletes evicted entries itself. It must not
 * cut kept updates of quiet topics, so it allows as many entries as `maxBytes` can hold at their
 * smallest (UPDATE_OVERHEAD_BYTES each); without a byte limit, `maxCount` as before.
 */
function physicalMax(retention: Required<Retention>): number {
  const byBytes = retention.maxBytes > 0 ? Math.floor(retention.maxBytes / UPDATE_OVERHEAD_BYTES) : 0;
  return Math.max(retention.maxCount, byBytes, TRANSPORT_MIN_ENTRIES);
}

/** `entries-added` from an XINFO STREAM reply (Redis 7+), else undefined. */
function entriesAdded(info: unknown[]): number | undefined {
  const at = info.indexOf('entries-added');
  return at < 0 ? undefined : Number(info[at + 1]);
}

/** Orders two stream entry IDs (`<ms>-<seq>`). */
export function compareEntryIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number);
  const [bMs, bSeq] = b.split('-').map(Number);
  return aMs - bMs || (aSeq ?? 0) - (bSeq ?? 0);
}
