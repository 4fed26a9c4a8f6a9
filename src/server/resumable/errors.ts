/**
 * Errors of resumable streams, each with a stable code and the HTTP status it maps to, in one place
 * ({@link resumableErrorStatus}): a missing stream is 404, writing to an ended one 409, too many
 * bytes 413, a `Last-Event-ID` of another stream 400.
 */
import { HeraldError } from '../../errors.js';

/** Base class: `status` is the HTTP status a request failing with this error gets. */
export class ResumableStreamError extends HeraldError {
  readonly status: number;
  readonly streamId: string;
  constructor(status: number, code: string, streamId: string, message: string) {
    super(code, message);
    this.status = status;
    this.streamId = streamId;
  }
}

/** No stream with this ID: never created, or expired after it ended. */
export class StreamNotFoundError extends ResumableStreamError {
  constructor(streamId: string) {
    super(
      404,
      'HERALD_ERR_STREAM_NOT_FOUND',
      streamId,
      `no resumable stream ${JSON.stringify(streamId)}: it was never started or it expired after it ended; ` +
        'check the stream ID, or start it before readers attach',
    );
  }
}

/** A stream with this ID already exists (open or ended but not yet expired). */
export class StreamExistsError extends ResumableStreamError {
  constructor(streamId: string) {
    super(
      409,
      'HERALD_ERR_STREAM_EXISTS',
      streamId,
      `resumable stream ${JSON.stringify(streamId)} already exists; stream IDs are single-use: pick a new ID ` +
        '(e.g. a UUID per generation) or wait until the old stream expires',
    );
  }
}

/** The stream ended (or was aborted): nothing more may be appended to it. */
export class StreamEndedError extends ResumableStreamError {
  readonly state: 'ended' | 'aborted';
  constructor(streamId: string, state: 'ended' | 'aborted') {
    super(
      409,
      'HERALD_ERR_STREAM_FINISHED',
      streamId,
      `resumable stream ${JSON.stringify(streamId)} is ${state}: a finished stream takes no more chunks; ` +
        'start a new stream with a new ID',
    );
    this.state = state;
  }
}

/** A chunk over `maxChunkBytes`, or a stream that would grow over `maxStreamBytes`. */
export class StreamTooLargeError extends ResumableStreamError {
  readonly limit: 'maxChunkBytes' | 'maxStreamBytes';
  readonly bytes: number;
  readonly max: number;
  constructor(streamId: string, limit: 'maxChunkBytes' | 'maxStreamBytes', bytes: number, max: number) {
    super(
      413,
      'HERALD_ERR_STREAM_TOO_LARGE',
      streamId,
      limit === 'maxChunkBytes'
        ? `a resumable stream chunk may hold at most ${max} bytes (got ${bytes} for stream ` +
            `${JSON.stringify(streamId)}); split it or raise maxChunkBytes`
        : `resumable stream ${JSON.stringify(streamId)} may hold at most ${max} bytes (this append would ` +
            `make it ${bytes}); streams are kept whole until they end, so end this one or raise maxStreamBytes`,
    );
    this.limit = limit;
    this.bytes = bytes;
    this.max = max;
  }
}

/**
 * An append that named the chunks it expected stored before it (`after`), and the stream holds
 * another count: chunks were lost on the way (fewer) or another producer wrote (more, but not
 * these). A retry of an append that was stored is not this error: it answers as the first did.
 */
export class StreamSequenceError extends ResumableStreamError {
  readonly expected: number;
  readonly count: number;
  constructor(streamId: string, expected: number, count: number) {
    super(
      409,
      'HERALD_ERR_STREAM_SEQUENCE',
      streamId,
      `resumable stream ${JSON.stringify(streamId)} holds ${count} chunks, not the ${expected} this append ` +
        `follows: append after chunk ${count} (the last ID answered), or start a new stream`,
    );
    this.expected = expected;
    this.count = count;
  }
}

/** A store limit shared by every stream was reached: too many open streams, or too many bytes held. */
export class StreamCapacityError extends ResumableStreamError {
  readonly limit: 'maxOpenStreams' | 'maxHeldBytes';
  readonly max: number;
  constructor(streamId: string, limit: 'maxOpenStreams' | 'maxHeldBytes', max: number) {
    super(
      503,
      'HERALD_ERR_STREAM_CAPACITY',
      streamId,
      limit === 'maxOpenStreams'
        ? `resumable stream ${JSON.stringify(streamId)} not started: ${max} streams are open, the most this ` +
            'server holds (maxOpenStreams); retry once some end, or raise the limit'
        : `resumable stream ${JSON.stringify(streamId)} refused: streams already hold ${max} bytes, the most ` +
            'this server keeps (maxHeldBytes); retry once some expire, or raise the limit',
    );
    this.limit = limit;
    this.max = max;
  }
}

/** A `Last-Event-ID` that is not one of this stream's event IDs (another stream's, or garbage). */
export class ForeignLastEventIdError extends ResumableStreamError {
  readonly lastEventId: string;
  constructor(streamId: string, lastEventId: string, expected: string) {
    super(
      400,
      'HERALD_ERR_STREAM_LAST_EVENT_ID',
      streamId,
      `Last-Event-ID ${JSON.stringify(lastEventId)} is not an event of resumable stream ${JSON.stringify(streamId)} ` +
        `(its IDs look like ${JSON.stringify(expected)}); it belongs to another stream or an earlier ` +
        'stream with the same ID: connect without Last-Event-ID to read this stream from its start',
    );
    this.lastEventId = lastEventId;
  }
}

/** A stream ID that cannot be used: empty, too long, or holding control characters. */
export class InvalidStreamIdError extends ResumableStreamError {
  constructor(streamId: string, rule: string) {
    super(
      400,
      'HERALD_ERR_STREAM_ID',
      streamId,
      `resumable stream IDs must be ${rule} (got ${JSON.stringify(streamId.slice(0, 300))})`,
    );
  }
}

/**
 * The producer stopped before ending the stream: its iterable threw, it called `abort()`, or it
 * went silent for `abortAfterMs` (its process died). Readers get an `aborted` event with the reason.
 */
export class StreamAbortedError extends ResumableStreamError {
  readonly reason: string;
  constructor(streamId: string, reason: string) {
    super(
      409,
      'HERALD_ERR_STREAM_ABORTED',
      streamId,
      `resumable stream ${JSON.stringify(streamId)} was aborted: ${reason}`,
    );
    this.reason = reason;
  }
}

/** The HTTP status for an error met while serving a resumable stream: its own, else 500. */
export function resumableErrorStatus(error: unknown): number {
  return error instanceof ResumableStreamError ? error.status : 500;
}
