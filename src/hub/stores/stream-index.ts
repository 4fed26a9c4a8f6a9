/**
 * Where each kept update sits in the Redis stream: update ID -> stream entry ID, for the newest
 * `capacity` entries this node has read, in stream order. A ring of parallel arrays plus a Map, like
 * the memory store's, so lookups and appends are O(1) and memory is bounded by `capacity` entries
 * (about 100 bytes each plus the ID's length).
 */
export class StreamIndex {
  readonly #capacity: number;
  readonly #ids: (string | undefined)[];
  readonly #entryIds: (string | undefined)[];
  readonly #times: number[];
  readonly #seqById = new Map<string, number>();
  #first = 0;
  #next = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
    this.#ids = new Array(capacity);
    this.#entryIds = new Array(capacity);
    this.#times = new Array(capacity).fill(0);
  }

  /** Records the newest entry read; the oldest falls out when full. */
  push(id: string, entryId: string, time: number): void {
    if (this.#capacity === 0) return;
    if (this.#next - this.#first === this.#capacity) this.#dropOldest();
    const seq = this.#next++;
    const slot = seq % this.#capacity;
    this.#ids[slot] = id;
    this.#entryIds[slot] = entryId;
    this.#times[slot] = time;
    this.#seqById.set(id, seq);
  }

  /** The stream entry ID of a kept update no older than `cutoff`, if this node has read it. */
  find(id: string, cutoff: number): string | undefined {
    const seq = this.#seqById.get(id);
    if (seq === undefined) return undefined;
    const slot = seq % this.#capacity;
    return this.#times[slot] < cutoff ? undefined : this.#entryIds[slot];
  }

  /**
   * The stream entry ID of the oldest kept update no older than `cutoff`, if any. Expired entries
   * sit at the front (the stream is in time order) and are forgotten on the way: O(1) amortized.
   */
  oldest(cutoff: number): string | undefined {
    while (this.#first < this.#next) {
      const slot = this.#first % this.#capacity;
      if (this.#times[slot] >= cutoff) return this.#entryIds[slot];
      this.#dropOldest();
    }
    return undefined;
  }

  #dropOldest(): void {
    const oldest = this.#first++;
    const slot = oldest % this.#capacity;
    const id = this.#ids[slot]!;
    // The same ID may come again later in the stream (two nodes racing); keep the newer mapping.
    if (this.#seqById.get(id) === oldest) this.#seqById.delete(id);
    this.#ids[slot] = this.#entryIds[slot] = undefined;
  }

  clear(): void {
    this.#ids.fill(undefined);
    this.#entryIds.fill(undefined);
    this.#seqById.clear();
    this.#first = this.#next = 0;
  }
}
