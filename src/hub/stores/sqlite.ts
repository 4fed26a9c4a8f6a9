import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Update } from '../update.js';
import { decodeUpdate, encodeBody } from './codec.js';
import {
  DuplicateUpdateIdError,
  StoreClosedError,
  StoreConfigError,
  StoreUnavailableError,
} from './errors.js';
import { ListenerSet } from './listeners.js';
import type { StoreOptions } from './memory.js';
import { checkLimit, checkRetention } from './retention.js';
import { addonLoadError } from './sqlite-addon.js';
import type { Retention, Store } from './store.js';

/** Options of the SQLite store. */
export interface SqliteStoreOptions extends StoreOptions {
  /**
   * How long to wait for a lock held by another connection before failing (default 2,000 ms).
   * The store holds its file exclusively, so a wait only happens when another process has it open.
   */
  busyTimeoutMs?: number;
}

/** Marks the file as a Herald store (`PRAGMA application_id`, the bytes "HRLD"). */
const APPLICATION_ID = 0x48524c44;
/** Schema version (`PRAGMA user_version`); bump with a migration when the table changes. */
const SCHEMA_VERSION = 1;
/**
 * Rows deleted per flush on top of the flush's own appends. Trimming deletes at most
 * `appended + TRIM_SLACK` rows per transaction: each append pays a bounded cost, and an excess
 * (left by a smaller retention after a restart, or by an idle period) still drains, since every
 * flush deletes more rows than it adds until history is within bounds.
 */
const TRIM_SLACK = 256;

interface Pending {
  update: Update;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Creates a store that keeps history in an SQLite file, so it survives restarts: a subscriber
 * reconnecting with `Last-Event-ID` after the hub restarted still gets what it missed.
 *
 * - One table keyed by a sequence number (the rowid: ordered, O(log n) range reads) with a unique
 *   index on the update ID, in WAL mode with `synchronous=NORMAL`: an append survives a crash of
 *   the process as soon as it resolves (a power loss may lose the last few).
 * - Appends made within one turn of the event loop are written in one transaction; their promises
 *   resolve after it commits, and subscribers receive them then, in append order.
 * - The file is held exclusively (`locking_mode=EXCLUSIVE`): one hub process per file. A second
 *   process opening it fails with `StoreUnavailableError` instead of interleaving writes.
 * - Retention is exact on read (by count and age) and trimmed on disk a bounded amount per flush.
 *
 * Throws `StoreConfigError` when the file is not an SQLite database, is corrupt, or belongs to
 * another program, and `StoreUnavailableError` when it is locked by another process.
 *
 * @example
 * const store = createSqliteStore('/var/lib/herald/history.db', { maxCount: 100_000, maxAgeMs: 86_400_000 });
 */
export function createSqliteStore(
  path: string,
  retention: Retention,
  options: SqliteStoreOptions = {},
): Store {
  return new SqliteStore(path, checkRetention(retention), options);
}

type Row = { id: string; time: number; body: string };

class SqliteStore implements Store {
  readonly #path: string;
  readonly #maxCount: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #listeners: ListenerSet;
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[number, string, number, string]>;
  readonly #bySeq: Database.Statement<[number, number, number, number], Row>;
  readonly #seqOf: Database.Statement<[string], { seq: number; time: number }>;
  readonly #newest: Database.Statement<[number, number], { id: string }>;
  readonly #deleteRange: Database.Statement<[number, number]>;
  readonly #deleteId: Database.Statement<[string]>;
  readonly #lastExpired: Database.Statement<[number, number, number], { seq: number | null }>;
  readonly #flushTransaction: (batch: Pending[]) => (unknown | undefined)[];
  /** Rows hold sequence numbers `#first <= seq < #next`, contiguous: appends take `#next`, trims take the head. */
  #first: number;
  #next: number;
  #pending: Pending[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  #closed = false;

