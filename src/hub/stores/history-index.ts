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
 * Kept updates stay in store (append) order, with holes where a noisy topic evicted its own. Each
 * gets a position, an integer that grows with every append; the fields of the update at position
 * `p` sit at index `p & mask` of parallel arrays used as one ring (a column per field: times, sizes
 * and counts in typed arrays). A hash table of integers (id-table.ts) finds a position by ID,
 * and each topic has a FIFO of its newest positions. An append costs O(its topics) plus what it
 * evicts; reading k updates after an ID costs O(k) plus the holes in between (the ring is rebuilt
 * without holes when it fills up).
 *
 * Why integers and not an object per update linked to its neighbours: every index structure is
 * old (it lives as long as the store) and every new update is young, so each append wrote pointers
 * from old objects to young ones, and the garbage collector's young-generation passes then kept
 * dead updates alive through stale references and promoted them: with one entry object per update
 * in the ID map, appends cost about twice as much CPU, mostly in the scavenger (bench/history).
 * Positions are small integers, which hold no pointer; only the ID, value and topic columns do.
 *
 * Stores attach what they need to each update (`value`: the update itself, an SQLite row number, a
 * Redis entry ID) and are told of every eviction through `onEvict`, to drop the data behind it.
 */
import { IdTable } from './id-table.js';

/** A kept update, as read: a copy of its fields at the time of the read. */
export interface Entry<T> {
  readonly id: string;
  readonly time: number;
  readonly value: T;
}

/** A test every kept update passes. */
const any = (): boolean => true;

/** What `HistoryIndex` keeps: see its description. */
export interface HistoryLimits {
  /** Updates kept per topic (0: none at all). */
  maxCount: number;
  /** Bytes kept hub-wide (0: no byte limit). */
  maxBytes: number;
}

/** Positions are renumbered from 0 before they reach this, so that they stay small integers. */
const MAX_POSITION = 2 ** 30;
const MIN_CAPACITY = 16;

/** A topic's newest positions, oldest first: an array used as a queue, compacted as its head advances. */
class PositionQueue {
  items: number[] = [];
  head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(position: number): void {
    this.items.push(position);
  }

  peek(): number {
    return this.head < this.items.length ? this.items[this.head] : -1;
  }

  shift(): number {
    const position = this.items[this.head++];
    // Compact once the dead head is most of the array: amortized O(1), memory at most twice the live part.
    if (this.head >= 32 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return position;
  }
}

export class HistoryIndex<T> {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  readonly #onEvict: (id: string, value: T) => void;
  /** ID -> position of every kept update. */
  readonly #byId = new IdTable((position) => this.#ids[position & this.#mask]);
  readonly #byTopic = new Map<string, PositionQueue>();
  // The ring: position p at index p & #mask, for #head <= p < #tail. A hole has refs 0 and no ID.
  #mask = MIN_CAPACITY - 1;
  #ids: (string | undefined)[] = new Array(MIN_CAPACITY).fill(undefined);
  #values: (T | undefined)[] = new Array(MIN_CAPACITY).fill(undefined);
  #topics: (readonly string[] | undefined)[] = new Array(MIN_CAPACITY).fill(undefined);
  #times = new Float64Array(MIN_CAPACITY);
  #sizes = new Float64Array(MIN_CAPACITY);
  /** How many of its topics still count the update among their newest `maxCount`; 0: evicted. */
  #refs = new Int32Array(MIN_CAPACITY);
  /** The oldest kept position (never a hole), or #tail when nothing is kept. */
  #head = 0;
  #tail = 0;
  #bytes = 0;

