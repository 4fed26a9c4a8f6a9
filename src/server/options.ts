/**
 * Options of herald/server, their defaults and their checks. Options are checked once, when a server
 * (or a per-route option object) is first used; the resolved form is shared by every stream using it.
 */
import { encodeComment, encodeRetry } from '../protocol/index.js';
import { InvalidServerOptionError } from './errors.js';
import type { SseStream } from './sse-stream.js';

/**
 * Reconnection time sent to every client when its stream opens (`retry:`). 3 s is what Chromium and
 * Firefox assume when no hint is sent; sending it makes every client (Node, Safari, proxies that
 * buffer) agree, and is short enough that a client dropped as slow comes back quickly.
 */
export const DEFAULT_RETRY_MS = 3000;

/**
 * Interval of the shared heartbeat: no stream is silent for longer (idle ones get a comment every
 * 7/8 of it, see sse-server.ts). Idle connections are cut by proxies and load balancers after
 * 30 s (some CDNs, older nginx setups) to 60 s (nginx `proxy_read_timeout`, AWS ALB); 15 s stays
 * under the shortest, and costs 3 bytes per idle stream per beat.
 */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/**
 * Bytes a stream may hold for a client that does not read, counting what the socket holds beyond its
 * high-water mark. 1 MiB is Mercure's bound of 1,000 queued updates at ~1 KiB each: several seconds
 * of a busy feed, while 1,000 stuck clients can cost at most ~1 GiB before they are dropped.
 */
export const DEFAULT_MAX_QUEUE_BYTES = 1024 * 1024;

/** Query parameter read for the last event ID when no `Last-Event-ID` header came (e.g. a first connect). */
export const DEFAULT_LAST_EVENT_ID_PARAMS: readonly string[] = ['lastEventId'];

/**
 * Most distinct keys a stream over its byte budget may hold under the `'conflate'` policy. The
 * bytes are shared (each queued chunk is one encoded buffer written to every subscriber), so what a
 * stream owns per key is a queue slot and an index entry, ~50 bytes: 10,000 keys cost ~0.5 MB,
 * half the default byte budget, and cover a full equity or crypto exchange's instrument list.
 */
export const DEFAULT_MAX_CONFLATION_KEYS = 10_000;

/**
 * Most bytes a stream over its byte budget may hold under the `'conflate'` policy, all keys
 * together. Keys alone did not bound it: a client that never read kept one update per key of any
 * size, 10,000 keys of 50 KB growing the hub from 78 to 569 MiB. 8 MiB is eight default budgets.
 */
export const DEFAULT_MAX_CONFLATION_BYTES = 8 * 1024 * 1024;

/** What to do with an event that would put a stream over `maxQueueBytes`. */
export type OverflowAction = 'close' | 'drop' | 'conflate';

/**
 * A policy chosen per event: `'close'` ends the stream (its client resumes with Last-Event-ID),
 * `'drop'` discards the event and counts it in `stream.droppedEvents`, `'conflate'` keeps the
 * stream: a keyed event replaces the queued one of its key, or joins the queue while fewer than
 * `maxConflationKeys` keys are queued; a keyless event (or one key too many) closes the stream, as
 * `'close'` does, so nothing is silently lost.
 */
export type OverflowHandler = (stream: SseStream, chunk: Uint8Array) => OverflowAction;

/** A pino-style logger; only `warn` is used (slow consumers). */
export interface ServerLogger {
  warn(details: object, message: string): void;
}

