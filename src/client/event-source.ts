/**
 * `EventSource` on `fetch`, exact to the HTML standard ("Server-sent events", section 9.2), for
 * browsers and Node 20+, with opt-in extensions: request headers and body, a custom fetch, backoff,
 * a stall timeout, a bounded buffer, typed error events and async iteration.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
import {
  BufferOverflowError,
  createParser,
  type EventStreamParser,
  type ParsedEvent,
} from '../protocol/index.js';
import { Backoff } from './backoff.js';
import { EventSourceErrorEvent, type EventSourceErrorEventInit } from './error-event.js';
import { EventSourceError } from './errors.js';
import { EventSourceBase, resolveEventSourceUrl } from './event-source-base.js';
import {
  checkOptions,
  DEFAULT_MAX_BUFFER_SIZE,
  DEFAULT_RECONNECTION_TIME_MS,
  type EventSourceOptions,
  type FetchLike,
  retryStatuses,
  toOptionsDictionary,
} from './options.js';
import { buildHeaders, isEventStreamType, requestUrl } from './request.js';

/** One request and its response body; replaced on each reconnect, dropped on close. */
interface Connection {
  readonly controller: AbortController;
  /** When the last bytes (or the response headers) arrived, for the stall check. */
  lastActivity: number;
  stallTimer: ReturnType<typeof setTimeout> | undefined;
}

type ErrorInit = Omit<EventSourceErrorEventInit, keyof EventInit>;

/**
 * A connection to a `text/event-stream` resource that reconnects by itself and resumes with
 * `Last-Event-ID`, as the browser's `EventSource` does.
 *
 * @example
 * const source = new EventSource('https://example.com/events', {
 *   headers: async () => ({ Authorization: `Bearer ${await getToken()}` }),
 *   backoff: { maxMs: 30_000 },
 * });
 * source.addEventListener('price', (event) => console.log(event.data, event.lastEventId));
 * source.onerror = (event) => console.warn(event instanceof EventSourceErrorEvent ? event.code : event);
 */
export class EventSource extends EventSourceBase {
  readonly #target: URL;
  readonly #options: EventSourceOptions;
  readonly #parser: EventStreamParser;
  readonly #backoff: Backoff | null;
  readonly #retryStatuses: ReadonlySet<number>;
  /** The "reconnection time" of the standard; `retry:` sets it. */
  #reconnectionTime: number;
  #connection: Connection | null = null;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** The origin of the final URL of the current response, after redirects. */
  #origin = '';

