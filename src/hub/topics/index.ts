// The public face of the hub's topic selectors: compile once, match many.
export { canPublish, canReceive } from './authorization-rules.js';
export { SelectorCostError, SelectorError } from './errors.js';
export { LruCache } from './lru-cache.js';
export { estimateRegExpCost } from './regexp-cost.js';
export { SelectorSet } from './selector-set.js';
export {
  type CompileBudget,
  type CompileSelectorOptions,
  compileSelector,
  DEFAULT_SELECTOR_BASE_URL,
  isProtocolString,
  MATCH_CACHE_SIZE,
  MAX_SELECTOR_COST,
  MAX_SELECTOR_LENGTH,
  SELECTOR_CACHE_BYTES,
  SELECTOR_CACHE_SIZE,
  SELECTOR_SETUP_COST,
  type Selector,
  type SelectorSyntax,
  selectorCacheUsage,
} from './topic-selector.js';
export { parseUriTemplate, uriTemplateToRegExpSource } from './uri-template.js';
export { type CompiledUrlPattern, compileUrlPattern } from './url-pattern.js';
