/**
 * A fault-injecting store for lifecycle tests: a real store (the memory store by default) whose
 * history reads can be held (a slow store), made to fail (a store error on page N), or held while
 * the test trims the inner store by publishing past its retention; its `newestPublicId` (the hub's
 * cursor seed, read when a hub starts) can be held or made to fail too. Appends, delivery and everything
 * else are the inner store's.
 *
 * @example
 * const store = new FaultyStore(createMemoryStore({ maxCount: 10, maxAgeMs: 0 }));
 * const held = store.hold(1); // the first history read waits
 * ... open a subscription, await held.reached, publish, then held.release();
 */
import { StoreUnavailableError } from '../../src/hub/stores/errors.js';
import { newestPublicId } from '../../src/hub/stores/newest-public.js';
import type { Store } from '../../src/hub/stores/store.js';
import type { Update } from '../../src/hub/update.js';

/** A history read that waits until released. */
export interface HeldRead {
  /** Resolves once the read is asked for (and waiting). */
  readonly reached: Promise<void>;
  /** Lets the read go on (to the inner store, or to its injected failure). */
  release(): void;
}

export class FaultyStore implements Store {
  readonly inner: Store;
  /** History reads (`after`) asked so far. */
  reads = 0;
  readonly #holds = new Map<number, { reached: () => void; released: Promise<void> }>();
  readonly #failures = new Map<number, Error>();

  constructor(inner: Store) {
    this.inner = inner;
  }

  /** Holds the `n`th history read (1 for the first) until released. */
  hold(n: number): HeldRead {
    let reached!: () => void;
    let release!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    const released = new Promise<void>((r) => (release = r));
    this.#holds.set(n, { reached, released });
    return { reached: reachedP, release };
  }

  /** Makes the `n`th history read reject with `error`. */
  fail(n: number, error = new Error(`injected store failure on read ${n}`)): void {
    this.#failures.set(n, error);
  }

  async after(lastEventId: string, limit: number): Promise<{ found: boolean; updates: Update[] }> {
    const n = ++this.reads;
    const hold = this.#holds.get(n);
    if (hold !== undefined) {
      hold.reached();
      await hold.released;
    }
    const failure = this.#failures.get(n);
    if (failure !== undefined) throw failure;
    return this.inner.after(lastEventId, limit);
  }

  append(update: Update): Promise<void> {
    return this.inner.append(update);
  }

  lastId(): Promise<string | undefined> {
    return this.inner.lastId();
  }

  /** `newestPublicId` calls asked so far (the hub's cursor seed); not counted in `reads`. */
  seedReads = 0;
  #seedFailures = 0;
  #seedHold: { reached: () => void; released: Promise<void> } | undefined;

  /** Makes the next `count` `newestPublicId` calls reject with a store-unavailable error. */
  failSeed(count = 1): void {
    this.#seedFailures = count;
  }

  /** Holds the next `newestPublicId` call until released. */
  holdSeed(): HeldRead {
    let reached!: () => void;
    let release!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    const released = new Promise<void>((r) => (release = r));
    this.#seedHold = { reached, released };
    return { reached: reachedP, release };
  }

  /** The last `newestPublicId` call, settled or not. */
  lastSeed: Promise<unknown> | undefined;

  newestPublicId(): Promise<string | undefined> {
    this.seedReads++;
    const read = this.#seed();
    this.lastSeed = read.catch(() => {});
    return read;
  }

  async #seed(): Promise<string | undefined> {
    const hold = this.#seedHold;
    this.#seedHold = undefined;
    if (hold !== undefined) {
      hold.reached();
      await hold.released;
    }
    if (this.#seedFailures > 0) {
      this.#seedFailures--;
      throw new StoreUnavailableError('injected store failure reading the newest public update');
    }
    return newestPublicId(this.inner);
  }

  subscribe(listener: (update: Update) => void): () => void {
    return this.inner.subscribe(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
