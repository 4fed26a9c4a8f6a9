/**
 * Resumable-stream errors across the cluster channel: the primary's store refuses with a
 * `ResumableStreamError` (404, 409, 413, 503); the worker must answer the same status and message,
 * so the error's fields cross the channel and the worker rebuilds the same class.
 */
import {
  ResumableStreamError,
  StreamCapacityError,
  StreamEndedError,
  StreamExistsError,
  StreamNotFoundError,
  StreamSequenceError,
  StreamTooLargeError,
} from '../../server/index.js';
import type { WireError } from './messages.js';

/** The fields of a resumable-stream error, or undefined for any other error. */
export function streamErrorFields(error: unknown): Record<string, string | number> | undefined {
  if (!(error instanceof ResumableStreamError)) return undefined;
  const fields: Record<string, string | number> = { streamId: error.streamId };
  if (error instanceof StreamEndedError) fields.state = error.state;
  if (error instanceof StreamTooLargeError) {
    fields.limit = error.limit;
    fields.bytes = error.bytes;
    fields.max = error.max;
  }
  if (error instanceof StreamSequenceError) {
    fields.expected = error.expected;
    fields.count = error.count;
  }
  if (error instanceof StreamCapacityError) {
    fields.limit = error.limit;
    fields.max = error.max;
  }
  return fields;
}

/** The resumable-stream error a wire error stands for, or undefined when it is not one. */
export function streamErrorFromWire(error: WireError): ResumableStreamError | undefined {
  const f = error.stream;
  if (f === undefined) return undefined;
  const id = String(f.streamId);
  switch (error.code) {
    case 'HERALD_ERR_STREAM_NOT_FOUND':
      return new StreamNotFoundError(id);
    case 'HERALD_ERR_STREAM_EXISTS':
      return new StreamExistsError(id);
    case 'HERALD_ERR_STREAM_FINISHED':
      return new StreamEndedError(id, f.state === 'aborted' ? 'aborted' : 'ended');
    case 'HERALD_ERR_STREAM_TOO_LARGE':
      return new StreamTooLargeError(
        id,
        f.limit === 'maxChunkBytes' ? 'maxChunkBytes' : 'maxStreamBytes',
        Number(f.bytes),
        Number(f.max),
      );
    case 'HERALD_ERR_STREAM_SEQUENCE':
      return new StreamSequenceError(id, Number(f.expected), Number(f.count));
    case 'HERALD_ERR_STREAM_CAPACITY':
      return new StreamCapacityError(
        id,
        f.limit === 'maxOpenStreams' ? 'maxOpenStreams' : 'maxHeldBytes',
        Number(f.max),
      );
    default:
      return undefined;
  }
}
