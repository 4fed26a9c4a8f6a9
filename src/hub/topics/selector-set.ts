import {
  type CompileSelectorOptions,
  compileSelector,
  type Selector,
  type SelectorSyntax,
} from './topic-selector.js';

/**
 * A set of selectors asked one question: does any of them match a topic? Exact selectors sit in a
 * `Set` (one hash lookup, however many there are), `*` short-circuits, and only pattern selectors are
 * evaluated one by one (each caching its results).
 *
 * @example
 * const set = SelectorSet.from(['https://example.com/books/{id}', 'news'], 'template');
 * set.matchesAny(['https://example.com/books/1']); // true
 */
export class SelectorSet {
  /** A set that matches nothing (no grant, no subscription). */
  static readonly EMPTY = new SelectorSet([]);

  /** The selectors, in the order given, duplicates removed. */
  readonly selectors: readonly Selector[];
  /** True when the set holds `*`. */
  readonly matchesEverything: boolean;
  readonly #exact = new Set<string>();
  readonly #patterns: Selector[] = [];

  constructor(selectors: Iterable<Selector>) {
    const kept: Selector[] = [];
    let wildcard = false;
    for (const selector of selectors) {
      if (kept.includes(selector)) continue;
      kept.push(selector);
      if (selector.kind === 'wildcard') wildcard = true;
      else if (selector.kind === 'exact') this.#exact.add(selector.source);
      else this.#patterns.push(selector);
    }
    this.selectors = kept;
    this.matchesEverything = wildcard;
  }

  /**
   * Compiles every source with one syntax (see `compileSelector`, which may throw `SelectorError`).
   */
  static from(
    sources: Iterable<string>,
    syntax: SelectorSyntax,
    options?: CompileSelectorOptions,
  ): SelectorSet {
    const selectors: Selector[] = [];
    for (const source of sources) selectors.push(compileSelector(source, syntax, options));
    return new SelectorSet(selectors);
  }

  get size(): number {
    return this.selectors.length;
  }

  /** The selectors' sources, as given. */
  get sources(): string[] {
    return this.selectors.map((s) => s.source);
  }

  /** True when some selector matches `topic`. */
  matches(topic: string): boolean {
    if (this.matchesEverything || this.#exact.has(topic)) return true;
    for (const selector of this.#patterns) if (selector.matches(topic)) return true;
    return false;
  }

  /** True when some selector matches some topic of `topics`. */
  matchesAny(topics: readonly string[]): boolean {
    if (this.matchesEverything) return topics.length > 0;
    for (const topic of topics) if (this.#exact.has(topic)) return true;
    for (const selector of this.#patterns) {
      for (const topic of topics) if (selector.matches(topic)) return true;
    }
    return false;
  }

  /** True when every topic of `topics` is matched by some selector (and there is at least one). */
  matchesEvery(topics: readonly string[]): boolean {
    if (topics.length === 0) return false;
    for (const topic of topics) if (!this.matches(topic)) return false;
    return true;
  }
}
