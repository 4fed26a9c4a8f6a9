/**
 * The event stream over `fetch`, exact to the HTML standard ("Server-sent events", section 9.2):
 * one request, the response checks of "announce the connection", then the body through the
 * protocol's parser. https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
import { BufferOverflowError, createParser } from '../../protocol/index.js';
import { isGap } from '../gap-event.js';
import { DEFAULT_MAX_BUFFER_SIZE, type FetchLike, retryStatuses } from '../options.js';
import { buildHeaders, fromByteString, isEventStreamType, requestUrl } from '../request.js';
import {
  describe,
  type Transport,
  type TransportConnection,
  type TransportEvents,
  type TransportRequest,
} from './transport.js';

class SseConnection implements TransportConnection {
  readonly #controller = new AbortController();
  readonly #request: TransportRequest;
  readonly #events: TransportEvents;
  readonly #parser;
  #closed = false;
  /** When the last bytes (or the response headers) arrived, for the stall check. */
  #lastActivity = Date.now();
  #stallTimer: ReturnType<typeof setTimeout> | undefined;
  #reportedId: string;

  constructor(request: TransportRequest, events: TransportEvents) {
    this.#request = request;
    this.#events = events;
    this.#reportedId = request.lastEventId;
    this.#parser = createParser(
      {
        onEvent: (event) => {
          this.#reportedId = event.lastEventId;
          events.message(event.type, event.data, event.lastEventId);
        },
        onRetry: (ms) => events.retry(ms),
      },
      {
        maxBufferSize: request.options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE,
        lastEventId: request.lastEventId,
      },
    );
    this.#watchStall();
    // Anything unforeseen (a custom fetch resolving to something that is not a Response, a body
    // already read) is a network error of this connection rather than an unhandled rejection.
    this.#run().catch((error: unknown) =>
      this.#lost({
        code: 'HERALD_ERR_NETWORK',
        message: `EventSource connection to ${request.target.href} failed: ${describe(error)}`,
        cause: error,
      }),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#stallTimer);
    this.#controller.abort();
    // Also stops the parsing of the rest of a chunk when called from an event handler.
    this.#parser.reset();
  }

  async #run(): Promise<void> {
    const { options, target, withCredentials } = this.#request;
    const url = target.href;
    // Events are never dispatched from inside the constructor, even when `headers()` throws at once.
    await undefined;
    if (this.#closed) return;

    let init: RequestInit;
    try {
      const extraHeaders = typeof options.headers === 'function' ? await options.headers() : options.headers;
      const body = typeof options.body === 'function' ? await options.body() : options.body;
      init = {
        method: options.method ?? 'GET',
        headers: buildHeaders(extraHeaders, this.#parser.lastEventId, options.lastEventIdParam),
        body: body ?? null,
        cache: 'no-store',
        credentials: withCredentials ? 'include' : 'same-origin',
        mode: 'cors',
        redirect: 'follow',
        signal: this.#controller.signal,
      };
    } catch (error) {
      this.#lost({
        code: 'HERALD_ERR_REQUEST_INIT',
        message: `EventSource headers or body option failed: ${describe(error)}`,
        cause: error,
      });
      return;
    }
    if (this.#closed) return;

    const requested = this.#parser.lastEventId;
    let response: Response;
    try {
      // Called unbound: a browser's fetch throws "Illegal invocation" when `this` is not the window.
      const fetchImpl: FetchLike = options.fetch ?? globalThis.fetch;
      response = await fetchImpl(
        requestUrl(target, this.#parser.lastEventId, options.lastEventIdParam),
        init,
      );
    } catch (error) {
      this.#lost({
        code: 'HERALD_ERR_NETWORK',
        message: `EventSource request to ${url} failed: ${describe(error)}`,
        cause: error,
      });
      return;
    }
    if (this.#closed) return;
    this.#lastActivity = Date.now();

    const status = response.status;
    if (status !== 200 && retryStatuses(options.retryOnStatus).has(status)) {
      // A proxy saying the server behind it is down: retried as the dropped connection it stands for.
      this.#lost({
        code: 'HERALD_ERR_BAD_STATUS',
        status,
        message: `EventSource response status must be 200 (got ${status}); reconnecting, as retryOnStatus allows`,
      });
      return;
    }
    if (status !== 200) {
      this.#failed({
        code: 'HERALD_ERR_BAD_STATUS',
        status,
        message: `EventSource response status must be 200 (got ${status}); the stream will not reconnect`,
      });
      return;
    }
    const contentType = response.headers.get('content-type');
    if (!isEventStreamType(contentType)) {
      this.#failed({
        code: 'HERALD_ERR_BAD_CONTENT_TYPE',
        status,
        message: `EventSource response Content-Type must be text/event-stream (got ${contentType ?? 'none'}); the stream will not reconnect`,
      });
      return;
    }

    this.#events.opened(originOf(response.url, target));
    if (this.#closed) return;
    this.#readCursor(response.headers, requested);
    if (this.#closed) return;

    if (response.body === null) {
      this.#lost({
        code: 'HERALD_ERR_STREAM_ENDED',
        status,
        message: `EventSource response from ${url} has no body; reconnecting`,
      });
      return;
    }
    const reader = response.body.getReader();
    let first = true;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        this.#lost({
          code: 'HERALD_ERR_NETWORK',
          status,
          message: `EventSource response from ${url} broke off: ${describe(error)}`,
          cause: error,
        });
        return;
      }
      if (this.#closed) return;
      if (chunk.done) {
        this.#lost({
          code: 'HERALD_ERR_STREAM_ENDED',
          status,
          message: `EventSource stream from ${url} ended; reconnecting`,
        });
        return;
      }
      this.#lastActivity = Date.now();
      if (first) {
        first = false;
        this.#events.delivering();
        if (this.#closed) return;
      }
      try {
        this.#parser.feed(chunk.value);
      } catch (error) {
        if (!(error instanceof BufferOverflowError)) throw error;
        this.#lost({ code: 'HERALD_ERR_BUFFER_OVERFLOW', status, message: error.message, cause: error });
        return;
      }
      if (this.#closed) return;
      // An event with an id and no data sets the last event ID without a message.
      const id = this.#parser.lastEventId;
      if (id !== this.#reportedId) {
        this.#reportedId = id;
        this.#events.lastEventId(id);
      }
    }
  }

  /**
   * A Mercure hub names where the subscription starts in a response header (draft-07
   * `Last-Event-ID`, 1.0 `Mercure-Last-Event-ID`; cross-origin, only once the hub exposes them): the
   * source resumes from there if the connection ends (or falls back) before the first event, so
   * nothing published since the response is lost; and a cursor other than the ID asked for means
   * updates may be missing.
   */
  #readCursor(headers: Headers, requested: string): void {
    const header = headers.get('last-event-id') ?? headers.get('mercure-last-event-id');
    if (header === null || header === '') return;
    const cursor = fromByteString(header);
    if (isGap(requested, cursor)) this.#events.gap(requested, cursor);
    if (this.#closed || cursor === this.#parser.lastEventId) return;
    // Nothing has been fed yet: resetting the parser only sets its last event ID.
    this.#parser.reset({ lastEventId: cursor });
    this.#reportedId = cursor;
    this.#events.lastEventId(cursor);
  }

  // One timer per connection that re-arms itself for the time left, rather than one reset per chunk.
  #watchStall(): void {
    const timeout = this.#request.options.stallTimeoutMs;
    if (timeout === undefined) return;
    const check = (): void => {
      if (this.#closed) return;
      const idle = Date.now() - this.#lastActivity;
      if (idle < timeout) {
        this.#stallTimer = setTimeout(check, timeout - idle);
        return;
      }
      this.#lost({
        code: 'HERALD_ERR_STALLED',
        message:
          `EventSource received no bytes from ${this.#request.target.href} for ${idle} ms (stallTimeoutMs ${timeout}); ` +
          "reconnecting; keep stallTimeoutMs above the server's heartbeat interval",
      });
    };
    this.#stallTimer = setTimeout(check, timeout);
  }

  #lost(reason: Parameters<TransportEvents['lost']>[0]): void {
    if (this.#closed) return;
    this.close();
    this.#events.lost(reason);
  }

  #failed(reason: Parameters<TransportEvents['failed']>[0]): void {
    if (this.#closed) return;
    this.close();
    this.#events.failed(reason);
  }
}

function originOf(responseUrl: string, fallback: URL): string {
  if (responseUrl === '') return fallback.origin;
  try {
    return new URL(responseUrl).origin;
  } catch {
    return fallback.origin;
  }
}

/** The standard event stream: `text/event-stream` over one long `fetch`. */
export const sseTransport: Transport = (request, events) => new SseConnection(request, events);
