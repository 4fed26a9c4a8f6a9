/**
 * `EventSource` on `fetch`, exact to the HTML standard ("Server-sent events", section 9.2), for
 * browsers and Node 20+, with opt-in extensions: request headers and body, a custom fetch, backoff,
 * a stall timeout, a bounded buffer, typed error events, async iteration, and other transports
 * (WebSocket, long polling) with fallback from one to the next.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html
 */
import { Backoff } from './backoff.js';
import { EventSourceErrorEvent } from './error-event.js';
import { EventSourceError } from './errors.js';
import { EventSourceBase, resolveEventSourceUrl } from './event-source-base.js';
import { GapEvent } from './gap-event.js';
import {
  checkOptions,
  DEFAULT_FALLBACK_AFTER_MS,
  DEFAULT_RECONNECTION_TIME_MS,
  type EventSourceOptions,
  toOptionsDictionary,
} from './options.js';
import { pollTransport } from './transports/poll.js';
import { sseTransport } from './transports/sse.js';
import type {
  EndReason,
  Transport,
  TransportConnection,
  TransportEvents,
  TransportName,
} from './transports/transport.js';
import { websocketTransport } from './transports/websocket.js';

const TRANSPORTS: Record<TransportName, Transport> = {
  sse: sseTransport,
  websocket: websocketTransport,
  poll: pollTransport,
};

/**
 * A connection to a `text/event-stream` resource that reconnects by itself and resumes with
 * `Last-Event-ID`, as the browser's `EventSource` does; or, with the `transport` option, the same
 * object over a WebSocket or long polling.
 *
 * @example
 * const source = new EventSource('https://example.com/events', {
 *   headers: async () => ({ Authorization: `Bearer ${await getToken()}` }),
 *   backoff: { maxMs: 30_000 },
 * });
 * source.addEventListener('price', (event) => console.log(event.data, event.lastEventId));
 * source.onerror = (event) => console.warn(event instanceof EventSourceErrorEvent ? event.code : event);
 *
 * @example
 * // A WebSocket where it opens, the event stream otherwise; long polling behind buffering proxies.
 * const hub = new EventSource(`${hubUrl}?topic=/prices`, { transport: ['websocket', 'sse', 'poll'] });
 */
