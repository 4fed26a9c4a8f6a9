import { SelectorCostError, SelectorError } from './errors.js';
import { compileLinearRegExp } from './linear-regexp.js';
import { LruCache } from './lru-cache.js';
import { estimateRegExpCost } from './regexp-cost.js';
import { uriTemplateToRegExpSource } from './uri-template.js';
import { compileUrlPattern } from './url-pattern.js';

/**
 * How a selector's source is read:
 * - `template`: Mercure draft-07 (`topic=` and the `mercure` claim): `*`, the exact string, or an
 *   RFC 6570 URI template;
 * - `exact`: Mercure 1.0 `match=` / `match_exact=` and `match_type: "exact"`: `*` or the exact string,
 *   byte for byte, no normalization;
 * - `urlpattern`: Mercure 1.0 `match_urlpattern=` and `match_type: "urlpattern"`: `*` or a WHATWG URL
 *   pattern, relative ones resolved against the hub's URL.
 */
export type SelectorSyntax = 'template' | 'exact' | 'urlpattern';

/** A compiled topic selector. Instances are shared (see `compileSelector`); they are immutable. */
export interface Selector {
  readonly source: string;
  readonly syntax: SelectorSyntax;
  /**
   * `wildcard` for `*`; `exact` when only the identical string matches (including a template with no
   * expression); `pattern` otherwise.
   */
  readonly kind: 'wildcard' | 'exact' | 'pattern';
  matches(topic: string): boolean;
}

export interface CompileSelectorOptions {
  /**
   * The hub's URL, against which relative URL patterns and relative topics are resolved (Mercure 1.0,
   * "URL Pattern"). Defaults to `DEFAULT_SELECTOR_BASE_URL`.
   */
  baseUrl?: string;
  /**
   * Charged, before anything is compiled, the estimated cost of each selector not already cached
   * (see `estimateRegExpCost`); it may throw to refuse the compile. The hub passes one per request.
   */
  budget?: CompileBudget;
}

/** Pays for compiling selectors, in cost units (about one compiled instruction, ~10 us, ~256 B). */
export interface CompileBudget {
  /** Takes `cost` units for compiling `source`, or throws to refuse it (nothing is compiled then). */
  spend(cost: number, source: string): void;
}

/**
 * Base URL used when none is configured. `.invalid` cannot be a real host (RFC 6761 §6.4), so it
 * cannot collide with an absolute pattern; relative patterns still match relative topics, such as
 * the hub's own subscription events.
 */
export const DEFAULT_SELECTOR_BASE_URL = 'https://hub.invalid/.well-known/mercure';

/** The longest selector accepted, in UTF-16 units; the Mercure reference hub uses the same bound. */
export const MAX_SELECTOR_LENGTH = 4096;

/** Compiled selectors kept, keyed by (syntax, base URL, source). */
export const SELECTOR_CACHE_SIZE = 10_000;

/**
 * The most one selector may cost to compile, in units of `estimateRegExpCost` (about one compiled
 * instruction each; summed over a URL pattern's components). 5,000 units took 20-50 ms and held
 * ~1.3 MB (measured, re2js 2.10, Node 20); `https://e.com/:x((?:ab|cd|ef|gh){1,1000})` costs
 * 12,000 and `{id:1000}` in a template 36,000, both refused; `{id:100}` costs 3,600, a plain
 * `/books/:id` 15.
 */
export const MAX_SELECTOR_COST = 5_000;

/**
 * The memory the compiled-selector cache may hold, estimated per entry by `selectorWeight`. By
 * entries alone, 10,000 costly selectors held gigabytes; by weight the cache keeps ~50 of the
 * costliest, or its 10,000 entries of ordinary ones.
 */
export const SELECTOR_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Charged to a compile budget for each new pattern selector, before it is parsed: parsing a URL
 * pattern and setting up its engine cost ~0.5 ms however small its expressions, so many cheap new
 * selectors are paid for too, and a client whose budget is spent costs no parsing at all.
 */
export const SELECTOR_SETUP_COST = 50;

/** Measured: ~4 KB per compiled pattern plus ~256 bytes per instruction of its program. */
const PATTERN_BASE_BYTES = 4096;
const BYTES_PER_COST_UNIT = 256;

/**
 * Match results kept for pattern selectors, keyed by (selector, topic): a publish fans out to many
 * subscribers sharing few selectors, so one evaluation serves them all. About 100 bytes an entry.
 */
export const MATCH_CACHE_SIZE = 100_000;

/**
 * Topics longer than this are matched without caching, so that the cache's memory stays bounded by
 * `MATCH_CACHE_SIZE` short keys (about 100 MB at worst) rather than by what publishers send.
 */
const MAX_CACHED_TOPIC_LENGTH = 1024;

const selectorCache = new LruCache<string, Selector>(SELECTOR_CACHE_SIZE, {
  maxWeight: SELECTOR_CACHE_BYTES,
  weigh: selectorWeight,
});
const matchCache = new LruCache<string, boolean>(MATCH_CACHE_SIZE);
let nextSelectorId = 0;

/**
 * Compiles a topic selector once; later calls with the same (syntax, base URL, source) return the
 * same instance from a bounded LRU cache.
 *
 * Throws `SelectorError` for a selector longer than `MAX_SELECTOR_LENGTH`, holding characters the
 * protocol forbids (see `isProtocolString`), or, for `urlpattern`, that is not a valid pattern.
 * An invalid URI template is not an error: draft-07 then compares the selector as a plain string.
 *
 * @example
 * const books = compileSelector('https://example.com/books/{id}', 'template');
 * books.matches('https://example.com/books/1'); // true
 * compileSelector('/books/:id', 'urlpattern', { baseUrl: 'https://example.com/.well-known/mercure' })
 *   .matches('https://example.com/books/1'); // true
 */
