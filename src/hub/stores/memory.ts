import type { Update } from '../update.js';
import { DuplicateUpdateIdError, StoreClosedError } from './errors.js';
import { type Entry, HistoryIndex } from './history-index.js';
import { type ListenerErrorHandler, ListenerSet } from './listeners.js';
import { checkLimit, checkRetention, updateBytes } from './retention.js';
import type { Retention, Store } from './store.js';

/** Options shared by the stores. */
export interface StoreOptions {
  /** The clock used for retention by age, in ms since the epoch. Tests inject one instead of sleeping. */
  now?: () => number;
  /** Reports a subscribe listener that threw (default: a process warning). */
  onError?: ListenerErrorHandler;
}

/**
 * Creates a store that keeps history in this process's memory: lost on restart, shared with nobody.
 * The default store, and the fastest: `append` costs O(its topics) and `after` O(1) plus the updates
 * returned.
 *
 * History is a `HistoryIndex`: the newest `retention.maxCount` updates of each topic, at most
 * `retention.maxBytes` in all, in append order. Retention applies on append (count, bytes and age)
 * and again on read (age), so an idle hub does not serve expired updates.
 *
 * @example
 * const store = createMemoryStore({ maxCount: 1000, maxAgeMs: 3_600_000 });
 * const stop = store.subscribe((u) => fanOut(u));
 * await store.append({ id: 'a', topics: ['/books/1'], private: false, data: '{}', time: Date.now() });
 * const { found, updates } = await store.after('a', 100); // found: true, updates: []
 */
export function createMemoryStore(retention: Retention, options: StoreOptions = {}): Store {
  return new MemoryStore(checkRetention(retention), options);
}

class MemoryStore implements Store {
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #listeners: ListenerSet;
  readonly #history: HistoryIndex<Update>;
  #closed = false;

  constructor(retention: Required<Retention>, options: StoreOptions) {
    this.#maxAgeMs = retention.maxAgeMs;
    this.#now = options.now ?? Date.now;
    this.#listeners = new ListenerSet(options.onError);
    this.#history = new HistoryIndex(retention);
  }

  append(update: Update): Promise<void> {
    try {
      this.appendNow(update);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  appendNow(update: Update): void {
    if (this.#closed) throw new StoreClosedError('append');
    this.#trimAge(); // an expired update's ID is free again, as in the other stores
    if (!this.#history.add(update.id, update.time, update.topics, updateBytes(update), update)) {
      throw new DuplicateUpdateIdError(update.id);
    }
    this.#listeners.emit(update);
  }

  after(lastEventId: string, limit: number): Promise<{ found: boolean; updates: Update[] }> {
    if (this.#closed) return Promise.reject(new StoreClosedError('read history'));
    const max = checkLimit(limit);
    this.#trimAge();
    let from: Entry<Update> | undefined;
    if (lastEventId !== 'earliest') {
      from = this.#history.get(lastEventId);
      if (from === undefined || !this.#history.isWhole(from)) {
        return Promise.resolve({ found: false, updates: [] });
      }
    }
    const updates = this.#history.after(from, max).map((e) => e.value);
    return Promise.resolve({ found: true, updates });
  }

  lastId(): Promise<string | undefined> {
    if (this.#closed) return Promise.reject(new StoreClosedError('read history'));
    this.#trimAge();
    return Promise.resolve(this.#history.newest?.id);
  }

  newestPublicId(): Promise<string | undefined> {
    if (this.#closed) return Promise.reject(new StoreClosedError('read history'));
    this.#trimAge();
    return Promise.resolve(this.#history.newestWhere((update) => !update.private)?.id);
  }

  subscribe(listener: (update: Update) => void): () => void {
    if (this.#closed) throw new StoreClosedError('subscribe');
    return this.#listeners.add(listener);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    this.#history.clear();
    return Promise.resolve();
  }

  /**
   * Drops updates older than `maxAgeMs` from the front. Updates arrive in `time` order (the hub
   * stamps them on accept), so the first young one ends the scan: O(1) plus what is dropped.
   */
  #trimAge(): void {
    if (this.#maxAgeMs !== 0) this.#history.trimAge(this.#now() - this.#maxAgeMs);
  }
}
