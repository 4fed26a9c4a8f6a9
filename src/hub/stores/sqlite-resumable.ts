/**
 * Resumable streams in an SQLite file: streams survive a restart of the process (readers
 * reconnecting afterwards get every chunk), for one process per file, as the history store.
 *
 * Two tables: `resumable_streams` (one row per stream: tag, state, counts, times) and
 * `resumable_chunks` keyed by (stream, seq) without rowid, so reading "after n" is one range scan
 * of the primary key. Each append is one transaction (the writer batches chunks into it).
 * Watchers are this process's only: nobody else may write the file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  type AppendOptions,
  alreadyAppended,
  type CreateOptions,
  type ResumableStore,
  StreamCapacityError,
  StreamEndedError,
  StreamExistsError,
  type StreamInfo,
  StreamNotFoundError,
  type StreamPage,
  type StreamState,
  StreamTooLargeError,
} from '../../server/index.js';
import { StoreClosedError, StoreConfigError, StoreUnavailableError } from './errors.js';
import { addonLoadError } from './sqlite-addon.js';

/** Options of {@link createSqliteResumableStore}. */
export interface SqliteResumableStoreOptions {
  /** The clock, in ms since the epoch (tests inject one). */
  now?: () => number;
  /** How long to wait for a lock held by another connection (default 2,000 ms). */
  busyTimeoutMs?: number;
}

/** Marks the file as a Herald resumable-stream store (`PRAGMA application_id`, the bytes "HRLS"). */
const APPLICATION_ID = 0x48524c53;
/** How often finished streams past their expiry are deleted (reads check expiry too). */
const SWEEP_MS = 5000;

type Row = {
  tag: string;
  state: StreamState;
  count: number;
  bytes: number;
  reason: string | null;
  touched: number;
  expires: number | null;
};

/**
 * Creates a resumable-stream store in the SQLite file at `path` (created with its directory). Use a
 * file of its own, not the history store's: each holds its file exclusively.
 *
 * @example
 * const streams = createResumableStreams({ store: createSqliteResumableStore('/var/lib/herald/streams.db') });
 */
export function createSqliteResumableStore(
  path: string,
  options: SqliteResumableStoreOptions = {},
): ResumableStore {
  return new SqliteResumable(path, options);
}