  /**
   * Throws a `SyntaxError` DOMException when `url` is not a URL, a `TypeError` when `init` is not an
   * object (`null` and `undefined` are no options, as for the native EventSource), and an
   * `InvalidEventSourceOptionError` for an option that cannot work.
   */
  constructor(url: string | URL, init?: EventSourceOptions | null) {
    const target = resolveEventSourceUrl(url);
    const options = toOptionsDictionary(init);
    checkOptions(options);
    super(target, Boolean(options.withCredentials));
    this.#target = target;
    this.#options = { ...options };
    const backoff = options.backoff;
    this.#backoff = backoff ? new Backoff(backoff === true ? {} : backoff) : null;
    this.#retryStatuses = retryStatuses(options.retryOnStatus);
    this.#reconnectionTime =
      (typeof backoff === 'object' ? backoff.initialMs : undefined) ?? DEFAULT_RECONNECTION_TIME_MS;
    this.#parser = createParser(
      {
        onEvent: (event) => this.#onParsedEvent(event),
        onRetry: (ms) => {
          this.#reconnectionTime = ms;
        },
      },
      {
        maxBufferSize: options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE,
        lastEventId: options.lastEventId ?? '',
      },
    );
    if (target.protocol === 'http:' || target.protocol === 'https:') this.#connect();
    else {
      // fetch refuses other schemes with a network error the standard allows to treat as futile:
      // fail the connection, in a later task as every event of the source.
      queueMicrotask(() =>
        this.#fail({
          code: 'HERALD_ERR_BAD_SCHEME',
          message: `EventSource url must be http: or https: (got ${target.protocol}); use an http(s) URL`,
        }),
      );
    }
  }

  /** The last event ID the stream set; sent as `Last-Event-ID` on reconnect. */
  get lastEventId(): string {
    return this.#parser.lastEventId;
  }

  /** The delay before the next reconnect, before backoff: 3000 ms until the server sends `retry:`. */
  get reconnectionTime(): number {
    return this.#reconnectionTime;
  }

  close(): void {
    if (this.readyState === EventSource.CLOSED) return;
    this.#stop();
    this.setReadyState(EventSource.CLOSED);
  }

  #connect(): void {
    const connection: Connection = {
      controller: new AbortController(),
      lastActivity: Date.now(),
      stallTimer: undefined,
    };
    this.#connection = connection;
    this.#watchStall(connection);
    // Anything unforeseen (a custom fetch resolving to something that is not a Response, a body
    // already read) is a network error of this connection rather than an unhandled rejection.
    this.#run(connection).catch((error: unknown) =>
      this.#lose(connection, {
        code: 'HERALD_ERR_NETWORK',
        message: `EventSource connection to ${this.url} failed: ${describe(error)}`,
        cause: error,
      }),
    );
  }

  /** One connection: request, response checks, then the body until it ends or fails. */
  async #run(connection: Connection): Promise<void> {
    const options = this.#options;
    // Events are never dispatched from inside the constructor, even when `headers()` throws at once.
    await undefined;
    if (this.#connection !== connection) return;

    let init: RequestInit;
    try {
      const extraHeaders = typeof options.headers === 'function' ? await options.headers() : options.headers;
      const body = typeof options.body === 'function' ? await options.body() : options.body;
      init = {
        method: options.method ?? 'GET',
        headers: buildHeaders(extraHeaders, this.#parser.lastEventId, options.lastEventIdParam),
        body: body ?? null,
        cache: 'no-store',
        credentials: this.withCredentials ? 'include' : 'same-origin',
        mode: 'cors',
        redirect: 'follow',
        signal: connection.controller.signal,
      };
    } catch (error) {
      this.#lose(connection, {
        code: 'HERALD_ERR_REQUEST_INIT',
        message: `EventSource headers or body option failed: ${describe(error)}`,
        cause: error,
      });
      return;
    }
    if (this.#connection !== connection) return;

    let response: Response;
    try {
      // Called unbound: a browser's fetch throws "Illegal invocation" when `this` is not the window.
      const fetchImpl: FetchLike = options.fetch ?? globalThis.fetch;
      response = await fetchImpl(
        requestUrl(this.#target, this.#parser.lastEventId, options.lastEventIdParam),
        init,
      );
    } catch (error) {
      this.#lose(connection, {
        code: 'HERALD_ERR_NETWORK',
        message: `EventSource request to ${this.url} failed: ${describe(error)}`,
        cause: error,
      });
      return;
    }
    if (this.#connection !== connection) return;
    connection.lastActivity = Date.now();

    const status = response.status;
    if (status !== 200 && this.#retryStatuses.has(status)) {
      // A proxy saying the server behind it is down: retried as the dropped connection it stands for.
      this.#lose(connection, {
        code: 'HERALD_ERR_BAD_STATUS',
        status,
        message: `EventSource response status must be 200 (got ${status}); reconnecting, as retryOnStatus allows`,
      });
      return;
    }
    if (status !== 200) {
      this.#fail({
        code: 'HERALD_ERR_BAD_STATUS',
        status,
        message: `EventSource response status must be 200 (got ${status}); the stream will not reconnect`,
      });
      return;
    }
    const contentType = response.headers.get('content-type');
    if (!isEventStreamType(contentType)) {
      this.#fail({
        code: 'HERALD_ERR_BAD_CONTENT_TYPE',
        status,
        message: `EventSource response Content-Type must be text/event-stream (got ${contentType ?? 'none'}); the stream will not reconnect`,
      });
      return;
    }

    this.#origin = originOf(response.url, this.#target);
    this.#backoff?.reset();
    this.setReadyState(EventSource.OPEN);
    this.dispatchEvent(new Event('open'));
    if (this.#connection !== connection) return;

    if (response.body === null) {
      this.#lose(connection, {
        code: 'HERALD_ERR_STREAM_ENDED',
        status,
        message: `EventSource response from ${this.url} has no body; reconnecting`,
      });
      return;
    }
    const reader = response.body.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        this.#lose(connection, {
          code: 'HERALD_ERR_NETWORK',
          status,
          message: `EventSource response from ${this.url} broke off: ${describe(error)}`,
          cause: error,
        });
        return;
      }
      if (this.#connection !== connection) return;
      if (chunk.done) {
        this.#lose(connection, {
          code: 'HERALD_ERR_STREAM_ENDED',
          status,
          message: `EventSource stream from ${this.url} ended; reconnecting`,
        });
        return;
      }
      connection.lastActivity = Date.now();
      try {
        this.#parser.feed(chunk.value);
      } catch (error) {
        if (!(error instanceof BufferOverflowError)) throw error;
        this.#lose(connection, {
          code: 'HERALD_ERR_BUFFER_OVERFLOW',
          status,
          message: error.message,
          cause: error,
        });
        return;
      }
      if (this.#connection !== connection) return;
    }
  }

  #onParsedEvent(parsed: ParsedEvent): void {
    const event = new MessageEvent(parsed.type, {
      data: parsed.data,
      origin: this.#origin,
      lastEventId: parsed.lastEventId,
    });
    this.dispatchMessage(event);
  }

  // A timer per connection that re-arms itself for the time left, rather than one reset per chunk.
  #watchStall(connection: Connection): void {
    const timeout = this.#options.stallTimeoutMs;
    if (timeout === undefined) return;
    const check = (): void => {
      if (this.#connection !== connection) return;
      const idle = Date.now() - connection.lastActivity;
      if (idle < timeout) {
        connection.stallTimer = setTimeout(check, timeout - idle);
        return;
      }
      this.#lose(connection, {
        code: 'HERALD_ERR_STALLED',
        message:
          `EventSource received no bytes from ${this.url} for ${idle} ms (stallTimeoutMs ${timeout}); ` +
          "reconnecting; keep stallTimeoutMs above the server's heartbeat interval",
      });
    };
    connection.stallTimer = setTimeout(check, timeout);
  }

  /** Ends the current connection, if any, and any pending reconnect. */
  #stop(): void {
    const connection = this.#connection;
    this.#connection = null;
    if (connection !== null) {
      clearTimeout(connection.stallTimer);
      connection.controller.abort();
    }
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    // Also stops the parsing of the rest of a chunk when called from an event handler.
    this.#parser.reset();
  }

  /** "Reestablish the connection": error event, wait, reconnect (unless backoff gives up). */
  #lose(connection: Connection, reason: ErrorInit): void {
    if (this.#connection !== connection || this.readyState === EventSource.CLOSED) return;
    this.#stop();
    let delay = this.#reconnectionTime;
    if (this.#backoff !== null) {
      const next = this.#backoff.next(this.#reconnectionTime);
      if (next === null) {
        this.#fail({
          code: 'HERALD_ERR_RETRIES_EXHAUSTED',
          status: reason.status,
          message: `EventSource gave up after ${this.#backoff.maxRetries} failed reconnects in a row (last: ${reason.message}); raise backoff.maxRetries or check the server`,
          cause: reason.cause,
        });
        return;
      }
      delay = next;
    }
    this.setReadyState(EventSource.CONNECTING);
    this.dispatchEvent(new EventSourceErrorEvent('error', { ...reason, retryDelayMs: delay }));
    if (this.readyState !== EventSource.CONNECTING) return;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.readyState === EventSource.CONNECTING && this.#connection === null) this.#connect();
    }, delay);
  }

  /** "Fail the connection": closed for good, then one error event. */
  #fail(reason: ErrorInit): void {
    if (this.readyState === EventSource.CLOSED) return;
    this.#stop();
    this.setReadyState(
      EventSource.CLOSED,
      new EventSourceError(reason.code, reason.message, { status: reason.status, cause: reason.cause }),
    );
    this.dispatchEvent(new EventSourceErrorEvent('error', reason));
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

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
