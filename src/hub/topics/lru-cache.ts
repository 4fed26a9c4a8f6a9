/**
 * A bounded least-recently-used map. A `Map` keeps insertion order, so re-inserting on access moves
 * an entry to the young end and the first key is always the oldest: O(1) for get, set and eviction.
 *
 * Used for compiled selectors and for match results, whose keys come from clients (subscription
 * parameters, token claims): without a bound a client could grow them until the process runs out of
 * memory.
 */
export class LruCache<K, V> {
  readonly #map = new Map<K, V>();
  readonly maxEntries: number;

  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`LruCache maxEntries must be a positive integer (got ${maxEntries})`);
    }
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value for `key`, marked as the most recently used; `undefined` when absent. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  /** Stores `value` as the most recently used entry, evicting the oldest when full. */
  set(key: K, value: V): void {
    if (this.#map.has(key)) this.#map.delete(key);
    else if (this.#map.size >= this.maxEntries) {
      this.#map.delete(this.#map.keys().next().value as K);
    }
    this.#map.set(key, value);
  }

  clear(): void {
    this.#map.clear();
  }
}
