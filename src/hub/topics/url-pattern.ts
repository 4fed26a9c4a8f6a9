import { URLPattern } from 'urlpattern-polyfill/urlpattern';
import { SelectorError } from './errors.js';
import { compileLinearRegExp, type LinearRegExp } from './linear-regexp.js';
import { LruCache } from './lru-cache.js';
import { estimateRegExpCost } from './regexp-cost.js';

/**
 * WHATWG URL Patterns (Mercure 1.0 `match_urlpattern`) matched in linear time.
 *
 * Node 20 has no `URLPattern`, so the polyfill parses and canonicalizes the pattern. It then builds
 * one `RegExp` per URL component, and a backtracking `RegExp` is what Mercure 1.0 ("URL Pattern")
 * forbids for client-supplied patterns: `https://e.com/*a*a*a*b` takes seconds on a long topic. The
 * polyfill keeps those expressions private, so they are read as it builds them and each is compiled
 * again for RE2 (linear time); the polyfill's own `RegExp`s are never run against a topic.
 */

/** The URL components in the order the URL Pattern standard compiles them. */
const COMPONENTS = [
  'protocol',
  'username',
  'password',
  'hostname',
  'port',
  'pathname',
  'search',
  'hash',
] as const;

export interface CompiledUrlPattern {
  readonly source: string;
  readonly baseUrl: string;
  /** True when `topic`, parsed as a URL relative to the base URL, matches every component. */
  test(topic: string): boolean;
}

/**
 * Compiles a URL pattern; a relative pattern (and, when matching, a relative topic) resolves against
 * `baseUrl`, the hub's URL (Mercure 1.0: "the hub MUST use the hub's URL as the base URL"). Throws
 * `SelectorError` for an invalid pattern or one whose regular-expression groups RE2 cannot run
 * (lookaround, backreferences). Case is never ignored (Mercure: "MUST NOT enable ignoreCase").
 *
 * `onCost`, when given, gets the estimated cost of compiling the pattern's expressions (the sum of
 * `estimateRegExpCost` over the components that need the engine) before any is compiled; it may
 * throw to refuse the pattern.
 */
export function compileUrlPattern(
  source: string,
  baseUrl: string,
  onCost?: (cost: number) => void,
): CompiledUrlPattern {
  const captured = buildCapturingRegExps(source, baseUrl);
  let cost = 0;
  for (const [index, [pattern, flags]] of captured.entries()) {
    if (flags !== 'u' || !pattern.startsWith('^')) {
      throw new SelectorError(
        source,
        `URL pattern ${JSON.stringify(source)}: unexpected ${COMPONENTS[index]} expression from the ` +
          `URL Pattern polyfill (/${pattern}/${flags}); the polyfill version is not supported`,
      );
    }
    if (pattern !== WILDCARD && !LITERAL.test(pattern)) cost += estimateRegExpCost(pattern);
  }
  onCost?.(cost);
  const tests: Array<((value: string) => boolean) | undefined> = [];
  for (const [index, [pattern]] of captured.entries()) {
    try {
      tests.push(componentTest(pattern));
    } catch (cause) {
      throw new SelectorError(
        source,
        `URL pattern ${JSON.stringify(source)}: its ${COMPONENTS[index]} group cannot be matched in ` +
          'linear time (lookaround and backreferences are refused); use plain groups and classes',
        { cause },
      );
    }
  }
  return {
    source,
    baseUrl,
    test(topic: string): boolean {
      const values = componentsOf(topic, baseUrl);
      if (values === undefined) return false;
      for (let i = 0; i < tests.length; i++) {
        const test = tests[i];
        if (test !== undefined && !test(values[i]!)) return false;
      }
      return true;
    },
  };
}

/** A component that accepts anything, and one that accepts one literal string (its text escaped). */
const WILDCARD = '^(.*)$';
const LITERAL = /^\^((?:[^\\^$.|?*+()[\]{}]|\\[^A-Za-z0-9])*)\$$/;

