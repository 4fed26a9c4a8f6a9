import { HeraldError } from '../errors.js';

/**
 * A field that would change the framing of the event stream if written as given: an `event` or `id`
 * holding a line break, an `id` holding NUL, a `retry` that is not a non-negative integer. The encoder
 * refuses instead of "cleaning" the value, because a cleaned value is a different event.
 */
export class InvalidEventError extends HeraldError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('HERALD_ERR_INVALID_EVENT', message);
    this.field = field;
  }
}

/** The parser held more than `maxBufferSize` characters of one line or one event's data. */
export class BufferOverflowError extends HeraldError {
  readonly maxBufferSize: number;
  constructor(maxBufferSize: number, size: number) {
    super(
      'HERALD_ERR_BUFFER_OVERFLOW',
      `event stream buffer exceeded maxBufferSize (${size} > ${maxBufferSize} characters); ` +
        'the peer sent a line or an event larger than allowed; raise maxBufferSize if this is expected',
    );
    this.maxBufferSize = maxBufferSize;
  }
}
