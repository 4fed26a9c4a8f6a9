/**
 * The hub-wide cap on long-lived connections (`maxSubscribers`; `herald serve` derives it from the
 * process's open-file limit): subscribers on every transport and resumable-stream readers together,
 * each one socket and one file descriptor. Readers left out of it could fill the descriptors the cap
 * keeps free for `/healthz`, publishers and the refusals themselves. Past it, 503 `HERALD_ERR_HUB_FULL`
 * with `Retry-After`, while the process still has descriptors to answer with.
 */
import type { EventEmitter } from 'node:events';
import { HubHttpError } from '../http/errors.js';

export class ConnectionCapacity {
  readonly #max: number;
  readonly #subscribers: { readonly size: number };
  #streamReaders = 0;

  /** `max` 0: no cap. `subscribers` is the registry (polls, event streams, WebSockets). */
  constructor(max: number, subscribers: { readonly size: number }) {
    this.#max = max;
    this.#subscribers = subscribers;
  }

  /** Long-lived connections held: registered subscribers and open stream readers. */
  get held(): number {
    return this.#subscribers.size + this.#streamReaders;
  }

  /** Throws 503 (with `Retry-After: 1`) when one more long-lived connection would pass the cap. */
  check(): void {
    if (this.#max <= 0 || this.held < this.#max) return;
    const full = new HubHttpError(
      503,
      'HERALD_ERR_HUB_FULL',
      `this hub process holds its maximum of ${this.#max} subscribers and stream readers ` +
        '(maxSubscribers); retry later',
    );
    full.retryAfterSeconds = 1;
    throw full;
  }

  /**
   * Checks the cap, then counts a stream reader until `response` closes (however it ends: answered,
   * refused after this point, or read to its end).
   */
  admitStreamReader(response: EventEmitter): void {
    this.check();
    this.#streamReaders++;
    response.once('close', () => {
      this.#streamReaders--;
    });
  }
}