/** Options of one stream; pass the same object for every stream of a route so it is resolved once. */
export interface StreamOptions {
  /** Reconnection hint sent on open, in ms (default {@link DEFAULT_RETRY_MS}); `null` sends none. */
  retryMs?: number | null;
  /** Queue bound in bytes (default {@link DEFAULT_MAX_QUEUE_BYTES}). */
  maxQueueBytes?: number;
  /** What happens when the bound is hit (default `'close'`). */
  overflow?: OverflowAction | OverflowHandler;
  /**
   * Under the `'conflate'` policy, most distinct keys queued past `maxQueueBytes` (default
   * {@link DEFAULT_MAX_CONFLATION_KEYS}); one more closes the stream.
   */
  maxConflationKeys?: number;
  /**
   * Under the `'conflate'` policy, most bytes queued past `maxQueueBytes`, all keys together (default
   * {@link DEFAULT_MAX_CONFLATION_BYTES}); a keyed event that would pass it closes the stream.
   */
  maxConflationBytes?: number;
  /**
   * Most sends per second to each stream (default: no limit). Between sends, keyed events are
   * conflated (the latest per key is sent) and keyless ones wait, in order, to go out together.
   * Change it per stream with `stream.maxRate`.
   */
  maxRate?: number | null;
  /** Query parameters tried, in order, for the last event ID when the header is absent. */
  lastEventIdParams?: readonly string[];
  /** Receives a warning when a stream is closed or starts dropping as a slow consumer. */
  logger?: ServerLogger;
  /**
   * HTTP/1.x: send every flush in a TCP segment of its own at once (`TCP_NODELAY`, default false).
   * By default an event stream's socket leaves Nagle's algorithm on, as nginx does for long
   * responses: an event alone on the wire goes out at once, but while earlier bytes are
   * unacknowledged the kernel holds small writes and sends them together. A busy stream then costs
   * about a third less server CPU per event (`npm run bench`, 1,000 subscribers x 100 events/s:
   * 8.1 -> 5.3 µs), for up to a round trip plus the client's delayed ACK (~40 ms on Linux) of added
   * latency on events that follow one another closely. Set true when latency matters more than CPU.
   * Ignored on HTTP/2, whose connection carries other streams too.
   */
  tcpNoDelay?: boolean;
  /**
   * HTTP/1.1: once a stream's head is out, take its connection over from node:http, which then
   * frees what it keeps per connection to parse a next request (~2 KB: see http1-handover.ts).
   * Default false. When true, the stream ends its response by closing the connection, and
   * `server.closeAllConnections()` no longer reaches these connections: end them with
   * {@link SseServer.closeAll} (or `stream.close()`) before closing the server.
   */
  detachConnections?: boolean;
  /**
   * For a stream whose sink is not an event stream ({@link SseServer.open}, e.g. WebSocket frames):
   * the bytes written when it opens, instead of the `: ok` comment and `retry:` hint (`retryMs` is
   * then not sent). Empty for none.
   */
  openBytes?: Uint8Array;
  /** The bytes of one heartbeat (default a bare comment line, `:\n`): e.g. a WebSocket ping frame. */
  heartbeatBytes?: Uint8Array;
}

/** Options of an {@link SseServer}: the shared heartbeat plus the defaults of its streams. */
export interface SseServerOptions extends StreamOptions {
  /**
   * Longest silence of any stream, in ms (default {@link DEFAULT_HEARTBEAT_MS}): a stream that sent
   * nothing for 7/8 of it gets a comment. Keep it under every proxy's idle timeout. 0 disables.
   */
  heartbeatMs?: number;
}

/** Stream options checked and completed, with the opening bytes built once. */
export interface StreamConfig {
  readonly retryMs: number | null;
  readonly maxQueueBytes: number;
  readonly overflow: OverflowAction | OverflowHandler;
  readonly maxConflationKeys: number;
  readonly maxConflationBytes: number;
  /** Sends per second; null: no limit. */
  readonly maxRate: number | null;
  readonly lastEventIdParams: readonly string[];
  readonly logger: ServerLogger | undefined;
  readonly tcpNoDelay: boolean;
  readonly detachConnections: boolean;
  /** A comment (so browsers fire `open` at once) and the `retry:` hint, in one buffer. */
  readonly openBytes: Uint8Array;
  /** Written to an idle stream on each heartbeat tick. */
  readonly heartbeatBytes: Uint8Array;
}

/** The heartbeat frame, built once: a bare comment line, which readers ignore (3 bytes). */
export const HEARTBEAT_BYTES: Uint8Array = encodeComment();

function nonNegativeInteger(option: string, value: unknown, unit?: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidServerOptionError(
      option,
      `${option} must be a non-negative integer (got ${String(value)}); pass a number of ${
        unit ?? (option.endsWith('Ms') ? 'milliseconds' : 'bytes')
      }`,
    );
  }
  return value;
}

