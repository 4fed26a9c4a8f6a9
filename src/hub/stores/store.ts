import type { Update } from '../update.js';

/**
 * Where updates go when published and where history is read from. One store per hub process.
 *
 * A store is also the hub's transport: `subscribe` delivers every update appended by any hub node
 * sharing the store (just this process for `memory` and `sqlite`; every node for `redis`), each once
 * and in append order. The hub fans them out to local subscribers from there.
 */
export interface Store {
  /** Appends an update. Resolves once it is durable (as far as the store is) and visible to `after`. */
  append(update: Update): Promise<void>;

  /**
   * Updates appended after the one with ID `lastEventId`, oldest first, at most `limit`.
   * `'earliest'` means from the oldest kept. `found: false` when that ID is not (or no longer) kept:
   * the caller decides what that means (Mercure: send nothing from history).
   */
  after(lastEventId: string, limit: number): Promise<{ found: boolean; updates: Update[] }>;

  /** The ID of the newest kept update, or undefined when history is empty. */
  lastId(): Promise<string | undefined>;

  /** Listens to updates as they are appended (by any node). Returns the function that stops it. */
  subscribe(listener: (update: Update) => void): () => void;

  /** Releases connections and files; pending appends are flushed first. */
  close(): Promise<void>;
}

/** Retention applied on append: history is always bounded. */
export interface Retention {
  /** Keep at most this many updates. */
  maxCount: number;
  /** Drop updates older than this many milliseconds; 0 means no age limit. */
  maxAgeMs: number;
}
