import type { BackoffOptions } from './backoff.js';
import { InvalidEventSourceOptionError } from './errors.js';
import { TRANSPORT_NAMES, type TransportName } from './transports/transport.js';

/** The reconnection time before the server sets one with `retry:` (HTML leaves it to the UA). */
export const DEFAULT_RECONNECTION_TIME_MS = 3000;
/**
 * The statuses retried by default (`retryOnStatus`): what a proxy or load balancer answers when the
 * server behind it is down or restarting (Bad Gateway, Service Unavailable, Gateway Timeout). The
 * native EventSource fails for good on them, so an outage of the server behind nginx or HAProxy
 * would end every stream for good where the same outage without a proxy is survived.
 */
export const DEFAULT_RETRY_STATUSES: readonly number[] = [502, 503, 504];
/** The most characters one line or one event's data may hold, by default: 16 Mi. */
export const DEFAULT_MAX_BUFFER_SIZE = 16 * 1024 * 1024;
/**
 * How long a transport of a fallback list has to deliver its first bytes before the next is tried.
 * Herald's hub answers a stream with a comment at once, so only a buffering proxy or a refused
 * path keeps it silent this long.
 */
export const DEFAULT_FALLBACK_AFTER_MS = 5000;

/** Headers sent with every request, or a function (sync or async) called before each one. */
export type HeadersOption = HeadersInit | (() => HeadersInit | Promise<HeadersInit>);

/**
 * A request body that can be sent again on each reconnect (so not a stream). `BufferSource` is the
 * DOM's own name for the bytes `fetch` takes: `ArrayBufferView` became generic in TypeScript 5.7, so
 * spelling it out here would tie the declarations to one side of that change.
 */
export type ReplayableBody = string | URLSearchParams | Blob | BufferSource | FormData;

/** The `fetch` the source calls; the global one by default. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** The parts of a WHATWG `WebSocket` the client uses (the `ws` package's class has them too). */
export interface WebSocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  close(code?: number, reason?: string): void;
}

/** A `WebSocket` constructor: the global one, or `ws`'s in Node 20. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * Options of `new EventSource(url, options)`. `withCredentials` is the standard one; every other is a
 * Herald extension, off by default, so that a source without them behaves as the HTML standard says.
 */
