import type { Update } from '../update.js';
import { DuplicateUpdateIdError, StoreClosedError } from './errors.js';
import { type ListenerErrorHandler, ListenerSet } from './listeners.js';
import { checkLimit, checkRetention } from './retention.js';
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
 * The default store, and the fastest: `append` and `after` cost O(1) plus the updates returned.
 *
 * History is a ring of `retention.maxCount` slots indexed by a sequence number, with a Map from
 * update ID to sequence number, so `after(id)` finds its place without scanning. Retention applies
 * on append (count and age) and again on read (age), so an idle hub does not serve expired updates.
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
  readonly #maxCount: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #listeners: ListenerSet;
  /** Slot `seq % maxCount` holds the update with sequence number `seq`, for `#first <= seq < #next`. */
  readonly #ring: (Update | undefined)[];
  readonly #seqById = new Map<string, number>();
  #first = 0;
  #next = 0;
  #closed = false;

  constructor(retention: Retention, options: StoreOptions) {
    this.#maxCount = retention.maxCount;
    this.#maxAgeMs = retention.maxAgeMs;
    this.#now = options.now ?? Date.now;
    this.#listeners = new ListenerSet(options.onError);
    this.#ring = new Array(this.#maxCount);
  }

  append(update: Update): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreClosedError('append'));
    if (this.#maxCount > 0) {
      this.#trimAge(); // an expired update's ID is free again, as in the other stores
      if (this.#seqById.has(update.id)) return Promise.reject(new DuplicateUpdateIdError(update.id));
      if (this.#next - this.#first === this.#maxCount) this.#dropOldest();
      const seq = this.#next++;
      this.#ring[seq % this.#maxCount] = update;
      this.#seqById.set(update.id, seq);
    }
    this.#listeners.emit(update);
    return Promise.resolve();
  }

  after(lastEventId: string, limit: number): Promise<{ found: boolean; updates: Update[] }> {
    if (this.#closed) return Promise.reject(new StoreClosedError('read history'));
    const max = checkLimit(limit);
    this.#trimAge();
    let start: number;
    if (lastEventId === 'earliest') {
      start = this.#first;
    } else {
      const seq = this.#seqById.get(lastEventId);
      if (seq === undefined) return Promise.resolve({ found: false, updates: [] });
      start = seq + 1;
    }
    const end = Math.min(this.#next, start + max);
    const updates: Update[] = [];
    for (let seq = start; seq < end; seq++) updates.push(this.#ring[seq % this.#maxCount]!);
    return Promise.resolve({ found: true, updates });
  }

  lastId(): Promise<string | undefined> {
    if (this.#closed) return Promise.reject(new StoreClosedError('read history'));
    this.#trimAge();
    if (this.#next === this.#first) return Promise.resolve(undefined);
    return Promise.resolve(this.#ring[(this.#next - 1) % this.#maxCount]!.id);
  }

  subscribe(listener: (update: Update) => void): () => void {
    if (this.#closed) throw new StoreClosedError('subscribe');
    return this.#listeners.add(listener);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    this.#ring.fill(undefined);
    this.#seqById.clear();
    this.#first = this.#next = 0;
    return Promise.resolve();
  }

  #dropOldest(): void {
    const slot = this.#first++ % this.#maxCount;
    this.#seqById.delete(this.#ring[slot]!.id);
    this.#ring[slot] = undefined;
  }

  /**
   * Drops updates older than `maxAgeMs` from the front. Updates arrive in `time` order (the hub
   * stamps them on accept), so the first young one ends the scan: O(1) plus what is dropped.
   */
  #trimAge(): void {
    if (this.#maxAgeMs === 0) return;
    const cutoff = this.#now() - this.#maxAgeMs;
    while (this.#first < this.#next && this.#ring[this.#first % this.#maxCount]!.time < cutoff) {
      this.#dropOldest();
    }
  }
}
