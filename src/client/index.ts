/**
 * herald/client: a WHATWG `EventSource` for browsers and Node, on `fetch`, with opt-in extensions.
 * Web APIs only: no `node:` import may reach this folder.
 */
export {
  Backoff,
  type BackoffJitter,
  type BackoffOptions,
  DEFAULT_BACKOFF_FACTOR,
  DEFAULT_BACKOFF_MAX_MS,
} from './backoff.js';
export {
  type EventSourceErrorCode,
  EventSourceErrorEvent,
  type EventSourceErrorEventInit,
} from './error-event.js';
export {
  EventSourceError,
  InvalidEventSourceOptionError,
  StreamAbortedError,
  StreamReadError,
} from './errors.js';
export { DEFAULT_MAX_QUEUED } from './event-queue.js';
export { EventSource } from './event-source.js';
export {
  type EventIterationOptions,
  EventSourceBase,
  type EventSourceEventMap,
  type ReadyState,
  resolveEventSourceUrl,
} from './event-source-base.js';
export { GapEvent, type GapEventInit } from './gap-event.js';
export {
  DEFAULT_FALLBACK_AFTER_MS,
  DEFAULT_MAX_BUFFER_SIZE,
  DEFAULT_RECONNECTION_TIME_MS,
  DEFAULT_RETRY_STATUSES,
  type EventSourceOptions,
  type FetchLike,
  type HeadersOption,
  type ReplayableBody,
  type WebSocketConstructor,
  type WebSocketLike,
} from './options.js';
export { type ReadStreamOptions, readStream } from './read-stream.js';
export { SharedEventSource, type SharedEventSourceOptions } from './shared/index.js';
export { TRANSPORT_NAMES, type TransportName } from './transports/transport.js';
