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

/**
 * A resumable stream ended with an `aborted` event: its producer failed or went silent. `chunks`
 * counts what it had written (all of which the reader received); `reason` says why.
 */
export class StreamAbortedError extends HeraldError {
  readonly reason: string;
  readonly chunks: number;
  constructor(reason: string, chunks: number) {
    super(
      'HERALD_ERR_STREAM_ABORTED',
      `the resumable stream was aborted after ${chunks} chunk(s): ${reason}`,
    );
    this.reason = reason;
    this.chunks = chunks;
  }
}

/**
 * A resumable stream cannot be read: the server answered 404 (no such stream, or it expired), 400
 * (a `Last-Event-ID` of another stream) or another refusal; `status` is the HTTP status and the
 * message carries the server's explanation.
 */
export class StreamReadError extends HeraldError {
  readonly status: number | undefined;
  constructor(code: string, message: string, status?: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}