class SqliteResumable implements ResumableStore {
  readonly #now: () => number;
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #get: Database.Statement<[string], Row>;
  readonly #insert: Database.Statement<[string, string, number]>;
  readonly #insertChunk: Database.Statement<[string, number, string]>;
  readonly #update: Database.Statement<[number, number, number, string]>;
  readonly #setState: Database.Statement<[string, string | null, number, string]>;
  readonly #touch: Database.Statement<[number, string]>;
  readonly #chunks: Database.Statement<[string, number, number], { data: string }>;
  readonly #delete: (id: string) => void;
  readonly #appendTx: (
    id: string,
    chunks: readonly string[],
    bytes: number,
    max: number,
    options: AppendOptions,
  ) => number;
  readonly #createTx: (id: string, tag: string, options: CreateOptions) => void;
  /** Open streams and chunk bytes held, counted at start and kept here (this process owns the file). */
  #open = 0;
  #held = 0;
  readonly #watchers = new Map<string, Set<() => void>>();
  #sweeper: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(path: string, options: SqliteResumableStoreOptions) {
    this.#now = options.now ?? Date.now;
    this.#path = path;
    const busy = options.busyTimeoutMs ?? 2000;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.#db = new Database(path, { timeout: busy });
    } catch (error) {
      throw (
        addonLoadError(error, path) ??
        new StoreConfigError(
          `sqlite resumable store cannot open ${JSON.stringify(path)}: ${(error as Error).message}`,
          {
            cause: error,
          },
        )
      );
    }
    const db = this.#db;
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const appId = db.pragma('application_id', { simple: true }) as number;
      const tables = (
        db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number }
      ).n;
      if (appId === 0 && tables === 0) {
        db.exec(`
          CREATE TABLE resumable_streams (
            id      TEXT PRIMARY KEY,
            tag     TEXT NOT NULL,
            state   TEXT NOT NULL,     -- open, ended, aborted
            count   INTEGER NOT NULL,  -- chunks 1..count are in resumable_chunks
            bytes   INTEGER NOT NULL,
            reason  TEXT,
            touched INTEGER NOT NULL,  -- last append or touch, ms since the epoch
            expires INTEGER            -- when a finished stream is deleted
          );
          CREATE TABLE resumable_chunks (
            stream TEXT NOT NULL,
            seq    INTEGER NOT NULL,
            data   TEXT NOT NULL,
            PRIMARY KEY (stream, seq)
          ) WITHOUT ROWID;
          CREATE INDEX resumable_expiry ON resumable_streams (expires) WHERE expires IS NOT NULL;
        `);
        db.pragma(`application_id = ${APPLICATION_ID}`);
      } else if (appId !== APPLICATION_ID) {
        throw new StoreConfigError(
          `sqlite resumable store file must be a Herald streams database (got ${JSON.stringify(path)}, ` +
            'another database); give resumable streams a file of their own',
        );
      }
      this.#get = db.prepare(
        'SELECT tag, state, count, bytes, reason, touched, expires FROM resumable_streams WHERE id = ?',
      );
      this.#insert = db.prepare(
        "INSERT INTO resumable_streams (id, tag, state, count, bytes, touched) VALUES (?, ?, 'open', 0, 0, ?)",
      );
      this.#insertChunk = db.prepare('INSERT INTO resumable_chunks (stream, seq, data) VALUES (?, ?, ?)');
      this.#update = db.prepare(
        'UPDATE resumable_streams SET count = ?, bytes = ?, touched = ? WHERE id = ?',
      );
      this.#setState = db.prepare(
        'UPDATE resumable_streams SET state = ?, reason = ?, expires = ? WHERE id = ?',
      );
      this.#touch = db.prepare("UPDATE resumable_streams SET touched = ? WHERE id = ? AND state = 'open'");
      this.#chunks = db.prepare(
        'SELECT data FROM resumable_chunks WHERE stream = ? AND seq > ? AND seq <= ? ORDER BY seq',
      );
      const deleteStream = db.prepare('DELETE FROM resumable_streams WHERE id = ?');
      const deleteChunks = db.prepare('DELETE FROM resumable_chunks WHERE stream = ?');
      this.#delete = db.transaction((id: string) => {
        const gone = this.#get.get(id);
        deleteChunks.run(id);
        deleteStream.run(id);
        if (gone !== undefined) {
          this.#held -= gone.bytes;
          if (gone.state === 'open') this.#open--;
        }
      });
      this.#appendTx = db.transaction(
        (id: string, chunks: readonly string[], bytes: number, max: number, options: AppendOptions) => {
          const row = this.#live(id);
          if (row === undefined) throw new StreamNotFoundError(id);
          if (row.state !== 'open') throw new StreamEndedError(id, row.state);
          if (alreadyAppended(id, row.count, options.after, chunks.length))
            return options.after! + chunks.length;
          if (row.bytes + bytes > max)
            throw new StreamTooLargeError(id, 'maxStreamBytes', row.bytes + bytes, max);
          if (!this.#fits(bytes, options.maxHeldBytes))
            throw new StreamCapacityError(id, 'maxHeldBytes', options.maxHeldBytes!);
          let n = row.count;
          for (const chunk of chunks) this.#insertChunk.run(id, ++n, chunk);
          this.#update.run(n, row.bytes + bytes, this.#now(), id);
          this.#held += bytes;
          return n;
        },
      );
      this.#createTx = db.transaction((id: string, tag: string, options: CreateOptions) => {
        if (this.#live(id) !== undefined) throw new StreamExistsError(id);
        const bytes = options.bytes ?? 0;
        const max = options.maxStreamBytes ?? Number.POSITIVE_INFINITY;
        if (bytes > max) throw new StreamTooLargeError(id, 'maxStreamBytes', bytes, max);
        if (options.maxOpenStreams !== undefined && this.#open >= options.maxOpenStreams)
          throw new StreamCapacityError(id, 'maxOpenStreams', options.maxOpenStreams);
        if (!this.#fits(bytes, options.maxHeldBytes))
          throw new StreamCapacityError(id, 'maxHeldBytes', options.maxHeldBytes!);
        this.#insert.run(id, tag, this.#now());
        let n = 0;
        for (const chunk of options.chunks ?? []) this.#insertChunk.run(id, ++n, chunk);
        if (n > 0) this.#update.run(n, bytes, this.#now(), id);
        this.#open++;
        this.#held += bytes;
      });
      const usage = db
        .prepare(
          "SELECT coalesce(sum(state = 'open'), 0) AS open, coalesce(sum(bytes), 0) AS held FROM resumable_streams",
        )
        .get() as { open: number; held: number };
      this.#open = usage.open;
      this.#held = usage.held;
    } catch (error) {
      db.close();
      if (error instanceof StoreConfigError) throw error;
      throw new StoreUnavailableError(
        `sqlite resumable store cannot use ${JSON.stringify(path)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // Sweep at start too: streams that expired while the process was down.
    this.#sweep();
  }

  create(streamId: string, tag: string, options: CreateOptions = {}): Promise<StreamInfo> {
    return this.#run(() => {
      this.#createTx(streamId, tag, options);
      this.#notify(streamId);
      return { tag, state: 'open' as const, count: options.chunks?.length ?? 0, bytes: options.bytes ?? 0 };
    });
  }

  append(
    streamId: string,
    chunks: readonly string[],
    bytes: number,
    maxStreamBytes: number,
    options: AppendOptions = {},
  ): Promise<number> {
    return this.#run(() => {
      const n = this.#appendTx(streamId, chunks, bytes, maxStreamBytes, options);
      this.#notify(streamId);
      return n;
    });
  }

  finish(
    streamId: string,
    state: 'ended' | 'aborted',
    reason: string | undefined,
    expireAfterMs: number,
  ): Promise<StreamInfo> {
    return this.#run(() => {
      const row = this.#live(streamId);
      if (row === undefined) throw new StreamNotFoundError(streamId);
      if (row.state !== 'open') throw new StreamEndedError(streamId, row.state);
      return this.#finish(streamId, row, state, reason, expireAfterMs);
    });
  }

  abortIfIdle(streamId: string, idleMs: number, reason: string, expireAfterMs: number): Promise<boolean> {
    return this.#run(() => {
      const row = this.#live(streamId);
      if (row === undefined || row.state !== 'open' || this.#now() - row.touched < idleMs) return false;
      this.#finish(streamId, row, 'aborted', reason, expireAfterMs);
      return true;
    });
  }

  touch(streamId: string): Promise<void> {
    return this.#run(() => {
      this.#touch.run(this.#now(), streamId);
    });
  }

  read(streamId: string, after: number, limit: number): Promise<StreamPage> {
    return this.#run(() => {
      const row = this.#live(streamId);
      if (row === undefined) return { chunks: [], info: undefined };
      const chunks =
        limit > 0 ? this.#chunks.all(streamId, after, after + limit).map((r) => r.data) : ([] as string[]);
      return { chunks, info: infoOf(row) };
    });
  }

  watch(streamId: string, listener: () => void): () => void {
    let set = this.#watchers.get(streamId);
    if (set === undefined) {
      set = new Set();
      this.#watchers.set(streamId, set);
    }
    set.add(listener);
    return () => {
      const current = this.#watchers.get(streamId);
      if (current?.delete(listener) && current.size === 0) this.#watchers.delete(streamId);
    };
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#sweeper !== null) clearInterval(this.#sweeper);
      this.#watchers.clear();
      this.#db.close();
    }
    return Promise.resolve();
  }

  #finish(
    streamId: string,
    row: Row,
    state: 'ended' | 'aborted',
    reason: string | undefined,
    expireAfterMs: number,
  ): StreamInfo {
    const why = state === 'aborted' ? (reason ?? 'aborted') : null;
    this.#setState.run(state, why, this.#now() + expireAfterMs, streamId);
    this.#open--;
    if (this.#sweeper === null) {
      this.#sweeper = setInterval(() => this.#sweep(), Math.min(SWEEP_MS, Math.max(expireAfterMs, 100)));
      this.#sweeper.unref();
    }
    this.#notify(streamId);
    return infoOf({ ...row, state, reason: why });
  }

  /** Whether `bytes` more stay within `max`, once streams past their expiry are deleted (only then). */
  #fits(bytes: number, max: number | undefined): boolean {
    if (max === undefined || this.#held + bytes <= max) return true;
    this.#sweep();
    return this.#held + bytes <= max;
  }

  /** The stream's row, or undefined when absent or expired (an expired one is deleted here). */
  #live(streamId: string): Row | undefined {
    const row = this.#get.get(streamId);
    if (row === undefined || row.expires === null || row.expires > this.#now()) return row;
    this.#delete(streamId);
    return undefined;
  }

  #sweep(): void {
    if (this.#closed) return;
    const expired = this.#db
      .prepare('SELECT id FROM resumable_streams WHERE expires IS NOT NULL AND expires <= ?')
      .all(this.#now()) as { id: string }[];
    for (const { id } of expired) this.#delete(id);
    const left = this.#db
      .prepare('SELECT count(*) AS n FROM resumable_streams WHERE expires IS NOT NULL')
      .get() as {
      n: number;
    };
    if (left.n === 0 && this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
  }

  #notify(streamId: string): void {
    const set = this.#watchers.get(streamId);
    if (set !== undefined) for (const listener of [...set]) listener();
  }

  #run<T>(operation: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreClosedError('use resumable streams'));
    try {
      return Promise.resolve(operation());
    } catch (error) {
      if (error instanceof Error && 'status' in error) return Promise.reject(error);
      return Promise.reject(
        new StoreUnavailableError(
          `sqlite resumable store ${JSON.stringify(this.#path)} failed: ${(error as Error).message}`,
          { cause: error },
        ),
      );
    }
  }
}

function infoOf(row: Row): StreamInfo {
  const info: { tag: string; state: StreamState; count: number; bytes: number; reason?: string } = {
    tag: row.tag,
    state: row.state,
    count: row.count,
    bytes: row.bytes,
  };
  if (row.state === 'aborted') info.reason = row.reason ?? 'aborted';
  return info;
}