export class EventSource extends EventSourceBase {
  readonly #target: URL;
  readonly #options: EventSourceOptions;
  readonly #backoff: Backoff | null;
  readonly #transports: readonly TransportName[];
  /** The index in `#transports` of the transport in use. */
  #index = 0;
  /** The transport in use delivered once: no falling back from it any more. */
  #settled: boolean;
  /** The "reconnection time" of the standard; `retry:` sets it. */
  #reconnectionTime: number;
  #lastEventId: string;
  #connection: TransportConnection | null = null;
  /** The reports of the current connection; those of an earlier one are told apart by identity. */
  #events: TransportEvents | null = null;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #fallbackTimer: ReturnType<typeof setTimeout> | undefined;
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
    this.#reconnectionTime =
      (typeof backoff === 'object' ? backoff.initialMs : undefined) ?? DEFAULT_RECONNECTION_TIME_MS;
    this.#lastEventId = options.lastEventId ?? '';
    const transport = options.transport ?? 'sse';
    this.#transports = typeof transport === 'string' ? [transport] : [...transport];
    this.#settled = this.#transports.length === 1;
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
    return this.#lastEventId;
  }

  /** The delay before the next reconnect, before backoff: 3000 ms until the server sends `retry:`. */
  get reconnectionTime(): number {
    return this.#reconnectionTime;
  }

  /** The transport in use (or being opened): `'sse'`, `'websocket'` or `'poll'`. */
  get transport(): TransportName {
    return this.#transports[this.#index]!;
  }

  close(): void {
    if (this.readyState === EventSource.CLOSED) return;
    this.#stop();
    this.setReadyState(EventSource.CLOSED);
  }

  #connect(): void {
    const events: TransportEvents = {
      opened: (origin) => {
        if (this.#events !== events) return;
        this.#origin = origin;
        this.#backoff?.reset();
        this.setReadyState(EventSource.OPEN);
        this.dispatchEvent(new Event('open'));
      },
      delivering: () => {
        if (this.#events !== events || this.#settled) return;
        this.#settled = true;
        clearTimeout(this.#fallbackTimer);
        this.#fallbackTimer = undefined;
      },
      message: (type, data, lastEventId) => {
        if (this.#events !== events) return;
        this.#lastEventId = lastEventId;
        this.dispatchMessage(new MessageEvent(type, { data, origin: this.#origin, lastEventId }));
      },
      lastEventId: (id) => {
        if (this.#events === events) this.#lastEventId = id;
      },
      gap: (requested, cursor) => {
        if (this.#events === events) this.dispatchGap(new GapEvent({ requested, cursor }));
      },
      retry: (ms) => {
        if (this.#events === events) this.#reconnectionTime = ms;
      },
      lost: (reason) => {
        if (this.#events === events) this.#lose(reason);
      },
      failed: (reason) => {
        if (this.#events !== events) return;
        if (this.#settled) this.#fail(reason);
        else this.#fallBack(reason);
      },
    };
    this.#events = events;
    if (!this.#settled) {
      const wait = this.#options.fallbackAfterMs ?? DEFAULT_FALLBACK_AFTER_MS;
      this.#fallbackTimer = setTimeout(() => {
        this.#fallbackTimer = undefined;
        if (this.#events !== events) return;
        this.#fallBack({
          code: 'HERALD_ERR_TRANSPORT_FALLBACK',
          message: `EventSource transport '${this.transport}' delivered nothing from ${this.url} in ${wait} ms (fallbackAfterMs): a proxy may buffer it`,
        });
      }, wait);
    }
    const request = {
      target: this.#target,
      lastEventId: this.#lastEventId,
      options: this.#options,
      withCredentials: this.withCredentials,
    };
    this.#connection = TRANSPORTS[this.transport](request, events);
  }

  /** Ends the current connection, if any, and any pending reconnect or fallback. */
  #stop(): void {
    const connection = this.#connection;
    this.#connection = null;
    this.#events = null;
    connection?.close();
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    clearTimeout(this.#fallbackTimer);
    this.#fallbackTimer = undefined;
  }

  /**
   * The transport in use could not open or stays silent: the next one of the list opens at once,
   * resuming after the last event ID. The last one of the list settles and is retried as usual.
   */
  #fallBack(reason: EndReason): void {
    this.#stop();
    const from = this.transport;
    this.#index++;
    if (this.#index === this.#transports.length - 1) this.#settled = true;
    this.setReadyState(EventSource.CONNECTING);
    this.dispatchEvent(
      new EventSourceErrorEvent('error', {
        code: 'HERALD_ERR_TRANSPORT_FALLBACK',
        status: reason.status,
        message: `${reason.message}; falling back from '${from}' to '${this.transport}'`,
        cause: reason,
        retryDelayMs: 0,
      }),
    );
    if (this.readyState === EventSource.CONNECTING && this.#events === null) this.#connect();
  }

  /** "Reestablish the connection": error event, wait, reconnect (unless backoff gives up). */
  #lose(reason: EndReason): void {
    if (this.readyState === EventSource.CLOSED) return;
    if (!this.#settled) {
      this.#fallBack(reason);
      return;
    }
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
  #fail(reason: EndReason): void {
    if (this.readyState === EventSource.CLOSED) return;
    this.#stop();
    this.setReadyState(
      EventSource.CLOSED,
      new EventSourceError(reason.code, reason.message, { status: reason.status, cause: reason.cause }),
    );
    this.dispatchEvent(new EventSourceErrorEvent('error', reason));
  }
}
