/**
 * Where resumable streams keep their chunks: a small interface with one implementation here
 * (memory) and others in herald/hub (SQLite, Redis). A store keeps each stream whole until it ends,
 * in order, numbered from 1, and tells watchers when a stream grows or finishes.
 *
 * Every method that changes a stream is atomic in the store, so readers on other processes (Redis)
 * see a stream's chunks and its state agree: once `state` is not `open`, `count` is final.
 */

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
 * A resumable-stream store. Implementations: `createMemoryResumableStore()` (herald/server),
 * `createSqliteResumableStore()` and `createRedisResumableStore()` (herald/hub).
 */
export interface ResumableStore {
  /** Starts a stream with `tag`. Rejects with `StreamExistsError` (409) when the ID is taken. */
  create(streamId: string, tag: string): Promise<StreamInfo>;

  /**
   * Appends chunks, all or none. `bytes` is their total UTF-8 size. Rejects with
   * `StreamNotFoundError` (404), `StreamEndedError` (409), or `StreamTooLargeError` (413) when the
   * stream would hold more than `maxStreamBytes`. Resolves with the stream's new chunk count.
   */
  append(streamId: string, chunks: readonly string[], bytes: number, maxStreamBytes: number): Promise<number>;

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