/** What the component cache may hold, estimated as for compiled selectors (measured per unit). */
const COMPONENT_CACHE_BYTES = 32 * 1024 * 1024;
const COMPONENT_BASE_BYTES = 2048;
const COMPONENT_BYTES_PER_UNIT = 512;

/** Component expressions shared by many patterns (`^https$`, `^example\.com$`) compile once. */
const componentCache = new LruCache<string, { re: LinearRegExp; cost: number }>(1000, {
  // By memory too, as the selector cache is (see SELECTOR_CACHE_BYTES): by count alone, 1,000
  // costly component expressions held about 3 GB.
  maxWeight: COMPONENT_CACHE_BYTES,
  weigh: (entry) => COMPONENT_BASE_BYTES + entry.cost * COMPONENT_BYTES_PER_UNIT,
});

/**
 * A test for one component, or `undefined` when it accepts anything. Most components of most
 * patterns are a wildcard or a literal, so those skip the regular-expression engine, whose
 * compilation is the costly part of a new selector.
 */
function componentTest(pattern: string): ((value: string) => boolean) | undefined {
  if (pattern === WILDCARD) return undefined;
  const literal = LITERAL.exec(pattern);
  if (literal !== null) {
    const text = literal[1]!.replace(/\\(.)/gu, '$1');
    return (value) => value === text;
  }
  let re = componentCache.get(pattern)?.re;
  if (re === undefined) {
    re = compileLinearRegExp(pattern);
    componentCache.set(pattern, { re, cost: estimateRegExpCost(pattern) });
  }
  return (value) => re.test(value);
}

/**
 * The topic's eight components as the URL Pattern standard reads a string input: parsed as a URL
 * against the base, delimiters (`:`, `?`, `#`) removed. A topic that does not parse matches no URL
 * pattern (Mercure 1.0: "MUST treat its evaluation against any URL pattern as not matching").
 */
function componentsOf(topic: string, baseUrl: string): string[] | undefined {
  let url: URL;
  try {
    url = new URL(topic, baseUrl);
  } catch {
    return undefined;
  }
  return [
    url.protocol.slice(0, -1),
    url.username,
    url.password,
    url.hostname,
    url.port,
    url.pathname,
    url.search.slice(1),
    url.hash.slice(1),
  ];
}

/**
 * Constructs the polyfill's URLPattern while recording each `new RegExp(source, flags)` it makes.
 * The swap of the global constructor is synchronous and undone in `finally`, so no other code can
 * observe it. The last eight expressions are the eight components in standard order (the polyfill
 * may build extra ones first, e.g. to test whether the protocol is a special scheme).
 */
function buildCapturingRegExps(source: string, baseUrl: string): Array<[string, string]> {
  const NativeRegExp = globalThis.RegExp;
  const captured: Array<[string, string]> = [];
  globalThis.RegExp = new Proxy(NativeRegExp, {
    construct(target, args, newTarget) {
      captured.push([String(args[0]), args[1] === undefined ? '' : String(args[1])]);
      return Reflect.construct(target, args, newTarget);
    },
  });
  try {
    new URLPattern(source, baseUrl);
  } catch (cause) {
    throw new SelectorError(
      source,
      `${JSON.stringify(source)} is not a valid URL pattern (${(cause as Error).message}); ` +
        'see the WHATWG URL Pattern standard, e.g. https://example.com/books/:id',
      { cause },
    );
  } finally {
    globalThis.RegExp = NativeRegExp;
  }
  if (captured.length < COMPONENTS.length) {
    throw new SelectorError(
      source,
      `URL pattern ${JSON.stringify(source)}: the URL Pattern polyfill built ${captured.length} ` +
        `expressions, expected ${COMPONENTS.length}; the polyfill version is not supported`,
    );
  }
  return captured.slice(-COMPONENTS.length);
}
