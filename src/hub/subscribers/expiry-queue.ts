/**
 * When subscribers' tokens expire: one timer for all of them, armed for the earliest expiry, over a
 * binary min-heap (O(log n) add and remove). Mercure arms a timer per connection; at tens of
 * thousands of connections one timer and a heap cost far less memory and timer-wheel churn.
 */

/** Something that can sit in the queue; the queue keeps its heap position on it. */
export interface Expiring {
  /** When to expire, in ms since the epoch. */
  expiresAt: number;
  /** @internal Heap index; -1 when not queued. */
  expiryIndex: number;
}

/**
 * When a connection opened at `since` must close: at its token's expiry, or after 80-100% of
 * `maxConnectionMs` (0: no bound), whichever comes first. The spread keeps connections opened
 * together (a deploy, a network blip) from all reconnecting together.
 */
export function connectionExpiresAt(
  since: number,
  tokenExpiresAt: number | undefined,
  maxConnectionMs: number,
): number {
  const byToken = tokenExpiresAt ?? Number.POSITIVE_INFINITY;
  if (maxConnectionMs <= 0) return byToken;
  return Math.min(byToken, since + maxConnectionMs * (0.8 + 0.2 * Math.random()));
}

/** Node clamps longer delays to 1 ms (a setTimeout delay is a signed 32-bit number of ms). */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class ExpiryQueue<T extends Expiring> {
  readonly #heap: T[] = [];
  readonly #onExpire: (item: T) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Number.POSITIVE_INFINITY;
  readonly #tick = () => this.fire();

  constructor(onExpire: (item: T) => void, now: () => number = Date.now) {
    this.#onExpire = onExpire;
    this.#now = now;
  }

  get size(): number {
    return this.#heap.length;
  }

  add(item: T): void {
    const heap = this.#heap;
    item.expiryIndex = heap.length;
    heap.push(item);
    this.#up(item.expiryIndex);
    this.#arm();
  }

  remove(item: T): void {
    const i = item.expiryIndex;
    const heap = this.#heap;
    if (i < 0 || heap[i] !== item) return;
    item.expiryIndex = -1;
    const last = heap.pop()!;
    if (i < heap.length) {
      heap[i] = last;
      last.expiryIndex = i;
      this.#down(i);
      this.#up(last.expiryIndex);
    }
    if (heap.length === 0) this.#disarm();
  }

  /** Stops the timer and forgets every item. */
  clear(): void {
    for (const item of this.#heap) item.expiryIndex = -1;
    this.#heap.length = 0;
    this.#disarm();
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #arm(): void {
    const first = this.#heap[0];
    if (first === undefined) {
      this.#disarm();
      return;
    }
    if (this.#timer !== null && this.#timerAt <= first.expiresAt) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const delay = Math.min(MAX_DELAY_MS, Math.max(0, first.expiresAt - this.#now()));
    this.#timerAt = first.expiresAt;
    const timer: NodeJS.Timeout = setTimeout(this.#tick, delay);
    // Connections keep the process alive, not their expiry.
    timer.unref();
    this.#timer = timer;
  }

  /** @internal */
  fire(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#now();
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.expiresAt <= now) {
      const item = heap[0]!;
      this.remove(item);
      this.#onExpire(item);
    }
    this.#arm();
  }

  #up(i: number): void {
    const heap = this.#heap;
    const item = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (parent.expiresAt <= item.expiresAt) break;
      heap[i] = parent;
      parent.expiryIndex = i;
      i = p;
    }
    heap[i] = item;
    item.expiryIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const item = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.expiresAt < heap[l]!.expiresAt ? r : l;
      const child = heap[c]!;
      if (child.expiresAt >= item.expiresAt) break;
      heap[i] = child;
      child.expiryIndex = i;
      i = c;
    }
    heap[i] = item;
    item.expiryIndex = i;
  }
}
