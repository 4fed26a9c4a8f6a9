/**
 * The `error` event of a Herald `EventSource`: still an `Event` named `error` (so `onerror` and
 * `addEventListener('error', …)` written for the standard interface keep working), plus fields that
 * say what went wrong.
 */

/** Why an `error` event fired. Stable strings, meant for programs. */
export type EventSourceErrorCode =
  /**
   * The response status was not 200 (204 included): the connection failed, no reconnect; except for
   * the statuses of `retryOnStatus` (502, 503, 504 by default), after which the source reconnects.
   */
  | 'HERALD_ERR_BAD_STATUS'
  /** The response was not `text/event-stream`: the connection failed, no reconnect. */
  | 'HERALD_ERR_BAD_CONTENT_TYPE'
  /** The URL scheme is not http or https: the connection failed, no reconnect. */
  | 'HERALD_ERR_BAD_SCHEME'
  /** The request could not be made or the body stopped with an error: reconnecting. */
  | 'HERALD_ERR_NETWORK'
  /** The server ended the response body: reconnecting. */
  | 'HERALD_ERR_STREAM_ENDED'
  /** The `headers` or `body` function threw or rejected: reconnecting. */
  | 'HERALD_ERR_REQUEST_INIT'
  /** No bytes arrived for `stallTimeoutMs`: aborted, reconnecting. */
  | 'HERALD_ERR_STALLED'
  /** A line or an event exceeded `maxBufferSize`: aborted, reconnecting. */
  | 'HERALD_ERR_BUFFER_OVERFLOW'
  /** `backoff.maxRetries` reconnects failed in a row: closed. */
  | 'HERALD_ERR_RETRIES_EXHAUSTED';

export interface EventSourceErrorEventInit extends EventInit {
  code: EventSourceErrorCode;
  message: string;
  /** The HTTP status of the response, when there was one. */
  status?: number;
  /** The underlying error (a fetch `TypeError`, a `BufferOverflowError`…), when there was one. */
  cause?: unknown;
  /** Milliseconds until the next connection attempt; undefined when the source closed. */
  retryDelayMs?: number;
}

/**
 * An `error` event with a reason.
 *
 * @example
 * source.addEventListener('error', (event) => {
 *   if (event instanceof EventSourceErrorEvent && event.code === 'HERALD_ERR_BAD_STATUS') {
 *     console.warn(`stream refused with ${event.status}`);
 *   }
 * });
 */
export class EventSourceErrorEvent extends Event {
  readonly code: EventSourceErrorCode;
  readonly message: string;
  readonly status: number | undefined;
  readonly cause: unknown;
  /** Milliseconds until the next connection attempt (say "reconnecting in 5 s"); undefined once closed. */
  readonly retryDelayMs: number | undefined;

  constructor(type: string, init: EventSourceErrorEventInit) {
    super(type, init);
    this.code = init.code;
    this.message = init.message;
    this.status = init.status;
    this.cause = init.cause;
    this.retryDelayMs = init.retryDelayMs;
  }
}
