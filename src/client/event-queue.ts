import { EventSourceError } from './errors.js';

/** How many events one async iteration may hold unread, by default. */
export const DEFAULT_MAX_QUEUED = 1024;

/**
 * The bounded buffer behind one `for await` over a source: events pushed by the source wait here
 * until the consumer pulls them. A consumer more than `maxQueued` events behind gets a
 * `HERALD_ERR_QUEUE_OVERFLOW` error instead of unbounded memory growth.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  readonly #maxQueued: number;
  readonly #onReturn: () => void;
  #waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  #done = false;
  #error: unknown = null;

  /** `onReturn` runs once when the consumer stops (break, return, throw) or the queue overflows. */
  constructor(maxQueued: number, onReturn: () => void) {
    this.#maxQueued = maxQueued;
    this.#onReturn = onReturn;
  }

  /** Whether the queue still accepts events. */
  get active(): boolean {
    return !this.#done;
  }

  push(item: T): void {
    if (this.#done) return;
    if (this.#waiting !== null) {
      const waiting = this.#waiting;
      this.#waiting = null;
      waiting.resolve({ value: item, done: false });
      return;
    }
    if (this.#items.length >= this.#maxQueued) {
      this.end(
        new EventSourceError(
          'HERALD_ERR_QUEUE_OVERFLOW',
          `the async iteration fell more than maxQueued (${this.#maxQueued}) events behind the stream; ` +
            'consume events faster or raise maxQueued',
        ),
      );
      this.#onReturn();
      return;
    }
    this.#items.push(item);
  }

  /** Ends the iteration once queued items are read: normally, or by throwing `error`. */
  end(error: unknown = null): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    if (this.#waiting !== null) {
      const waiting = this.#waiting;
      this.#waiting = null;
      this.#settleEnd(waiting);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
    if (this.#done) return new Promise((resolve, reject) => this.#settleEnd({ resolve, reject }));
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    const wasDone = this.#done;
    this.#items.length = 0;
    this.#error = null;
    this.end();
    if (!wasDone) this.#onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #settleEnd(waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }): void {
    if (this.#error !== null) {
      const error = this.#error;
      this.#error = null; // thrown once; later calls just report done
      waiting.reject(error);
    } else waiting.resolve({ value: undefined, done: true });
  }
}