export function compileSelector(
  source: string,
  syntax: SelectorSyntax,
  options?: CompileSelectorOptions,
): Selector {
  const baseUrl = options?.baseUrl ?? DEFAULT_SELECTOR_BASE_URL;
  // NUL cannot appear in a valid selector, so it separates the key's parts unambiguously.
  const key = syntax === 'urlpattern' ? `${syntax}\0${baseUrl}\0${source}` : `${syntax}\0${source}`;
  let selector = selectorCache.get(key);
  if (selector === undefined) {
    selector = build(source, syntax, baseUrl, options?.budget);
    selectorCache.set(key, selector);
  }
  return selector;
}

/** The estimated bytes a compiled selector holds, for the cache's bound by memory. */
function selectorWeight(selector: Selector): number {
  const strings = 2 * selector.source.length;
  const cost = costOf.get(selector);
  return cost === undefined ? 64 + strings : PATTERN_BASE_BYTES + strings + cost * BYTES_PER_COST_UNIT;
}

/** The estimated compile cost of each pattern selector, kept for its cache weight. */
const costOf = new WeakMap<Selector, number>();

/** The compiled-selector cache's entries and estimated bytes held (for tests and metrics). */
export function selectorCacheUsage(): { entries: number; bytes: number } {
  return { entries: selectorCache.size, bytes: selectorCache.weight };
}

/**
 * Refuses a selector whose cost passes `MAX_SELECTOR_COST`, then charges `budget`; called before
 * the selector is compiled.
 */
function charge(source: string, cost: number, budget: CompileBudget | undefined): void {
  if (cost > MAX_SELECTOR_COST) throw new SelectorCostError(source, cost, MAX_SELECTOR_COST);
  budget?.spend(cost, source);
}

/**
 * True when `value` may be a topic or a selector: Mercure 1.0 ("Terminology") forbids C0 and C1
 * controls, DEL and Unicode format characters (category Cf: bidirectional and zero-width controls,
 * which make look-alike identifiers) and requires valid UTF-8, so lone surrogates are refused too.
 */
export function isProtocolString(value: string): boolean {
  return !FORBIDDEN_CHARACTERS.test(value);
}

// With the `u` flag, a surrogate range only matches unpaired surrogates.
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\p{Cf}\ud800-\udfff]/u;

function build(
  source: string,
  syntax: SelectorSyntax,
  baseUrl: string,
  budget: CompileBudget | undefined,
): Selector {
  if (source.length > MAX_SELECTOR_LENGTH) {
    throw new SelectorError(
      source.slice(0, 64),
      `a topic selector may hold at most ${MAX_SELECTOR_LENGTH} characters (got ${source.length}); ` +
        'use a shorter pattern',
    );
  }
  if (!isProtocolString(source)) {
    throw new SelectorError(
      source,
      `topic selector ${JSON.stringify(source)} holds a control or invisible formatting character, ` +
        'which Mercure forbids in topics and selectors; remove it',
    );
  }
  // `*` matches every topic, whatever the syntax (Mercure 1.0 "Matcher Types"; draft-07 step 1).
  if (source === '*') return { source, syntax, kind: 'wildcard', matches: () => true };
  if (syntax === 'exact') return exact(source, syntax);
  if (syntax === 'template') {
    const regexpSource = uriTemplateToRegExpSource(source);
    if (regexpSource === undefined) return exact(source, syntax);
    budget?.spend(SELECTOR_SETUP_COST, source);
    const cost = estimateRegExpCost(regexpSource);
    charge(source, cost, budget);
    const re = compileLinearRegExp(regexpSource);
    // Draft-07: a topic identical to the selector matches even if the template would not expand to it.
    return withCost(
      pattern(source, syntax, (topic) => topic === source || re.test(topic)),
      cost,
    );
  }
  if (syntax === 'urlpattern') {
    budget?.spend(SELECTOR_SETUP_COST, source);
    let cost = 0;
    const compiled = compileUrlPattern(source, baseUrl, (estimated) => {
      cost = estimated;
      charge(source, cost, budget);
    });
    return withCost(
      pattern(source, syntax, (topic) => compiled.test(topic)),
      cost,
    );
  }
  throw new SelectorError(
    source,
    `unknown selector syntax ${JSON.stringify(syntax)}; use 'template', 'exact' or 'urlpattern'`,
  );
}

function withCost(selector: Selector, cost: number): Selector {
  costOf.set(selector, cost);
  return selector;
}

function exact(source: string, syntax: SelectorSyntax): Selector {
  return { source, syntax, kind: 'exact', matches: (topic) => topic === source };
}

function pattern(source: string, syntax: SelectorSyntax, test: (topic: string) => boolean): Selector {
  const prefix = `${nextSelectorId++}\0`;
  return {
    source,
    syntax,
    kind: 'pattern',
    matches(topic: string): boolean {
      if (topic.length > MAX_CACHED_TOPIC_LENGTH) return test(topic);
      const key = prefix + topic;
      let result = matchCache.get(key);
      if (result === undefined) {
        result = test(topic);
        matchCache.set(key, result);
      }
      return result;
    },
  };
}