export interface EventSourceOptions {
  /** Standard: cross-origin requests carry cookies and HTTP authentication (browsers). Default: false. */
  withCredentials?: boolean;
  /**
   * Extra request headers, or a function returning them, called before every connect and reconnect
   * (to send a fresh token). A function that throws or rejects counts as a network error.
   */
  headers?: HeadersOption;
  /**
   * The last event ID to resume from, sent as `Last-Event-ID` from the first request on (an ID kept
   * from an earlier session). Default: none.
   */
  lastEventId?: string;
  /**
   * Send the last event ID as this query parameter (Mercure reads `lastEventID`) instead of the
   * `Last-Event-ID` header. A script-set header makes a browser preflight every cross-origin
   * reconnect; a query parameter does not. Default: the header.
   */
  lastEventIdParam?: string;
  /** The request method. Default: `'GET'`. */
  method?: string;
  /** The request body (with `method: 'POST'`), or a function returning it before each request. */
  body?: ReplayableBody | (() => ReplayableBody | Promise<ReplayableBody>);
  /** The `fetch` implementation to call. Default: `globalThis.fetch`, looked up at each request. */
  fetch?: FetchLike;
  /**
   * Exponential backoff with jitter after repeated failures, instead of the fixed reconnection time.
   * `true` uses the defaults of {@link BackoffOptions}.
   */
  backoff?: boolean | BackoffOptions;
  /**
   * When no bytes at all (not even a comment) arrive for this many milliseconds, abort the request
   * and reconnect (`HERALD_ERR_STALLED`). Set it above the server's heartbeat interval. Default: off.
   */
  stallTimeoutMs?: number;
  /**
   * The response statuses after which the source reconnects, as after a network error (after the
   * reconnection time, or the `backoff` delay), where the standard fails the connection for good.
   * `true` (the default) retries {@link DEFAULT_RETRY_STATUSES}: 502, 503 and 504, what a proxy
   * answers while the server behind it is down. `false` fails on every status but 200, as the native
   * EventSource does; an array retries those statuses. The error event has code
   * `HERALD_ERR_BAD_STATUS`, the status, and `retryDelayMs`.
   */
  retryOnStatus?: boolean | readonly number[];
  /**
   * The most characters one line or one event's data may hold; past it the source reconnects with a
   * `HERALD_ERR_BUFFER_OVERFLOW` error. Default: {@link DEFAULT_MAX_BUFFER_SIZE}.
   */
  maxBufferSize?: number;
  /**
   * The wire to read updates from: `'sse'` (the event stream, the default), `'websocket'` (JSON text
   * frames on the same URL, `ws:`/`wss:`) or `'poll'` (long polling); or an ordered list to fall back
   * along (`['websocket', 'sse']`, `['sse', 'poll']`): a transport that cannot open, or delivers
   * nothing within {@link fallbackAfterMs} (a proxy buffering the stream), gives way to the next,
   * resuming after the last event ID. Once a transport delivers, the source keeps to it. The
   * `websocket` and `poll` transports speak Herald's hub formats (docs/transports.md). A long poll
   * opens with its first answer, which may wait for the hub's poll timeout: put `poll` last.
   */
  transport?: TransportName | readonly TransportName[];
  /**
   * With a fallback list: how long a transport may stay without delivering its first bytes before
   * the next one is tried. Default: {@link DEFAULT_FALLBACK_AFTER_MS}.
   */
  fallbackAfterMs?: number;
  /**
   * The `WebSocket` class of the `websocket` transport. Default: the global one (browsers, Node 22+);
   * Node 20 has none: pass `ws`'s (`import WebSocket from 'ws'`).
   */
  WebSocket?: WebSocketConstructor;
}

/**
 * The options argument as WebIDL converts an `EventSourceInit` dictionary: `undefined` and `null`
 * are an empty dictionary, any other value that is not an object is a `TypeError`.
 */
export function toOptionsDictionary<T extends object>(options: T | null | undefined): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== 'object' && typeof options !== 'function') {
    throw new TypeError(
      `EventSource options must be an object, null or undefined (got ${typeof options} ${String(options)})`,
    );
  }
  return options;
}

/** The statuses a source retries, from its `retryOnStatus` option (checked already). */
export function retryStatuses(option: boolean | readonly number[] | undefined): ReadonlySet<number> {
  if (option === undefined || option === true) return new Set(DEFAULT_RETRY_STATUSES);
  if (option === false) return new Set();
  return new Set(option);
}

function isNonNegativeNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function check(condition: boolean, option: string, rule: string, value: unknown): void {
  if (!condition) {
    throw new InvalidEventSourceOptionError(
      option,
      `EventSource option ${option} ${rule} (got ${String(value)})`,
    );
  }
}

