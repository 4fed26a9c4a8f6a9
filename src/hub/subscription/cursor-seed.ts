/**
 * The resume cursor of a hub that has not delivered a public update yet. A subscriber opened without
 * an ID is told the newest public update this process delivered (`registry.newestPublicId`); after
 * a restart on a durable store that is nothing until the next publish, and `earliest` would make a
 * client that reconnects before it replay the whole kept history as new. So the hub reads the
 * newest public update the store keeps when it starts, and such subscribers wait for that answer
 * (bounded) before they join; without an answer they join with `earliest` (see admission.ts).
 */
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../stores/errors.js';
import { newestPublicId } from '../stores/newest-public.js';
import type { Store } from '../stores/store.js';
import type { SubscriberRegistry } from '../subscribers/registry.js';

/** How long a subscription waits for the store's answer before it joins without it (`earliest`). */
export const CURSOR_SEED_WAIT_MS = 10_000;

export class CursorSeed {
  readonly #store: Store;
  readonly #registry: SubscriberRegistry;
  #read = false;
  /** The read under way, if any; a failed or late one is asked again by the next `wait()`. */
  #reading: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** Starts reading at once, so that the first subscribers find the answer there. */
  constructor(store: Store, registry: SubscriberRegistry, logger: Logger | undefined) {
    this.#store = store;
    this.#registry = registry;
    this.wait().catch((error: unknown) => {
      if (this.#closed) return; // the store closed with the hub
      logger?.warn(
        { err: error },
        'could not read the newest public update from the store; subscriptions without an ID are told earliest until it answers',
      );
    });
  }

  /** Whether a subscriber may join without waiting: the cursor is the registry's. */
  get ready(): boolean {
    return this.#read || this.#registry.newestPublicId !== undefined;
  }

  /**
   * Resolves once the registry's `newestPublicId` is the cursor to give (undefined only when the
   * store keeps no public update). Rejects with `StoreUnavailableError` when the store fails or
   * does not answer within CURSOR_SEED_WAIT_MS; the next call asks again.
   */
  wait(): Promise<void> {
    if (this.ready) return Promise.resolve();
    this.#reading ??= this.#start().finally(() => {
      clearTimeout(this.#timer);
      this.#reading = undefined;
    });
    return this.#reading;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #start(): Promise<void> {
    const read = newestPublicId(this.#store).then(
      (id) => {
        this.#read = true;
        // An update delivered while the store was read is newer: it stays.
        if (id !== undefined) this.#registry.newestPublicId ??= id;
      },
      (error: unknown) => {
        throw error instanceof StoreUnavailableError
          ? error
          : new StoreUnavailableError('the store could not tell its newest public update', { cause: error });
      },
    );
    const late = new Promise<never>((_, reject) => {
      this.#timer = setTimeout(
        () =>
          reject(
            new StoreUnavailableError(
              `the store did not tell its newest public update within ${CURSOR_SEED_WAIT_MS} ms`,
            ),
          ),
        CURSOR_SEED_WAIT_MS,
      );
      this.#timer.unref();
    });
    return Promise.race([read, late]);
  }
}
