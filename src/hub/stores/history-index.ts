/**
 * Which updates a store keeps, and in what order: the retention rules of every store, in one place.
 *
 * - **Per topic:** each topic keeps its newest `maxCount` updates. An update with several topics
 *   counts in each, and stays kept while it is among the newest `maxCount` of at least one of them:
 *   a noisy topic evicts its own older updates, never a quiet topic's.
 * - **Hub-wide by bytes:** when the kept updates' sizes add up to more than `maxBytes`, the oldest
 *   go first, whatever their topics.
 * - **By age:** updates older than `maxAgeMs` go, oldest first.
 *
 * Kept updates stay in store (append) order, with holes where a noisy topic evicted its own: a
 * doubly linked list gives O(1) eviction from anywhere and O(k) reads of k updates after an ID, a
 * Map finds an ID in O(1), and each topic has a FIFO of its newest updates. An append costs O(its
 * topics) plus what it evicts.
 *
 * Stores attach what they need to each entry (`value`: the update itself, an SQLite row number, a
 * Redis entry ID) and are told of every eviction through `onEvict`, to drop the data behind it.
 */
export interface Entry<T> {
  readonly id: string;
  readonly time: number;
  /** Bytes this update counts for against `maxBytes` (estimated by the store). */
  readonly size: number;
  /** Its distinct topics. */
  readonly topics: readonly string[];
  readonly value: T;
  /** How many of its topics still count it among their newest `maxCount`. */
  refs: number;
  prev: Entry<T> | undefined;
  next: Entry<T> | undefined;
}

/** What `HistoryIndex` keeps: see its description. */
export interface HistoryLimits {
  /** Updates kept per topic (0: none at all). */
  maxCount: number;
  /** Bytes kept hub-wide (0: no byte limit). */
  maxBytes: number;
}

/** A topic's newest updates, oldest first: an array used as a queue, compacted as its head advances. */
class TopicQueue<T> {
  items: (Entry<T> | undefined)[] = [];
  head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(entry: Entry<T>): void {
    this.items.push(entry);
  }

  peek(): Entry<T> | undefined {
    return this.items[this.head];
  }

  shift(): Entry<T> | undefined {
    const entry = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact once the dead head is most of the array: amortized O(1), memory at most twice the live part.
    if (this.head >= 32 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }
}

export class HistoryIndex<T> {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  readonly #onEvict: (entry: Entry<T>) => void;
  readonly #byId = new Map<string, Entry<T>>();
  readonly #byTopic = new Map<string, TopicQueue<T>>();
  #oldest: Entry<T> | undefined;
  #newest: Entry<T> | undefined;
  #bytes = 0;

  constructor(limits: HistoryLimits, onEvict: (entry: Entry<T>) => void = () => {}) {
    this.#maxCount = limits.maxCount;
    this.#maxBytes = limits.maxBytes;
    this.#onEvict = onEvict;
  }

  /** Whether `maxCount` is 0: `add` keeps nothing. */
  get keepsNothing(): boolean {
    return this.#maxCount === 0;
  }

  /** Updates kept. */
  get size(): number {
    return this.#byId.size;
  }

  /** Sum of the kept updates' sizes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Topics with at least one kept update counted. */
  get topicCount(): number {
    return this.#byTopic.size;
  }

  get oldest(): Entry<T> | undefined {
    return this.#oldest;
  }

  get newest(): Entry<T> | undefined {
    return this.#newest;
  }

  /** The kept entry of `id`, if any. */
  get(id: string): Entry<T> | undefined {
    return this.#byId.get(id);
  }

  /**
   * Whether every update that followed `entry` on each of its topics is still kept: `entry` is
   * still among the newest `maxCount` of every one of its topics (evictions by bytes and age take
   * the oldest, so they never leave a hole after a kept entry). A resume from it is then exact for
   * any subscription to its topics.
   */
  isWhole(entry: Entry<T>): boolean {
    return entry.refs === entry.topics.length;
  }

  /**
   * Keeps a new update (the caller has checked that its ID is not kept), then evicts what the
   * limits no longer allow. Returns the entry, or undefined when `maxCount` is 0 (nothing is kept).
   */
  add(id: string, time: number, topics: readonly string[], size: number, value: T): Entry<T> | undefined {
    if (this.#maxCount === 0) return undefined;
    const distinct = topics.length === 1 ? topics : [...new Set(topics)];
    const entry: Entry<T> = {
      id,
      time,
      size,
      topics: distinct,
      value,
      refs: distinct.length,
      prev: this.#newest,
      next: undefined,
    };
    if (this.#newest) this.#newest.next = entry;
    else this.#oldest = entry;
    this.#newest = entry;
    this.#byId.set(id, entry);
    this.#bytes += size;
    for (let i = 0; i < distinct.length; i++) {
      let queue = this.#byTopic.get(distinct[i]);
      if (queue === undefined) {
        queue = new TopicQueue();
        this.#byTopic.set(distinct[i], queue);
      }
      queue.push(entry);
      if (queue.length > this.#maxCount) {
        const dropped = queue.shift()!;
        if (--dropped.refs === 0) this.#evict(dropped);
      }
    }
    // The newest update always stays, even alone over the byte limit: a publish is never dropped
    // before a reconnecting subscriber could get it.
    if (this.#maxBytes > 0) {
      while (this.#bytes > this.#maxBytes && this.#oldest !== entry) this.#evict(this.#oldest!);
    }
    return entry;
  }

  /** Evicts the updates older than `cutoff` (ms since the epoch), oldest first. */
  trimAge(cutoff: number): void {
    while (this.#oldest !== undefined && this.#oldest.time < cutoff) this.#evict(this.#oldest);
  }

  /** Evicts every entry. */
  clear(): void {
    while (this.#oldest !== undefined) this.#evict(this.#oldest);
  }

  /** Up to `limit` kept entries after `from` (from the oldest when undefined), in store order. */
  after(from: Entry<T> | undefined, limit: number): Entry<T>[] {
    const entries: Entry<T>[] = [];
    for (
      let e = from === undefined ? this.#oldest : from.next;
      e !== undefined && entries.length < limit;
      e = e.next
    ) {
      entries.push(e);
    }
    return entries;
  }

  /** Removes an entry from the list, the ID map and the fronts of its topics' queues. */
  #evict(entry: Entry<T>): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.#oldest = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.#newest = entry.prev;
    this.#byId.delete(entry.id);
    this.#bytes -= entry.size;
    if (entry.refs > 0) {
      // Evicted by bytes or age, both oldest first: in each topic that still counts it, it is the
      // oldest, at the front of the queue.
      for (const topic of entry.topics) {
        const queue = this.#byTopic.get(topic)!;
        if (queue.peek() === entry) {
          queue.shift();
          if (queue.length === 0) this.#byTopic.delete(topic);
        }
      }
      entry.refs = 0;
    }
    entry.prev = entry.next = undefined;
    this.#onEvict(entry);
  }
}
