import { HeraldError } from '../../errors.js';

/**
 * A topic selector that cannot be used: an invalid URL pattern, a pattern too long, a character the
 * Mercure protocol forbids. The hub answers 400 to a subscriber and `invalid_token` to a token that
 * carries one (Mercure 1.0, "Topic Matcher List").
 */
export class SelectorError extends HeraldError {
  /** The selector as received. */
  readonly source: string;

  constructor(source: string, message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'HERALD_ERR_SELECTOR_INVALID', message, options);
    this.source = source;
  }
}

/**
 * A topic selector whose compiled form would cost more than the hub allows (`MAX_SELECTOR_COST`):
 * a nested or long repetition in a URL pattern group, or a URI template prefix such as `{id:1000}`.
 * Refused before it is compiled. A `SelectorError`, so every caller that refuses an invalid selector
 * refuses this one too; the hub answers a subscriber 400 with `HERALD_ERR_HUB_SELECTOR_TOO_COSTLY`.
 */
export class SelectorCostError extends SelectorError {
  /** The selector's estimated cost (instructions of its compiled program). */
  readonly cost: number;
  readonly limit: number;

  constructor(source: string, cost: number, limit: number) {
    super(
      source.slice(0, 64),
      `topic selector ${JSON.stringify(source.length > 64 ? `${source.slice(0, 64)}…` : source)} would compile ` +
        `to about ${cost} instructions, more than the ${limit} one selector may cost (MAX_SELECTOR_COST); ` +
        'use fewer or smaller repetitions ({n,m}, {var:N})',
      { code: 'HERALD_ERR_SELECTOR_TOO_COSTLY' },
    );
    this.cost = cost;
    this.limit = limit;
  }
}
