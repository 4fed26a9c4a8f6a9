/**
 * The default resumable-stream store: chunks in this process's memory, lost on restart, shared
 * with nobody. Readers and producers must live in the same process.
 */
import {
  StreamCapacityError,
  StreamEndedError,
  StreamExistsError,
  StreamNotFoundError,
  StreamTooLargeError,
} from './errors.js';
import {
  type AppendOptions,
  alreadyAppended,
  type CreateOptions,
  type ResumableStore,
  type StreamInfo,
  type StreamPage,
  type StreamState,
} from './store.js';

/** Options of {@link createMemoryResumableStore}. */
export interface MemoryResumableStoreOptions {
  /** The clock, in ms since the epoch (tests inject one). */
  now?: () => number;
}

interface Entry {
  tag: string;
  state: StreamState;
  /** chunks[i] is chunk number i + 1. */
  chunks: string[];
  bytes: number;
  reason: string | undefined;
  touchedAt: number;
  /** When a finished stream is deleted; Infinity while open. */
  expiresAt: number;
}

type Listeners = (() => void) | (() => void)[];

/** How often finished streams past their expiry are swept (lookups also check expiry). */
const SWEEP_MS = 5000;

/**
 * Creates a store that keeps resumable streams in memory: appends and reads are O(1) plus the
 * chunks returned. Finished streams are deleted `expireAfterMs` after they end.
 *
 * @example
 * const streams = createResumableStreams({ store: createMemoryResumableStore() });
 */
export function createMemoryResumableStore(options: MemoryResumableStoreOptions = {}): ResumableStore {
  return new MemoryResumableStore(options.now ?? Date.now);
}

class MemoryResumableStore implements ResumableStore {
  readonly #now: () => number;
  readonly #streams = new Map<string, Entry>();
  /** Watchers by stream ID, kept apart: one may watch an ID before its stream exists or after it expired. */
  readonly #watchers = new Map<string, Listeners>();
  #sweeper: NodeJS.Timeout | null = null;
  /** Streams open now, and chunk bytes of every stream kept: what `StoreLimits` bound. */
  #open = 0;
  #held = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  create(streamId: string, tag: string, options: CreateOptions = {}): Promise<StreamInfo> {
    if (this.#get(streamId) !== undefined) return Promise.reject(new StreamExistsError(streamId));
    const bytes = options.bytes ?? 0;
    const max = options.maxStreamBytes ?? Number.POSITIVE_INFINITY;
    if (bytes > max) return Promise.reject(new StreamTooLargeError(streamId, 'maxStreamBytes', bytes, max));
    if (options.maxOpenStreams !== undefined && this.#open >= options.maxOpenStreams) {
      return Promise.reject(new StreamCapacityError(streamId, 'maxOpenStreams', options.maxOpenStreams));
    }
    if (!this.#fits(bytes, options.maxHeldBytes)) {
      return Promise.reject(new StreamCapacityError(streamId, 'maxHeldBytes', options.maxHeldBytes!));
    }
    const entry: Entry = {
      tag,
      state: 'open',
      chunks: options.chunks === undefined ? [] : [...options.chunks],
      bytes,
      reason: undefined,
      touchedAt: this.#now(),
      expiresAt: Number.POSITIVE_INFINITY,
    };
    this.#streams.set(streamId, entry);
    this.#open++;
    this.#held += bytes;
    this.#notify(streamId);
    return Promise.resolve(infoOf(entry));
  }

