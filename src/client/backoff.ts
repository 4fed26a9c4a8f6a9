/**
 * Reconnection delays that grow after repeated failures, so that many clients of a server that went
 * down do not all come back at the same instant. Jitter formulas from "Exponential Backoff And
 * Jitter" (Marc Brooker, AWS Architecture Blog, 2015).
 */

/** How the delay is randomized. */
export type BackoffJitter =
  /** `random(0, min(maxMs, base × factor^n))`: spreads reconnects the most. */
  | 'full'
  /** `min(maxMs, random(base, previous × factor))`: each delay depends on the previous one. */
  | 'decorrelated'
  /** `min(maxMs, base × factor^n)`: no randomness. */
  | 'none';

export interface BackoffOptions {
  /** The base delay until the server sends `retry:`, which then replaces it. Default: 3000. */
  initialMs?: number;
  /** No delay is longer than this. Default: {@link DEFAULT_BACKOFF_MAX_MS}. */
  maxMs?: number;
  /** How much the delay ceiling grows per failed attempt. Default: 2. */
  factor?: number;
  /** Default: `'full'`. */
  jitter?: BackoffJitter;
  /**
   * Reconnect attempts allowed in a row without a successful open; once used up the source closes
   * with a `HERALD_ERR_RETRIES_EXHAUSTED` error. Default: unlimited.
   */
  maxRetries?: number;
  /** A source of numbers in [0, 1), for reproducible delays in tests. Default: `Math.random`. */
  random?: () => number;
}

/** The cap on one backoff delay, by default: half a minute. */
export const DEFAULT_BACKOFF_MAX_MS = 30_000;
/** The growth of the delay ceiling per failed attempt, by default. */
export const DEFAULT_BACKOFF_FACTOR = 2;

/** The state of one source's backoff: how many attempts failed in a row, and the last delay. */
export class Backoff {
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: BackoffJitter;
  readonly maxRetries: number;
  readonly #random: () => number;
  #attempt = 0;
  #previous = 0;

  constructor(options: BackoffOptions) {
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.factor = options.factor ?? DEFAULT_BACKOFF_FACTOR;
    this.jitter = options.jitter ?? 'full';
    this.maxRetries = options.maxRetries ?? Number.POSITIVE_INFINITY;
    this.#random = options.random ?? Math.random;
  }

  /** Attempts made since the last {@link reset}. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * The delay before the next attempt given the current base delay (the reconnection time), or
   * `null` when `maxRetries` attempts failed already.
   */
  next(baseMs: number): number | null {
    if (this.#attempt >= this.maxRetries) return null;
    const n = this.#attempt++;
    let delay: number;
    switch (this.jitter) {
      case 'none':
        delay = Math.min(this.maxMs, baseMs * this.factor ** n);
        break;
      case 'full':
        delay = this.#random() * Math.min(this.maxMs, baseMs * this.factor ** n);
        break;
      case 'decorrelated': {
        const previous = n === 0 ? baseMs : this.#previous;
        const high = Math.max(baseMs, previous * this.factor);
        delay = Math.min(this.maxMs, baseMs + this.#random() * (high - baseMs));
        break;
      }
    }
    this.#previous = Math.round(delay);
    return this.#previous;
  }

  /** Forgets past failures: called when a connection opens. */
  reset(): void {
    this.#attempt = 0;
    this.#previous = 0;
  }
}