/** Checks a rate in sends per second: a positive, finite number (fractions allowed: 0.5 is one every 2 s). */
export function checkMaxRate(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidServerOptionError(
      'maxRate',
      `maxRate must be a positive number of sends per second (got ${String(value)}); pass null for no limit`,
    );
  }
  return value;
}

/** Checks a heartbeat interval. */
export function resolveHeartbeatMs(value: number | undefined): number {
  return value === undefined ? DEFAULT_HEARTBEAT_MS : nonNegativeInteger('heartbeatMs', value);
}

/** Checks stream options over a base config (the server's) and builds the opening bytes. */
export function resolveStreamConfig(options: StreamOptions, base?: StreamConfig): StreamConfig {
  const retryMs =
    options.retryMs === undefined
      ? (base?.retryMs ?? DEFAULT_RETRY_MS)
      : options.retryMs === null
        ? null
        : nonNegativeInteger('retryMs', options.retryMs);
  const maxQueueBytes =
    options.maxQueueBytes === undefined
      ? (base?.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES)
      : nonNegativeInteger('maxQueueBytes', options.maxQueueBytes);
  if (maxQueueBytes === 0) {
    throw new InvalidServerOptionError(
      'maxQueueBytes',
      'maxQueueBytes must be at least 1 (got 0); every event would overflow',
    );
  }
  const overflow = options.overflow ?? base?.overflow ?? 'close';
  if (
    overflow !== 'close' &&
    overflow !== 'drop' &&
    overflow !== 'conflate' &&
    typeof overflow !== 'function'
  ) {
    throw new InvalidServerOptionError(
      'overflow',
      `overflow must be 'close', 'drop', 'conflate' or a function (got ${JSON.stringify(overflow)})`,
    );
  }
  const maxConflationKeys =
    options.maxConflationKeys === undefined
      ? (base?.maxConflationKeys ?? DEFAULT_MAX_CONFLATION_KEYS)
      : nonNegativeInteger('maxConflationKeys', options.maxConflationKeys, 'keys');
  const maxConflationBytes =
    options.maxConflationBytes === undefined
      ? (base?.maxConflationBytes ?? DEFAULT_MAX_CONFLATION_BYTES)
      : nonNegativeInteger('maxConflationBytes', options.maxConflationBytes);
  const maxRate =
    options.maxRate === undefined
      ? (base?.maxRate ?? null)
      : options.maxRate === null
        ? null
        : checkMaxRate(options.maxRate);
  const lastEventIdParams =
    options.lastEventIdParams ?? base?.lastEventIdParams ?? DEFAULT_LAST_EVENT_ID_PARAMS;
  if (!Array.isArray(lastEventIdParams) || lastEventIdParams.some((p) => typeof p !== 'string')) {
    throw new InvalidServerOptionError(
      'lastEventIdParams',
      `lastEventIdParams must be an array of query parameter names (got ${String(lastEventIdParams)})`,
    );
  }
  const logger = options.logger ?? base?.logger;
  const tcpNoDelay = flag('tcpNoDelay', options.tcpNoDelay ?? base?.tcpNoDelay ?? false);
  const detachConnections = flag(
    'detachConnections',
    options.detachConnections ?? base?.detachConnections ?? false,
  );
  const openBytes =
    options.openBytes !== undefined
      ? bytes('openBytes', options.openBytes)
      : base !== undefined && retryMs === base.retryMs
        ? base.openBytes
        : buildOpenBytes(retryMs);
  const heartbeatBytes =
    options.heartbeatBytes !== undefined
      ? bytes('heartbeatBytes', options.heartbeatBytes)
      : (base?.heartbeatBytes ?? HEARTBEAT_BYTES);
  return {
    retryMs,
    maxQueueBytes,
    overflow,
    maxConflationKeys,
    maxConflationBytes,
    maxRate,
    lastEventIdParams,
    logger,
    tcpNoDelay,
    detachConnections,
    openBytes,
    heartbeatBytes,
  };
}

function bytes(option: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidServerOptionError(option, `${option} must be a Uint8Array (got ${typeof value})`);
  }
  return value;
}

function flag(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new InvalidServerOptionError(
      option,
      `${option} must be true or false (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

function buildOpenBytes(retryMs: number | null): Uint8Array {
  const comment = encodeComment('ok');
  return retryMs === null ? comment : Buffer.concat([comment, encodeRetry(retryMs)]);
}
