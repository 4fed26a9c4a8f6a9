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
   * Appends at once, for a store that needs no I/O to do it (memory): the same effect and the same
   * errors as `append`, thrown instead of rejected. Absent where appending waits for anything; the
   * hub then awaits `append`. Lets the keep-alive publish path answer in the turn it read the request.
   */
  appendNow?(update: Update): void;

  /**
   * Kept updates appended after the one with ID `lastEventId`, oldest first (store order), at most
   * `limit`. `'earliest'` means from the oldest kept. `found: false` when that ID is not (or no
   * longer) kept, or when updates that followed it on one of its topics were evicted (see
   * `Retention.maxCount`): the caller then knows a resume from it may miss updates.
   */
  after(lastEventId: string, limit: number): Promise<{ found: boolean; updates: Update[] }>;

  /** The ID of the newest kept update, or undefined when history is empty. */
  lastId(): Promise<string | undefined>;

  /**
   * Optional: the ID of the newest kept update that is not private, or undefined when none is kept.
   * The hub seeds its subscribers' resume cursor with it at start (`newestPublicId` in
   * `src/hub/stores/newest-public.ts` pages through `after` for a store without it). Only updates
   * already handed to `subscribe` listeners (or kept before this store started) count.
   */
  newestPublicId?(): Promise<string | undefined>;

  /**
   * Optional: rejects (with `StoreUnavailableError`) while the store cannot take appends. The hub's
   * `/healthz` uses it when present, else `lastId()`.
   */
  health?(): Promise<void>;

  /** Listens to updates as they are appended (by any node). Returns the function that stops it. */
  subscribe(listener: (update: Update) => void): () => void;

  /** Releases connections and files; pending appends are flushed first. */
  close(): Promise<void>;
}

/**
 * Retention applied on append: history is always bounded. Kept per topic, so a noisy topic never
 * evicts a quiet one's recent updates, and bounded hub-wide by bytes (see `HistoryIndex`).
 */
export interface Retention {
  /**
   * Keep the newest this many updates of each topic; 0 keeps no history. An update with several
   * topics counts in each, and stays while it is among the newest `maxCount` of any of them.
   */
  maxCount: number;
  /** Drop updates older than this many milliseconds; 0 means no age limit. */
  maxAgeMs: number;
  /**
   * Keep at most this many bytes of updates hub-wide (their estimated size, see `updateBytes`),
   * evicting the oldest first, whatever their topics; 0 means no byte limit. Default:
   * `DEFAULT_RETENTION.maxBytes` (64 MiB).
   */
  maxBytes?: number;
}