  append(
    streamId: string,
    chunks: readonly string[],
    bytes: number,
    maxStreamBytes: number,
    options: AppendOptions = {},
  ): Promise<number> {
    const entry = this.#get(streamId);
    if (entry === undefined) return Promise.reject(new StreamNotFoundError(streamId));
    if (entry.state !== 'open') return Promise.reject(new StreamEndedError(streamId, entry.state));
    try {
      if (alreadyAppended(streamId, entry.chunks.length, options.after, chunks.length)) {
        return Promise.resolve(options.after! + chunks.length);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (entry.bytes + bytes > maxStreamBytes) {
      return Promise.reject(
        new StreamTooLargeError(streamId, 'maxStreamBytes', entry.bytes + bytes, maxStreamBytes),
      );
    }
    if (!this.#fits(bytes, options.maxHeldBytes)) {
      return Promise.reject(new StreamCapacityError(streamId, 'maxHeldBytes', options.maxHeldBytes!));
    }
    for (let i = 0; i < chunks.length; i++) entry.chunks.push(chunks[i]!);
    entry.bytes += bytes;
    this.#held += bytes;
    entry.touchedAt = this.#now();
    this.#notify(streamId);
    return Promise.resolve(entry.chunks.length);
  }

  finish(
    streamId: string,
    state: 'ended' | 'aborted',
    reason: string | undefined,
    expireAfterMs: number,
  ): Promise<StreamInfo> {
    const entry = this.#get(streamId);
    if (entry === undefined) return Promise.reject(new StreamNotFoundError(streamId));
    if (entry.state !== 'open') return Promise.reject(new StreamEndedError(streamId, entry.state));
    this.#finish(streamId, entry, state, reason, expireAfterMs);
    return Promise.resolve(infoOf(entry));
  }

  abortIfIdle(streamId: string, idleMs: number, reason: string, expireAfterMs: number): Promise<boolean> {
    const entry = this.#get(streamId);
    if (entry === undefined || entry.state !== 'open' || this.#now() - entry.touchedAt < idleMs) {
      return Promise.resolve(false);
    }
    this.#finish(streamId, entry, 'aborted', reason, expireAfterMs);
    return Promise.resolve(true);
  }

  touch(streamId: string): Promise<void> {
    const entry = this.#get(streamId);
    if (entry !== undefined && entry.state === 'open') entry.touchedAt = this.#now();
    return Promise.resolve();
  }

  read(streamId: string, after: number, limit: number): Promise<StreamPage> {
    const entry = this.#get(streamId);
    if (entry === undefined) return Promise.resolve({ chunks: [], info: undefined });
    return Promise.resolve({ chunks: entry.chunks.slice(after, after + limit), info: infoOf(entry) });
  }

  watch(streamId: string, listener: () => void): () => void {
    const w = this.#watchers.get(streamId);
    this.#watchers.set(
      streamId,
      w === undefined ? listener : typeof w === 'function' ? [w, listener] : [...w, listener],
    );
    return () => {
      const ws = this.#watchers.get(streamId);
      if (ws === listener) this.#watchers.delete(streamId);
      else if (Array.isArray(ws)) {
        const rest = ws.filter((l) => l !== listener);
        if (rest.length === 0) this.#watchers.delete(streamId);
        else this.#watchers.set(streamId, rest.length === 1 ? rest[0]! : rest);
      }
    };
  }

  close(): Promise<void> {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    this.#streams.clear();
    this.#watchers.clear();
    this.#open = 0;
    this.#held = 0;
    return Promise.resolve();
  }

  /** Whether `bytes` more stay within `max`, once streams past their expiry are swept (only then). */
  #fits(bytes: number, max: number | undefined): boolean {
    if (max === undefined || this.#held + bytes <= max) return true;
    this.#sweep();
    return this.#held + bytes <= max;
  }

  /** The stream, or undefined when absent or expired (an expired one is deleted here). */
  #get(streamId: string): Entry | undefined {
    const entry = this.#streams.get(streamId);
    if (entry === undefined || entry.expiresAt > this.#now()) return entry;
    this.#streams.delete(streamId);
    this.#held -= entry.bytes;
    return undefined;
  }

  #finish(
    streamId: string,
    entry: Entry,
    state: 'ended' | 'aborted',
    reason: string | undefined,
    expireAfterMs: number,
  ): void {
    entry.state = state;
    this.#open--;
    entry.reason = state === 'aborted' ? (reason ?? 'aborted') : undefined;
    entry.expiresAt = this.#now() + expireAfterMs;
    if (this.#sweeper === null) {
      this.#sweeper = setInterval(() => this.#sweep(), Math.min(SWEEP_MS, Math.max(expireAfterMs, 100)));
      this.#sweeper.unref();
    }
    this.#notify(streamId);
  }

  #sweep(): void {
    let finished = 0;
    for (const [id, entry] of this.#streams) {
      if (entry.state === 'open') continue;
      if (this.#get(id) !== undefined) finished++;
    }
    if (finished === 0 && this.#sweeper !== null) {
      clearInterval(this.#sweeper);
      this.#sweeper = null;
    }
  }

  #notify(streamId: string): void {
    const w = this.#watchers.get(streamId);
    if (w === undefined) return;
    if (typeof w === 'function') w();
    else for (const listener of w.slice()) listener();
  }
}

function infoOf(entry: Entry): StreamInfo {
  const info: { tag: string; state: StreamState; count: number; bytes: number; reason?: string } = {
    tag: entry.tag,
    state: entry.state,
    count: entry.chunks.length,
    bytes: entry.bytes,
  };
  if (entry.reason !== undefined) info.reason = entry.reason;
  return info;
}
