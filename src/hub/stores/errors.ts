import { HeraldError } from '../../errors.js';

/**
 * The store cannot take or serve updates right now (Redis down or too slow, database locked).
 * Transient: the hub answers 503 and the publisher may retry. `cause` holds the underlying error.
 */
export class StoreUnavailableError extends HeraldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HERALD_ERR_STORE_UNAVAILABLE', message, options);
  }
}

/**
 * An update's ID is already in the kept history. IDs identify events for `Last-Event-ID`, so two
 * updates sharing one would make resumption ambiguous; the hub answers 409 and the publisher picks
 * another ID.
 */
export class DuplicateUpdateIdError extends HeraldError {
  readonly id: string;
  constructor(id: string) {
    super(
      'HERALD_ERR_STORE_DUPLICATE_ID',
      `update IDs must be unique among kept updates (got ${JSON.stringify(id)}, already stored); ` +
        'publish with another id, or omit it to let the hub generate one',
    );
    this.id = id;
  }
}

/** The store was used after `close()`. A programming error in the caller. */
export class StoreClosedError extends HeraldError {
  constructor(operation: string) {
    super(
      'HERALD_ERR_STORE_CLOSED',
      `a closed store cannot ${operation}; open a new store instead of reusing one after close()`,
    );
  }
}

/**
 * A store spec, retention or option that cannot work: an unknown `openStore` scheme, a negative
 * `maxCount`, a database file that is not a Herald store or is corrupt. Thrown at construction.
 */
export class StoreConfigError extends HeraldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HERALD_ERR_STORE_CONFIG', message, options);
  }
}
