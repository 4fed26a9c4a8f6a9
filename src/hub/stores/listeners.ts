import type { Update } from '../update.js';

/** Called when a subscribe listener throws; the other listeners still receive the update. */
export type ListenerErrorHandler = (error: unknown, update: Update) => void;

/**
 * Default report for a throwing listener: a process warning (printed to stderr, observable with
 * `process.on('warning')`). Never silent, never fatal to the store.
 */
export const reportListenerError: ListenerErrorHandler = (error, update) => {
  const warning = error instanceof Error ? error : new Error(String(error));
  process.emitWarning(warning, {
    type: 'HeraldStoreListenerError',
    detail: `a store subscribe listener threw while receiving update ${JSON.stringify(update.id)}`,
  });
};

/**
 * The listeners of one store. Copy-on-write: `emit` walks the array it started with, so a listener
 * that subscribes or unsubscribes during delivery changes the next delivery, not this one, and the
 * hot path allocates nothing.
 */
export class ListenerSet {
  #listeners: ReadonlyArray<(update: Update) => void> = [];
  readonly #onError: ListenerErrorHandler;

  constructor(onError: ListenerErrorHandler = reportListenerError) {
    this.#onError = onError;
  }

  get size(): number {
    return this.#listeners.length;
  }

  add(listener: (update: Update) => void): () => void {
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry = (update: Update) => listener(update);
    this.#listeners = [...this.#listeners, entry];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== entry);
    };
  }

  emit(update: Update): void {
    const listeners = this.#listeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i](update);
      } catch (error) {
        this.#onError(error, update);
      }
    }
  }

  clear(): void {
    this.#listeners = [];
  }
}