  constructor(path: string, retention: Retention, options: SqliteStoreOptions) {
    this.#path = path;
    this.#maxCount = retention.maxCount;
    this.#maxAgeMs = retention.maxAgeMs;
    this.#now = options.now ?? Date.now;
    this.#listeners = new ListenerSet(options.onError);
    const busyTimeoutMs = options.busyTimeoutMs ?? 2000;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new StoreConfigError(
        `busyTimeoutMs must be a non-negative integer of milliseconds (got ${String(busyTimeoutMs)})`,
      );
    }
    this.#db = openDatabase(path, busyTimeoutMs);
    try {
      const db = this.#db;
      this.#insert = db.prepare('INSERT INTO updates (seq, id, time, body) VALUES (?, ?, ?, ?)');
      this.#bySeq = db.prepare(
        'SELECT id, time, body FROM updates WHERE seq >= ? AND seq < ? AND time >= ? ORDER BY seq LIMIT ?',
      );
      this.#seqOf = db.prepare('SELECT seq, time FROM updates WHERE id = ?');
      this.#newest = db.prepare(
        'SELECT id FROM updates WHERE seq >= ? AND time >= ? ORDER BY seq DESC LIMIT 1',
      );
      this.#deleteRange = db.prepare('DELETE FROM updates WHERE seq >= ? AND seq < ?');
      this.#deleteId = db.prepare('DELETE FROM updates WHERE id = ?');
      // The newest expired row among the oldest `?` rows: trimming by age reads a bounded window.
      this.#lastExpired = db.prepare(
        'SELECT MAX(seq) AS seq FROM (SELECT seq, time FROM updates WHERE seq >= ? ORDER BY seq LIMIT ?) WHERE time < ?',
      );
      const bounds = db.prepare('SELECT MIN(seq) AS first, MAX(seq) AS last FROM updates').get() as {
        first: number | null;
        last: number | null;
      };
      this.#first = bounds.first ?? 0;
      this.#next = bounds.last === null ? 0 : bounds.last + 1;
      this.#flushTransaction = db.transaction((batch: Pending[]) => {
        const outcomes = batch.map((p) => this.#write(p.update));
        this.#trim(batch.length + TRIM_SLACK);
        return outcomes;
      });
      this.#flushTransaction([]); // trim what a smaller retention or a long downtime left over
    } catch (error) {
      this.#db.close();
      throw translate(error, path, 'open');
    }
  }

  append(update: Update): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreClosedError('append'));
    return new Promise((resolve, reject) => {
      this.#pending.push({ update, resolve, reject });
      this.#scheduled ??= setImmediate(() => this.#flush());
    });
  }

  after(lastEventId: string, limit: number): Promise<{ found: boolean; updates: Update[] }> {
    if (this.#closed) return Promise.reject(new StoreClosedError('read history'));
    const max = checkLimit(limit);
    try {
      const low = this.#lowestKept();
      const cutoff = this.#cutoff();
      let start = low;
      if (lastEventId !== 'earliest') {
        const row = this.#seqOf.get(lastEventId);
        if (row === undefined || row.seq < low || row.time < cutoff) {
          return Promise.resolve({ found: false, updates: [] });
        }
        start = row.seq + 1;
      }
      // SQLite's LIMIT -1 means no limit.
      const rows = this.#bySeq.all(start, this.#next, cutoff, Number.isFinite(max) ? max : -1);
      return Promise.resolve({ found: true, updates: rows.map((r) => decodeUpdate(r.id, r.time, r.body)) });
    } catch (error) {
      return Promise.reject(translate(error, this.#path, 'read'));
    }
  }

  lastId(): Promise<string | undefined> {
    if (this.#closed) return Promise.reject(new StoreClosedError('read history'));
    try {
      return Promise.resolve(this.#newest.get(this.#lowestKept(), this.#cutoff())?.id);
    } catch (error) {
      return Promise.reject(translate(error, this.#path, 'read'));
    }
  }

  subscribe(listener: (update: Update) => void): () => void {
    if (this.#closed) throw new StoreClosedError('subscribe');
    return this.#listeners.add(listener);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#flush();
    this.#closed = true;
    this.#listeners.clear();
    this.#db.close();
    return Promise.resolve();
  }

  #flush(): void {
    this.#scheduled = undefined;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    const next = this.#next;
    const first = this.#first;
    let outcomes: (unknown | undefined)[];
    try {
      outcomes = this.#flushTransaction(batch);
    } catch (error) {
      // Rolled back: nothing of this batch was written.
      this.#next = next;
      this.#first = first;
      const failure = translate(error, this.#path, 'write');
      for (const p of batch) p.reject(failure);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      if (outcomes[i] === undefined) this.#listeners.emit(batch[i].update);
    }
    for (let i = 0; i < batch.length; i++) {
      if (outcomes[i] === undefined) batch[i].resolve();
      else batch[i].reject(outcomes[i]);
    }
  }

  /** Inserts one update inside the flush transaction; returns the error that refused it, if any. */
  #write(update: Update): unknown | undefined {
    if (this.#maxCount === 0) return undefined; // no history: deliver only
    const body = encodeBody(update);
    try {
      this.#insert.run(this.#next, update.id, update.time, body);
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
      const existing = this.#seqOf.get(update.id)!;
      if (existing.seq >= this.#lowestKept() && existing.time >= this.#cutoff()) {
        return new DuplicateUpdateIdError(update.id);
      }
      // The same ID on a row already out of retention but not yet trimmed: that row is gone for
      // readers, so the ID is free again.
      this.#deleteId.run(update.id);
      this.#insert.run(this.#next, update.id, update.time, body);
    }
    this.#next++;
    return undefined;
  }

  /** Deletes at most `budget` rows from the head: those beyond `maxCount`, then the expired. */
  #trim(budget: number): void {
    let end = Math.min(this.#lowestKept(), this.#first + budget);
    if (this.#maxAgeMs > 0 && end - this.#first < budget) {
      const expired = this.#lastExpired.get(end, budget - (end - this.#first), this.#cutoff())?.seq;
      if (expired != null) end = expired + 1;
    }
    if (end > this.#first) {
      this.#deleteRange.run(this.#first, end);
      this.#first = end;
    }
  }

  /** The oldest sequence number retention by count keeps (rows below it await trimming). */
  #lowestKept(): number {
    return Math.max(this.#first, this.#next - this.#maxCount);
  }

  /** Updates older than this (ms since the epoch) are expired; without an age limit, none are. */
  #cutoff(): number {
    return this.#maxAgeMs === 0 ? Number.MIN_SAFE_INTEGER : this.#now() - this.#maxAgeMs;
  }
}

function openDatabase(path: string, busyTimeoutMs: number): Database.Database {
  let db: Database.Database;
  try {
    mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: busyTimeoutMs });
  } catch (error) {
    throw translate(error, path, 'open');
  }
  try {
    // Exclusive first, then WAL: the WAL index then lives in process memory, not a shared file,
    // and the lock taken by the first write below is held until close.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as {
      n: number;
    };
    if (appId === 0 && tables.n === 0) {
      db.transaction(() => {
        db.exec(
          `CREATE TABLE updates (
             seq  INTEGER PRIMARY KEY, -- the rowid: append order
             id   TEXT NOT NULL UNIQUE,
             time INTEGER NOT NULL,    -- ms since the epoch, for retention by age
             body TEXT NOT NULL        -- the rest of the update, see codec.ts
           )`,
        );
        db.pragma(`application_id = ${APPLICATION_ID}`);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }).immediate();
    } else if (appId !== APPLICATION_ID) {
      throw new StoreConfigError(
        `sqlite store file must be a Herald history database (got ${JSON.stringify(path)}, an SQLite database ` +
          'of another program); point sqlite: at a new file instead of reusing one',
      );
    } else if (version !== SCHEMA_VERSION) {
      throw new StoreConfigError(
        `sqlite store schema version ${version} is not the supported version ${SCHEMA_VERSION} ` +
          `(file ${JSON.stringify(path)}); use the Herald release that wrote it, or start from a new file`,
      );
    } else {
      db.prepare('BEGIN IMMEDIATE').run(); // take the exclusive lock now, not at the first append
      db.prepare('COMMIT').run();
    }
    return db;
  } catch (error) {
    db.close();
    throw translate(error, path, 'open');
  }
}

/** Turns SQLite errors into Herald errors naming the file and the fix. */
function translate(error: unknown, path: string, action: 'open' | 'read' | 'write'): Error {
  if (error instanceof StoreConfigError || error instanceof StoreUnavailableError) return error;
  const addon = addonLoadError(error, path);
  if (addon !== undefined) return addon;
  const code = String((error as { code?: string }).code ?? '');
  const file = JSON.stringify(path);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreUnavailableError(
      `sqlite store file ${file} is locked by another process (${code}); one hub process owns a file: ` +
        'stop the other process, give each its own file, or share history through redis://',
      { cause: error },
    );
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new StoreConfigError(
      `sqlite store file ${file} is not a database or is corrupt (${code}); move it aside and restart ` +
        'to begin a new history',
      { cause: error },
    );
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code === 'EACCES' || code === 'ENOTDIR' || code === 'EROFS') {
    return new StoreConfigError(
      `sqlite store file ${file} cannot be opened (${code}); check that its directory exists or can be ` +
        'created and is writable',
      { cause: error },
    );
  }
  return new StoreUnavailableError(`sqlite store could not ${action} ${file} (${code || String(error)})`, {
    cause: error,
  });
}
