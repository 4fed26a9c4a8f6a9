import { HeraldError } from '../errors.js';
import type { EventSourceErrorCode } from './error-event.js';

/** An `EventSource` option that cannot work, thrown by the constructor. */
export class InvalidEventSourceOptionError extends HeraldError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('HERALD_ERR_INVALID_OPTION', message);
    this.option = option;
  }
}

/**
 * Why an async iteration over an `EventSource` stopped early: the connection failed (its `code` is
 * the one of the error event), or the consumer fell more than `maxQueued` events behind
 * (`HERALD_ERR_QUEUE_OVERFLOW`).
 */
export class EventSourceError extends HeraldError {
  readonly status: number | undefined;
  constructor(
    code: EventSourceErrorCode | 'HERALD_ERR_QUEUE_OVERFLOW',
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(code, message, { cause: options.cause });
    this.status = options.status;
  }
}
