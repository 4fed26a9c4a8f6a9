/**
 * Resumable streams: finite streams (logs, build output, generated text) that readers join at any
 * time, resume after drops, and see end. See resumable-streams.ts.
 */
export {
  ForeignLastEventIdError,
  InvalidStreamIdError,
  ResumableStreamError,
  resumableErrorStatus,
  StreamAbortedError,
  StreamCapacityError,
  StreamEndedError,
  StreamExistsError,
  StreamNotFoundError,
  StreamSequenceError,
  StreamTooLargeError,
} from './errors.js';
export { END_SUFFIX, parseResumePoint, type ResumePoint } from './event-id.js';
export { ABORTED_EVENT, END_EVENT } from './frames.js';
export { createMemoryResumableStore, type MemoryResumableStoreOptions } from './memory-store.js';
export {
  checkStreamId,
  createResumableStreams,
  DEFAULT_ABORT_AFTER_MS,
  DEFAULT_EXPIRE_AFTER_MS,
  DEFAULT_MAX_CHUNK_BYTES,
  DEFAULT_MAX_HELD_BYTES,
  DEFAULT_MAX_OPEN_STREAMS,
  DEFAULT_MAX_STREAM_BYTES,
  MAX_STREAM_ID_LENGTH,
  type OpenResult,
  type ReaderStart,
  ResumableStreams,
  type ResumableStreamsOptions,
} from './resumable-streams.js';
export type {
  AppendOptions,
  CreateOptions,
  ResumableStore,
  StoreLimits,
  StreamInfo,
  StreamPage,
  StreamState,
} from './store.js';
export { alreadyAppended } from './store.js';
export { StreamWriter } from './stream-writer.js';
