/**
 * Where resumable streams keep their chunks: a small interface with one implementation here
 * (memory) and others in herald/hub (SQLite, Redis). A store keeps each stream whole until it ends,
 * in order, numbered from 1, and tells watchers when a stream grows or finishes.
 *
 * Every method that changes a stream is atomic in the store, so readers on other processes (Redis)
 * see a stream's chunks and its state agree: once `state` is not `open`, `count` is final.
 */

import { StreamSequenceError } from './errors.js';

/** `open` while the producer writes; `ended` after its end marker; `aborted` when it failed or went silent. */
export type StreamState = 'open' | 'ended' | 'aborted';

/** What a store knows of one stream. */
export interface StreamInfo {
  /** Random per stream, chosen at creation; event IDs carry it (see event-id.ts). */
  readonly tag: string;
  readonly state: StreamState;
  /** Chunks appended so far; the n-th chunk has sequence number n. */
  readonly count: number;
  /** UTF-8 bytes of those chunks. */
  readonly bytes: number;
  /** Why the stream was aborted, when it was. */
  readonly reason?: string;
}

/** A page of chunks and the stream's info read with it (after it, atomically where the store can). */
export interface StreamPage {
  /** Chunks `after + 1 ...`, oldest first; fewer than asked at the end of what is stored. */
  readonly chunks: string[];
  /** undefined when the stream does not exist (never created, or expired). */
  readonly info: StreamInfo | undefined;
}

/**
 * Bounds on everything a store holds, checked by the store itself (so that every process sharing
 * it shares them). Omitted: no bound. Stores that cannot check them (Redis) ignore them.
 */
export interface StoreLimits {
  /** Most streams open at once; a `create` past it fails with `StreamCapacityError` (503). */
  readonly maxOpenStreams?: number;
  /** Most chunk bytes held by all streams kept (open, or ended and not yet expired); past it, 503. */
  readonly maxHeldBytes?: number;
}

/** Options of `ResumableStore.create`. */
export interface CreateOptions extends StoreLimits {
  /** First chunks, stored with the stream in the same step: a refused start leaves nothing behind. */
  readonly chunks?: readonly string[];
  /** Their total UTF-8 size. */
  readonly bytes?: number;
  /** Largest stream, checked against the first chunks. */
  readonly maxStreamBytes?: number;
}

/** Options of `ResumableStore.append`. */
export interface AppendOptions {
  /**
   * The chunks the producer believes stored before these (the `n` of the last ID it got). When
   * given, the append is idempotent: stored if the stream holds exactly `after` chunks; a no-op
   * answering `after + chunks.length` if it already holds at least that many (a retry of an append
   * whose answer was lost); otherwise `StreamSequenceError` (409) naming the stream's count.
   */
  readonly after?: number;
  /** See {@link StoreLimits.maxHeldBytes}. */
  readonly maxHeldBytes?: number;
}

/**
 * A resumable-stream store. Implementations: `createMemoryResumableStore()` (herald/server),
 * `createSqliteResumableStore()` and `createRedisResumableStore()` (herald/hub).
 */
export interface ResumableStore {
  /**
   * Starts a stream with `tag` (and `options.chunks`, all or none). Rejects with `StreamExistsError`
   * (409) when the ID is taken, `StreamTooLargeError` (413) when the chunks are over
   * `maxStreamBytes`, `StreamCapacityError` (503) past a store limit; then nothing was created.
   */
  create(streamId: string, tag: string, options?: CreateOptions): Promise<StreamInfo>;

  /**
   * Appends chunks, all or none. `bytes` is their total UTF-8 size. Rejects with
   * `StreamNotFoundError` (404), `StreamEndedError` (409), `StreamTooLargeError` (413) when the
   * stream would hold more than `maxStreamBytes`, `StreamSequenceError` (409, see
   * {@link AppendOptions.after}), `StreamCapacityError` (503). Resolves with the stream's new
   * chunk count (with `after`: `after + chunks.length`).
   */
  append(
    streamId: string,
    chunks: readonly string[],
    bytes: number,
    maxStreamBytes: number,
    options?: AppendOptions,
  ): Promise<number>;

  /**
   * Ends (`ended`) or aborts (`aborted`, with `reason`) an open stream; it is deleted
   * `expireAfterMs` later. Rejects with `StreamNotFoundError` or, when already finished, `StreamEndedError`.
   */
  finish(
    streamId: string,
    state: 'ended' | 'aborted',
    reason: string | undefined,
    expireAfterMs: number,
  ): Promise<StreamInfo>;

  /**
   * Aborts the stream with `reason` if it is open and nothing was appended to it, nor was it
   * touched, for `idleMs` by the store's clock. Resolves with whether it did.
   */
  abortIfIdle(streamId: string, idleMs: number, reason: string, expireAfterMs: number): Promise<boolean>;

  /** Marks an open stream as alive (its producer is there, just quiet). */
  touch(streamId: string): Promise<void>;

  /** Up to `limit` chunks after the first `after`, and the stream's info. */
  read(streamId: string, after: number, limit: number): Promise<StreamPage>;

  /**
   * Calls `listener` after the stream grew or finished (by any process sharing the store). Calls
   * may be coalesced or, on a store that relays them over a network, lost: readers also poll.
   * Returns the function that stops it.
   */
  watch(streamId: string, listener: () => void): () => void;

  /** Releases connections and timers. */
  close(): Promise<void>;
}

/**
 * How an append naming `after` meets a stream holding `count` chunks (see `AppendOptions.after`):
 * true when those `n` chunks are stored already (a retry: answer `after + n`, change nothing),
 * false when they go on now; throws `StreamSequenceError` otherwise. Shared by every store.
 */
export function alreadyAppended(
  streamId: string,
  count: number,
  after: number | undefined,
  n: number,
): boolean {
  if (after === undefined || count === after) return false;
  if (after < count && count >= after + n) return true;
  throw new StreamSequenceError(streamId, after, count);
}