/** Throws {@link InvalidEventSourceOptionError} for an option that cannot work. */
export function checkOptions(options: EventSourceOptions): void {
  const {
    stallTimeoutMs,
    maxBufferSize,
    backoff,
    headers,
    fetch,
    method,
    body,
    lastEventId,
    lastEventIdParam,
    transport,
    fallbackAfterMs,
    WebSocket,
    retryOnStatus,
  } = options;
  if (retryOnStatus !== undefined && typeof retryOnStatus !== 'boolean')
    check(
      Array.isArray(retryOnStatus) &&
        retryOnStatus.every((s) => Number.isInteger(s) && s >= 100 && s <= 599 && s !== 200),
      'retryOnStatus',
      'must be true, false or an array of HTTP statuses other than 200, such as [502, 503, 504]',
      JSON.stringify(retryOnStatus),
    );
  if (transport !== undefined) {
    const list = typeof transport === 'string' ? [transport] : transport;
    check(
      Array.isArray(list) &&
        list.length > 0 &&
        list.every((name) => TRANSPORT_NAMES.includes(name)) &&
        new Set(list).size === list.length,
      'transport',
      `must be one of ${TRANSPORT_NAMES.map((n) => `'${n}'`).join(', ')} or a list of distinct ones`,
      JSON.stringify(transport),
    );
    if (list.some((name) => name !== 'sse')) {
      check(
        method === undefined || method.toUpperCase() === 'GET',
        'method',
        "applies to the 'sse' transport only; the websocket and poll transports send GET",
        method,
      );
      check(body === undefined || body === null, 'body', "applies to the 'sse' transport only", body);
    }
  }
  if (fallbackAfterMs !== undefined)
    check(
      isNonNegativeNumber(fallbackAfterMs) && fallbackAfterMs > 0,
      'fallbackAfterMs',
      'must be a positive number of milliseconds',
      fallbackAfterMs,
    );
  if (WebSocket !== undefined)
    check(typeof WebSocket === 'function', 'WebSocket', 'must be a WebSocket constructor', WebSocket);
  if (lastEventIdParam !== undefined)
    check(
      typeof lastEventIdParam === 'string' && lastEventIdParam !== '',
      'lastEventIdParam',
      'must be a non-empty query parameter name',
      lastEventIdParam,
    );
  if (lastEventId !== undefined)
    check(
      typeof lastEventId === 'string' && !/[\0\r\n]/.test(lastEventId),
      'lastEventId',
      'must be a string without NUL, CR or LF (the stream could not have set it)',
      JSON.stringify(lastEventId),
    );
  if (method !== undefined)
    check(typeof method === 'string' && method !== '', 'method', 'must be a method name', method);
  if (body !== undefined && body !== null) {
    const m = (method ?? 'GET').toUpperCase();
    check(
      m !== 'GET' && m !== 'HEAD',
      'body',
      `needs a method other than ${m}, such as method: 'POST'`,
      body,
    );
  }
  if (stallTimeoutMs !== undefined)
    check(
      isNonNegativeNumber(stallTimeoutMs) && stallTimeoutMs > 0,
      'stallTimeoutMs',
      'must be a positive number of milliseconds',
      stallTimeoutMs,
    );
  if (maxBufferSize !== undefined)
    check(
      Number.isInteger(maxBufferSize) && maxBufferSize > 0,
      'maxBufferSize',
      'must be a positive integer',
      maxBufferSize,
    );
  if (fetch !== undefined) check(typeof fetch === 'function', 'fetch', 'must be a function', fetch);
  if (headers !== undefined && headers !== null)
    check(
      typeof headers === 'object' || typeof headers === 'function',
      'headers',
      'must be an object or a function',
      headers,
    );
  if (typeof backoff === 'object' && backoff !== null) {
    const { initialMs, maxMs, factor, maxRetries, jitter, random } = backoff;
    if (initialMs !== undefined)
      check(isNonNegativeNumber(initialMs), 'backoff.initialMs', 'must be a non-negative number', initialMs);
    if (maxMs !== undefined)
      check(isNonNegativeNumber(maxMs), 'backoff.maxMs', 'must be a non-negative number', maxMs);
    if (factor !== undefined)
      check(isNonNegativeNumber(factor) && factor >= 1, 'backoff.factor', 'must be a number >= 1', factor);
    if (maxRetries !== undefined)
      check(
        maxRetries === Number.POSITIVE_INFINITY || (Number.isInteger(maxRetries) && maxRetries >= 0),
        'backoff.maxRetries',
        'must be a non-negative integer or Infinity',
        maxRetries,
      );
    if (jitter !== undefined)
      check(
        jitter === 'full' || jitter === 'decorrelated' || jitter === 'none',
        'backoff.jitter',
        "must be 'full', 'decorrelated' or 'none'",
        jitter,
      );
    if (random !== undefined)
      check(typeof random === 'function', 'backoff.random', 'must be a function', random);
  }
}
