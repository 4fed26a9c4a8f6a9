import { HeraldError } from '../../errors.js';

/**
 * A topic selector that cannot be used: an invalid URL pattern, a pattern too long, a character the
 * Mercure protocol forbids. The hub answers 400 to a subscriber and `invalid_token` to a token that
 * carries one (Mercure 1.0, "Topic Matcher List").
 */
export class SelectorError extends HeraldError {
  /** The selector as received. */
  readonly source: string;

  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super('HERALD_ERR_SELECTOR_INVALID', message, options);
    this.source = source;
  }
}
