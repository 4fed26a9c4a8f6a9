/**
 * What compiling a subscribe request's selectors may cost: per request, and per client address over
 * time. On a hub that accepts anonymous subscribers compiling is legitimate, so a burst of costly
 * selectors cannot be refused for lack of a token; without a budget, 25 requests of 100 costly URL
 * patterns each froze the hub for seconds. Costs are `estimateRegExpCost` units (about one
 * compiled instruction, ~10 us of compiling), charged before compiling and only for selectors not
 * already compiled: a cached selector is free, whoever asks.
 */

import type { Req } from '../context.js';
import type { CompileBudget } from '../topics/index.js';
import { MAX_SELECTOR_COST, SELECTOR_SETUP_COST } from '../topics/index.js';
import { HubHttpError } from './errors.js';

/**
 * The most one request may spend compiling its new selectors: two of the costliest selectors
 * allowed, 100-400 ms of compiling at worst (measured on a loaded 2-core machine). A request is
 * compiled in one go, so this is the longest any other client waits behind it.
 */
export const MAX_REQUEST_SELECTOR_COST = 2 * MAX_SELECTOR_COST;

/** An address's bucket holds this many seconds of its budget: a burst may spend that much at once. */
const BURST_SECONDS = 1;

/** Past this many tracked addresses, full buckets (no different from none) are forgotten. */
const PRUNE_AT = 10_000;

interface Bucket {
  units: number;
  at: number;
}

/**
 * Token buckets of compile units, one per client address, refilled at `perSecond` up to
 * `BURST_SECONDS` of it. One per hub.
 */
export class AddressCompileBudgets {
  readonly perSecond: number;
  readonly #capacity: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(perSecond: number) {
    this.perSecond = perSecond;
    // At least one selector of the costliest allowed, so that one always compiles in the end.
    this.#capacity = Math.max(perSecond * BURST_SECONDS, MAX_SELECTOR_COST + SELECTOR_SETUP_COST);
  }

  /** Addresses tracked (for tests: the map stays bounded). */
  get size(): number {
    return this.#buckets.size;
  }

  /** The budget of one subscribe request from `address`; charge it through `compileSelector`. */
  forRequest(address: string): CompileBudget {
    let spent = 0;
    return {
      spend: (cost: number, source: string): void => {
        if (spent + cost > MAX_REQUEST_SELECTOR_COST) {
          throw new HubHttpError(
            413,
            'HERALD_ERR_HUB_SELECTORS_TOO_COSTLY',
            `the selectors of one subscription may cost at most ${MAX_REQUEST_SELECTOR_COST} units to compile ` +
              `(MAX_REQUEST_SELECTOR_COST); ${JSON.stringify(source.slice(0, 64))} brings them to ${spent + cost}; ` +
              'subscribe with fewer or simpler patterns',
          );
        }
        if (this.perSecond > 0) this.#take(address, cost);
        spent += cost;
      },
    };
  }

  #take(address: string, cost: number): void {
    const now = performance.now();
    let bucket = this.#buckets.get(address);
    if (bucket === undefined) {
      if (this.#buckets.size >= PRUNE_AT) this.#prune(now);
      bucket = { units: this.#capacity, at: now };
      this.#buckets.set(address, bucket);
    }
    bucket.units = Math.min(this.#capacity, bucket.units + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.units < cost) {
      const error = new HubHttpError(
        429,
        'HERALD_ERR_HUB_COMPILE_BUDGET',
        `this address has spent its budget for compiling new topic selectors (${this.perSecond} units a ` +
          'second, selectorCompileBudget); retry later, or reuse selectors the hub already compiled',
      );
      error.retryAfterSeconds = Math.ceil((cost - bucket.units) / this.perSecond);
      throw error;
    }
    bucket.units -= cost;
  }

  #prune(now: number): void {
    for (const [address, bucket] of this.#buckets) {
      if (bucket.units + ((now - bucket.at) / 1000) * this.perSecond >= this.#capacity) {
        this.#buckets.delete(address);
      }
    }
  }
}

const perHub = new WeakMap<object, AddressCompileBudgets>();

/**
 * The compile budget of one request to the hub whose resolved options are `hubOptions` (one set of
 * buckets per hub, made on first use).
 */
export function requestCompileBudget(
  hubOptions: { readonly selectorCompileBudget: number },
  req: Req,
): CompileBudget {
  let budgets = perHub.get(hubOptions);
  if (budgets === undefined) {
    budgets = new AddressCompileBudgets(hubOptions.selectorCompileBudget);
    perHub.set(hubOptions, budgets);
  }
  return budgets.forRequest(req.socket?.remoteAddress ?? '');
}
