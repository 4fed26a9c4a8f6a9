import { accessSync, constants, mkdirSync, type Stats, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { Update } from '../update.js';
import { decodeUpdate, encodeBody } from './codec.js';
import {
  DuplicateUpdateIdError,
  StoreClosedError,
  StoreConfigError,
  StoreUnavailableError,
} from './errors.js';
import { type Entry, HistoryIndex } from './history-index.js';
import { ListenerSet } from './listeners.js';
import type { StoreOptions } from './memory.js';
import { checkLimit, checkRetention, UPDATE_OVERHEAD_BYTES } from './retention.js';
import { addonLoadError } from './sqlite-addon.js';
import type { Retention, Store } from './store.js';

/** Options of the SQLite store. */
export interface SqliteStoreOptions extends StoreOptions {
  /**
   * How long to wait for a lock held by another connection before failing (default 2,000 ms).
   * The store holds its file exclusively, so a wait only happens when another process has it open.
   */
  busyTimeoutMs?: number;
  /**
   * Told once when the store stops accepting appends: its file was deleted or replaced while open
   * (for good), or writes started failing (e.g. a full disk; told again after a write succeeded).
   * Default: a process warning.
   */
  onFailure?: (error: Error) => void;
}

/** Marks the file as a Herald store (`PRAGMA application_id`, the bytes "HRLD"). */
const APPLICATION_ID = 0x48524c44;
/** Schema version (`PRAGMA user_version`); bump with a migration when the table changes. */
const SCHEMA_VERSION = 1;
/** `PRAGMA auto_vacuum` value of INCREMENTAL. */
const AUTO_VACUUM_INCREMENTAL = 2;
/**
 * Bytes written between two maintenance passes (incremental vacuum, then a WAL checkpoint that
 * truncates it): the file and its WAL exceed what retention keeps by about this much at most.
 */
const MAINTENANCE_EVERY_BYTES = 4 * 1024 * 1024;
/** Free pages worth reclaiming: below this the vacuum would move pages for little gain. */
const VACUUM_MIN_FREE_BYTES = 1024 * 1024;
/** The WAL is cut back to this size after each checkpoint (`journal_size_limit`). */
const WAL_LIMIT_BYTES = 4 * 1024 * 1024;
/**
 * How often an idle store checks that its file is still the one at its path, and runs maintenance
 * if writes happened since the last pass.
 */
const CHECK_EVERY_MS = 1000;
/** How long `lastId` (the hub's health check) reports a failed write, unless a write succeeds first. */
const WRITE_FAILURE_HOLD_MS = 10_000;

interface Pending {
  update: Update;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Creates a store that keeps history in an SQLite file, so it survives restarts: a subscriber
 * reconnecting with `Last-Event-ID` after the hub restarted still gets what it missed.
 *
 * - One table keyed by a sequence number (the rowid: ordered) with a unique index on the update
 *   ID, in WAL mode with `synchronous=NORMAL`: an append survives a crash of the process as soon as
 *   it resolves (a power loss may lose the last few).
 * - Which rows are kept is decided by a `HistoryIndex` in memory (per topic, by bytes, by age: the
 *   memory store's rules), rebuilt from the table at open: about 200 bytes of memory per kept
 *   update. Reads look rows up through it, so an evicted row is never served, even before it is
 *   deleted on disk (with the next write).
 * - Appends made within one turn of the event loop are written in one transaction; their promises
 *   resolve after it commits, and subscribers receive them then, in append order.
 * - The file is held exclusively (`locking_mode=EXCLUSIVE`): one hub process per file. A second
 *   process opening it fails with `StoreUnavailableError` instead of interleaving writes.
 * - The file and its WAL stay near what retention keeps: free pages are vacuumed
 *   (`auto_vacuum=INCREMENTAL`) and the WAL checkpointed and truncated every few MB written.
 * - The file deleted or replaced while the hub runs (checked on every write, by the health check
 *   and once a second) fails every later append and the health check with `StoreUnavailableError`
 *   and calls `onFailure` once: history would otherwise go to a file nobody can open again. A write
 *   refused by the disk (full) fails the health check for 10 s, or until a write succeeds.
 *
 * Throws `StoreConfigError` when the file is not an SQLite database, is corrupt, belongs to another
 * program or cannot be opened for writing, and `StoreUnavailableError` when it is locked by another
 * process.
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

/** A row to insert: the update, its sequence number and its encoded body. */
interface NewRow {
  seq: number;
  update: Update;
  body: string;
  /** What it counts for against `maxBytes`: the same estimate as at load. */
  size: number;
  pending: Pending;
}

class SqliteStore implements Store {
  readonly #path: string;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #listeners: ListenerSet;
  readonly #onFailure: (error: Error) => void;
  readonly #db: Database.Database;
  readonly #identity: FileIdentity;
  readonly #insert: Database.Statement<[number, string, number, string]>;
  readonly #bodyOf: Database.Statement<[number], { body: string }>;
  readonly #deleteSeq: Database.Statement<[number]>;
  readonly #deleteRange: Database.Statement<[number, number]>;
  readonly #newestPublicBelow: Database.Statement<[number], { seq: number; id: string }>;
  readonly #flushTransaction: (rows: NewRow[]) => void;
  readonly #retention: Required<Retention>;
  readonly #loadRows: Database.Statement<
    [],
    { seq: number; id: string; time: number; topics: string; size: number }
  >;
  #history: HistoryIndex<number>;
  readonly #timer: NodeJS.Timeout;
  /** Row numbers of evicted updates not yet deleted on disk (evicted by age, or a failed write). */
  #deletes: number[] = [];
  #next = 0;
  #pending: Pending[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  #writtenSinceMaintenance = 0;
  /** Set once the file at `#path` is no longer the one open: every append fails with it. */
  #lost: StoreUnavailableError | undefined;
  #writeFailure: { error: Error; at: number } | undefined;
  #closed = false;

  constructor(path: string, retention: Required<Retention>, options: SqliteStoreOptions) {
    this.#path = path;
    this.#maxAgeMs = retention.maxAgeMs;
    this.#now = options.now ?? Date.now;
    this.#listeners = new ListenerSet(options.onError);
    this.#onFailure = options.onFailure ?? reportFailure;
    const busyTimeoutMs = options.busyTimeoutMs ?? 2000;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new StoreConfigError(
        `busyTimeoutMs must be a non-negative integer of milliseconds (got ${String(busyTimeoutMs)})`,
      );
    }
    this.#db = openDatabase(path, busyTimeoutMs);
    try {
      const db = this.#db;
      this.#identity = identify(path)!;
      this.#insert = db.prepare('INSERT INTO updates (seq, id, time, body) VALUES (?, ?, ?, ?)');
      this.#bodyOf = db.prepare('SELECT body FROM updates WHERE seq = ?');
      this.#deleteSeq = db.prepare('DELETE FROM updates WHERE seq = ?');
      this.#deleteRange = db.prepare('DELETE FROM updates WHERE seq BETWEEN ? AND ?');
      // `p` is the codec's private mark (absent on public updates).
      this.#newestPublicBelow = db.prepare(
        "SELECT seq, id FROM updates WHERE seq < ? AND json_extract(body, '$.p') IS NULL ORDER BY seq DESC LIMIT 1",
      );
      this.#retention = retention;
      this.#loadRows = db.prepare(
        "SELECT seq, id, time, json_extract(body, '$.t') AS topics, length(id) + length(body) AS size FROM updates ORDER BY seq",
      );
      this.#history = this.#load();
      if (retention.maxCount === 0) db.prepare('DELETE FROM updates').run();
      this.#trimAge();
      // One transaction per flush: the deletes still due, the batch's rows, then the rows its
      // appends evicted. The index changes inside it; if it rolls back, `#flush` rebuilds the index.
      this.#flushTransaction = db.transaction((rows: NewRow[]) => {
        this.#runDeletes();
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i];
          this.#insert.run(row.seq, row.update.id, row.update.time, row.body);
        }
        for (let i = 0; i < rows.length; i++) {
          const { seq, update, size } = rows[i];
          this.#history.add(update.id, update.time, update.topics, size, seq);
        }
        this.#runDeletes();
      });
      this.#writeDeletes();
      this.#maintain();
    } catch (error) {
      this.#db.close();
      throw translate(error, path, 'open');
    }
    this.#timer = setInterval(() => this.#check(), CHECK_EVERY_MS).unref();
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
      this.#trimAge();
      let from: Entry<number> | undefined;
      if (lastEventId !== 'earliest') {
        from = this.#history.get(lastEventId);
        if (from === undefined || !this.#history.isWhole(from)) {
          return Promise.resolve({ found: false, updates: [] });
        }
      }
      const updates = this.#history
        .after(from, max)
        .map((e) => decodeUpdate(e.id, e.time, this.#bodyOf.get(e.value)!.body));
      return Promise.resolve({ found: true, updates });
    } catch (error) {
      return Promise.reject(translate(error, this.#path, 'read'));
    }
  }

  lastId(): Promise<string | undefined> {
    if (this.#closed) return Promise.reject(new StoreClosedError('read history'));
    this.#trimAge();
    return Promise.resolve(this.#history.newest?.id);
  }

  /**
   * One indexed query from the end (`seq` is the rowid) for the newest row not marked private; a row
   * evicted but not yet deleted is skipped by asking again below it.
   */
  newestPublicId(): Promise<string | undefined> {
    if (this.#closed) return Promise.reject(new StoreClosedError('read history'));
    try {
      this.#trimAge();
      let below = Number.MAX_SAFE_INTEGER;
      for (;;) {
        const row = this.#newestPublicBelow.get(below);
        if (row === undefined) return Promise.resolve(undefined);
        if (this.#history.get(row.id)?.value === row.seq) return Promise.resolve(row.id);
        below = row.seq;
      }
    } catch (error) {
      return Promise.reject(translate(error, this.#path, 'read'));
    }
  }

  /**
   * Rejects with `StoreUnavailableError` while the store cannot take appends: its file was deleted
   * or replaced, or a write failed (a full disk) within the last 10 s and none succeeded since.
   */
  health(): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreClosedError('read history'));
    const lost = this.#lost ?? this.#checkFile();
    if (lost) return Promise.reject(lost);
    const failure = this.#writeFailure;
    if (failure && performance.now() - failure.at < WRITE_FAILURE_HOLD_MS)
      return Promise.reject(failure.error);
    return Promise.resolve();
  }

  subscribe(listener: (update: Update) => void): () => void {
    if (this.#closed) throw new StoreClosedError('subscribe');
    return this.#listeners.add(listener);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#scheduled) clearImmediate(this.#scheduled);
    clearInterval(this.#timer);
    this.#flush();
    this.#writeDeletes();
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
    const lost = this.#lost ?? this.#checkFile();
    if (lost) {
      for (const p of batch) p.reject(lost);
      return;
    }
    this.#trimAge(); // an expired update's ID is free again
    // Refuse IDs still kept, or repeated within the batch, before writing anything.
    const rows: NewRow[] = [];
    const seen = batch.length > 1 ? new Set<string>() : undefined;
    let seq = this.#next;
    for (const p of batch) {
      const id = p.update.id;
      if (this.#history.has(id) || seen?.has(id)) {
        p.reject(new DuplicateUpdateIdError(id));
        continue;
      }
      seen?.add(id);
      const body = encodeBody(p.update);
      const size = UPDATE_OVERHEAD_BYTES + id.length + body.length;
      rows.push({ seq: seq++, update: p.update, body, size, pending: p });
    }
    if (this.#history.keepsNothing) {
      // No history: deliver only.
      for (const row of rows) this.#listeners.emit(row.update);
      for (const row of rows) row.pending.resolve();
      return;
    }
    try {
      this.#flushTransaction(rows);
    } catch (error) {
      // Rolled back: nothing of this batch was written; the index may have taken some of it.
      this.#history = this.#load();
      const failure = this.#checkFile() ?? this.#failed(translate(error, this.#path, 'write'));
      for (const row of rows) row.pending.reject(failure);
      return;
    }
    this.#writeFailure = undefined;
    this.#next = seq;
    let written = 0;
    for (const row of rows) written += row.size;
    for (const row of rows) this.#listeners.emit(row.update);
    for (const row of rows) row.pending.resolve();
    this.#writtenSinceMaintenance += written;
    if (this.#writtenSinceMaintenance >= MAINTENANCE_EVERY_BYTES) this.#maintain();
  }

  /** Deletes the rows of evicted updates now, in a transaction of their own. */
  #writeDeletes(): void {
    if (this.#deletes.length === 0 || this.#lost) return;
    try {
      this.#flushTransaction([]);
    } catch (error) {
      this.#history = this.#load();
      this.#checkFile() ?? this.#failed(translate(error, this.#path, 'write'));
    }
  }

  /** Runs the deletes due, inside the flush transaction. */
  #runDeletes(): void {
    const deletes = this.#deletes;
    if (deletes.length === 0) return;
    this.#deletes = [];
    // Evictions mostly come in runs of consecutive rows (a topic's oldest, the hub's oldest): one
    // statement per run rather than per row.
    for (let i = 0; i < deletes.length; ) {
      const first = deletes[i];
      let last = first;
      while (++i < deletes.length && deletes[i] === last + 1) last++;
      if (last === first) this.#deleteSeq.run(first);
      else this.#deleteRange.run(first, last);
    }
  }

  /**
   * Builds the index from the table. Replaying the rows in order rebuilds exactly what retention
   * kept; rows beyond it (a smaller retention since, a long downtime) are evicted on the way, to be
   * deleted with the next write.
   */
  #load(): HistoryIndex<number> {
    this.#deletes = [];
    const history = new HistoryIndex<number>(this.#retention, (_id, seq) => this.#deletes.push(seq));
    let last = -1;
    for (const row of this.#loadRows.iterate()) {
      history.add(
        row.id,
        row.time,
        JSON.parse(row.topics) as string[],
        UPDATE_OVERHEAD_BYTES + row.size,
        row.seq,
      );
      last = row.seq;
    }
    this.#next = last + 1;
    return history;
  }

  /**
   * Gives free pages back to the file system and empties the WAL: without it the file keeps the
   * size of the largest burst (deleted rows leave free pages) and the WAL that of the largest
   * transaction since the last checkpoint.
   */
  #maintain(): void {
    this.#writtenSinceMaintenance = 0;
    try {
      const freePages = this.#db.pragma('freelist_count', { simple: true }) as number;
      const pageSize = this.#db.pragma('page_size', { simple: true }) as number;
      if (freePages * pageSize >= VACUUM_MIN_FREE_BYTES) this.#db.pragma('incremental_vacuum');
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (error) {
      this.#checkFile() ?? this.#failed(translate(error, this.#path, 'write'));
    }
  }

  /** The once-a-second check of an idle store: its file, then the deletes and maintenance due. */
  #check(): void {
    if (this.#closed || (this.#lost ?? this.#checkFile())) return;
    this.#trimAge();
    this.#writeDeletes();
    if (this.#writtenSinceMaintenance > 0) this.#maintain();
  }

  /**
   * Whether the file at `#path` is still the one open (same device and inode). When it is not, the
   * store is lost for good: every later append fails, and `onFailure` is told once.
   */
  #checkFile(): StoreUnavailableError | undefined {
    if (this.#lost) return this.#lost;
    const now = identify(this.#path);
    if (now && now.dev === this.#identity.dev && now.ino === this.#identity.ino) return undefined;
    this.#lost = new StoreUnavailableError(
      `sqlite store file ${JSON.stringify(this.#path)} was ${now ? 'replaced' : 'deleted'} while the hub ran; ` +
        'updates written now would be lost with it, so publishing is refused: restore the file, or restart the ' +
        'hub to begin a new history there',
    );
    this.#onFailure(this.#lost);
    return this.#lost;
  }

  /** Records a failed write for the health check, telling `onFailure` when writes start failing. */
  #failed(error: Error): Error {
    if (this.#writeFailure === undefined) this.#onFailure(error);
    this.#writeFailure = { error, at: performance.now() };
    return error;
  }

  #trimAge(): void {
    if (this.#maxAgeMs !== 0) this.#history.trimAge(this.#now() - this.#maxAgeMs);
  }
}

/** The device and inode of a path, or undefined when nothing is there (or it cannot be read). */
interface FileIdentity {
  dev: number;
  ino: number;
}

function identify(path: string): FileIdentity | undefined {
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat && { dev: stat.dev, ino: stat.ino };
  } catch {
    return undefined;
  }
}

/** Default `onFailure`: a process warning. */
function reportFailure(error: Error): void {
  process.emitWarning(error.message, 'HeraldStoreWarning');
}
function openDatabase(path: string, busyTimeoutMs: number): Database.Database {
  let db: Database.Database;
  prepareLocation(path);
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
  } catch (error) {
    throw translate(error, path, 'open');
  }
  try {
    // Exclusive first, then WAL: the WAL index then lives in process memory, not a shared file,
    // and the lock taken by the first write below is held until close.
    db.pragma('locking_mode = EXCLUSIVE');
    // Before the first table exists, auto_vacuum takes effect at once (later only through VACUUM).
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
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
    } else if ((db.pragma('auto_vacuum', { simple: true }) as number) !== AUTO_VACUUM_INCREMENTAL) {
      // A file written before Herald vacuumed: rebuilt once, which also takes the exclusive lock.
      db.exec('VACUUM');
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

/**
 * Checks, before SQLite sees it, that the file can be written where it is, creating its missing
 * folders: SQLite's own errors for these cases name no cause (`SQLITE_IOERR_LOCK` for a read-only
 * file), and `mkdirSync(…, { recursive: true })` loops forever on a path under `/proc`.
 */
function prepareLocation(path: string): void {
  const file = JSON.stringify(path);
  const dir = dirname(path);
  const missing: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    const stat = statOrThrow(at, path);
    if (stat) {
      if (!stat.isDirectory()) {
        throw new StoreConfigError(
          `sqlite store file ${file} cannot be created: ${JSON.stringify(at)} is not a folder; ` +
            'point sqlite: at a path whose folders are folders (e.g. sqlite:./data/herald.db)',
        );
      }
      break;
    }
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EEXIST') continue;
      throw new StoreConfigError(
        `sqlite store file ${file} cannot be created: its folder ${JSON.stringify(folder)} cannot be created ` +
          `(${code}); point sqlite: at a writable folder on a regular file system (not /proc or /sys)`,
        { cause: error },
      );
    }
  }
  const stat = statOrThrow(path, path);
  if (stat && !stat.isFile()) {
    throw new StoreConfigError(
      `sqlite store file ${file} is not a regular file; point sqlite: at a file (e.g. sqlite:./data/herald.db)`,
    );
  }
  if (stat && !writable(path)) {
    throw new StoreConfigError(
      `sqlite store file ${file} is read-only for this process; the hub writes history there: make it ` +
        'writable by the user running the hub (chown or chmod u+w), or point sqlite: at another file',
    );
  }
  // The WAL file is created beside the database.
  if (!writable(dir)) {
    throw new StoreConfigError(
      `sqlite store file ${file} is in a folder this process cannot write (${JSON.stringify(dir)}); SQLite ` +
        'creates its WAL file beside the database: make the folder writable by the user running the hub, ' +
        'or point sqlite: at another folder',
    );
  }
}

function statOrThrow(at: string, path: string): Stats | undefined {
  try {
    return statSync(at, { throwIfNoEntry: false });
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new StoreConfigError(
      `sqlite store file ${JSON.stringify(path)} cannot be reached: ${JSON.stringify(at)} (${code}); ` +
        'check the path and the permissions of its folders',
      { cause: error },
    );
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
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
  if (code === 'SQLITE_FULL') {
    return new StoreUnavailableError(
      `sqlite store could not ${action} ${file}: the disk is full (${code}); free space on its file system ` +
        'or lower --history-max-bytes',
      { cause: error },
    );
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_IOERR_LOCK' || code === 'EROFS') {
    return new StoreConfigError(
      `sqlite store file ${file} is read-only (${code}); the hub writes history there: make the file and its ` +
        'folder writable by the user running the hub, on a file system mounted read-write',
      { cause: error },
    );
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code === 'EACCES' || code === 'ENOTDIR') {
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