  constructor(limits: HistoryLimits, onEvict: (id: string, value: T) => void = () => {}) {
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

  /** The newest kept update. */
  get newest(): Entry<T> | undefined {
    // The newest is never evicted before an older one (see `add`), but look past holes anyway.
    return this.newestWhere(any);
  }

  /** The oldest kept update. */
  get oldest(): Entry<T> | undefined {
    // The head is never a hole.
    return this.#head < this.#tail ? this.#entry(this.#head) : undefined;
  }

  /** The newest kept update whose value passes `test`, looking back from the newest. */
  newestWhere(test: (value: T) => boolean): Entry<T> | undefined {
    for (let p = this.#tail - 1; p >= this.#head; p--) {
      const slot = p & this.#mask;
      if (this.#refs[slot] > 0 && test(this.#values[slot] as T)) return this.#entry(p);
    }
    return undefined;
  }

  /** Whether an update of this ID is kept. */
  has(id: string): boolean {
    return this.#byId.get(id) !== -1;
  }

  /** The kept update of `id`, if any. */
  get(id: string): Entry<T> | undefined {
    const position = this.#byId.get(id);
    return position === -1 ? undefined : this.#entry(position);
  }

  /**
   * Whether every update that followed `entry` on each of its topics is still kept: `entry` is
   * still among the newest `maxCount` of every one of its topics (evictions by bytes and age take
   * the oldest, so they never leave a hole after a kept entry). A resume from it is then exact for
   * any subscription to its topics. False once it is evicted.
   */
  isWhole(entry: Entry<T>): boolean {
    const position = this.#byId.get(entry.id);
    if (position === -1) return false;
    const slot = position & this.#mask;
    return this.#refs[slot] === this.#topics[slot]!.length;
  }

  /**
   * Keeps a new update, then evicts what the limits no longer allow. False, and nothing changes,
   * when an update of this ID is kept already (one look-up for both: see id-table.ts). Keeps
   * nothing when `maxCount` is 0.
   */
  add(id: string, time: number, topics: readonly string[], size: number, value: T): boolean {
    if (this.#maxCount === 0) return true;
    if (this.#tail - this.#head > this.#mask || this.#tail >= MAX_POSITION) this.#rebuild();
    const position = this.#tail;
    if (!this.#byId.add(id, position)) return false;
    this.#tail++;
    const distinct = topics.length === 1 ? topics : [...new Set(topics)];
    const slot = position & this.#mask;
    this.#ids[slot] = id;
    this.#values[slot] = value;
    this.#topics[slot] = distinct;
    this.#times[slot] = time;
    this.#sizes[slot] = size;
    this.#refs[slot] = distinct.length;
    this.#bytes += size;
    for (let i = 0; i < distinct.length; i++) {
      let queue = this.#byTopic.get(distinct[i]);
      if (queue === undefined) {
        queue = new PositionQueue();
        this.#byTopic.set(distinct[i], queue);
      }
      queue.push(position);
      if (queue.length > this.#maxCount) {
        const dropped = queue.shift();
        if (--this.#refs[dropped & this.#mask] === 0) this.#evict(dropped);
      }
    }
    // The newest update always stays, even alone over the byte limit: a publish is never dropped
    // before a reconnecting subscriber could get it.
    if (this.#maxBytes > 0) {
      while (this.#bytes > this.#maxBytes && this.#head !== position) this.#evict(this.#head);
    }
    return true;
  }

  /** Evicts the updates older than `cutoff` (ms since the epoch), oldest first. */
  trimAge(cutoff: number): void {
    while (this.#head < this.#tail && this.#times[this.#head & this.#mask] < cutoff) {
      this.#evict(this.#head);
    }
  }

  /** Evicts every update. */
  clear(): void {
    while (this.#head < this.#tail) this.#evict(this.#head);
  }

  /** Up to `limit` kept updates after `from` (from the oldest when undefined), in store order. */
  after(from: Entry<T> | undefined, limit: number): Entry<T>[] {
    const entries: Entry<T>[] = [];
    let p = this.#head;
    if (from !== undefined) {
      const position = this.#byId.get(from.id);
      if (position === -1) return entries;
      p = position + 1;
    }
    for (; p < this.#tail && entries.length < limit; p++) {
      if (this.#refs[p & this.#mask] > 0) entries.push(this.#entry(p));
    }
    return entries;
  }

  #entry(position: number): Entry<T> {
    const slot = position & this.#mask;
    return { id: this.#ids[slot]!, time: this.#times[slot], value: this.#values[slot] as T };
  }

  /** Removes an update from the ring, the ID map and the fronts of its topics' queues. */
  #evict(position: number): void {
    const slot = position & this.#mask;
    const id = this.#ids[slot]!;
    const value = this.#values[slot] as T;
    this.#byId.delete(id, position);
    this.#bytes -= this.#sizes[slot];
    if (this.#refs[slot] > 0) {
      // Evicted by bytes or age, both oldest first: in each topic that still counts it, it is the
      // oldest, at the front of the queue.
      for (const topic of this.#topics[slot]!) {
        const queue = this.#byTopic.get(topic)!;
        if (queue.peek() === position) {
          queue.shift();
          if (queue.length === 0) this.#byTopic.delete(topic);
        }
      }
      this.#refs[slot] = 0;
    }
    this.#ids[slot] = undefined;
    this.#values[slot] = undefined;
    this.#topics[slot] = undefined;
    if (position === this.#head) {
      do this.#head++;
      while (this.#head < this.#tail && this.#refs[this.#head & this.#mask] === 0);
    }
    this.#onEvict(id, value);
  }

  /**
   * Moves the kept updates to a new ring at least twice as large as they need: called when the
   * ring is full (of updates or holes) or positions grow large, so a ring of n slots is rebuilt
   * after at least n/2 appends, O(1) amortized per append. When every position from the oldest to
   * the newest fits in half the new ring (a growing history, few holes), each update keeps its position:
   * the ID map and topic queues stay as they are. Otherwise the kept updates are renumbered 0, 1,
   * ... without holes, and the map and queues follow.
   */
  #rebuild(): void {
    const kept = this.#byId.size;
    let capacity = MIN_CAPACITY;
    while (capacity < kept * 2) capacity *= 2;
    const renumber = (this.#tail - this.#head) * 2 > capacity || this.#tail >= MAX_POSITION;
    const ids: (string | undefined)[] = new Array(capacity).fill(undefined);
    const values: (T | undefined)[] = new Array(capacity).fill(undefined);
    const topics: (readonly string[] | undefined)[] = new Array(capacity).fill(undefined);
    const times = new Float64Array(capacity);
    const sizes = new Float64Array(capacity);
    const refs = new Int32Array(capacity);
    const mask = capacity - 1;
    // Old slot -> new position, for the topic queues.
    const renumbered = renumber ? new Int32Array(this.#mask + 1) : undefined;
    let n = 0;
    for (let p = this.#head; p < this.#tail; p++) {
      const slot = p & this.#mask;
      if (this.#refs[slot] === 0) continue;
      const position = renumber ? n++ : p;
      const to = position & mask;
      ids[to] = this.#ids[slot];
      values[to] = this.#values[slot];
      topics[to] = this.#topics[slot];
      times[to] = this.#times[slot];
      sizes[to] = this.#sizes[slot];
      refs[to] = this.#refs[slot];
      if (renumbered !== undefined) renumbered[slot] = position;
    }
    if (renumbered !== undefined) {
      for (const queue of this.#byTopic.values()) {
        const items = queue.head === 0 ? queue.items : queue.items.slice(queue.head);
        for (let i = 0; i < items.length; i++) items[i] = renumbered[items[i] & this.#mask];
        queue.items = items;
        queue.head = 0;
      }
      this.#head = 0;
      this.#tail = n;
    }
    this.#ids = ids;
    this.#values = values;
    this.#topics = topics;
    this.#times = times;
    this.#sizes = sizes;
    this.#refs = refs;
    this.#mask = mask;
    if (renumbered !== undefined) {
      // Positions changed: the ID table is refilled (and sized for what is kept now).
      this.#byId.reset(kept);
      for (let p = 0; p < this.#tail; p++) this.#byId.add(this.#ids[p & mask]!, p);
    }
  }
}
