/**
 * herald/server: Server-Sent Events streams on node:http, node:http2 and Fetch `Response`s, with
 * coalesced writes, bounded queues, one shared heartbeat and channels for fan-out.
 *
 * @example
 * import { createStream } from 'herald/server';
 * http.createServer((req, res) => createStream(req, res).send({ data: 'hello' }));
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { StreamOptions } from './options.js';
import { type FetchStream, type NodeRequest, type NodeServerResponse, SseServer } from './sse-server.js';
import type { SseStream } from './sse-stream.js';

export { Channel } from './channel.js';
export { InvalidServerOptionError, SlowConsumerError } from './errors.js';
export { eventBytes } from './event-bytes.js';
export { CACHE_CONTROL, CONTENT_TYPE } from './headers.js';
export { pickLastEventId } from './last-event-id.js';
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LAST_EVENT_ID_PARAMS,
  DEFAULT_MAX_CONFLATION_BYTES,
  DEFAULT_MAX_CONFLATION_KEYS,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_RETRY_MS,
  HEARTBEAT_BYTES,
  type OverflowAction,
  type OverflowHandler,
  type ServerLogger,
  type SseServerOptions,
  type StreamConfig,
  type StreamOptions,
} from './options.js';
export { RATE_TICK_MS } from './rate-timer.js';
export * from './resumable/index.js';
export type { Sink, SinkOwner } from './sink.js';
export {
  type CloseAllOptions,
  type FetchStream,
  type NodeRequest,
  type NodeServerResponse,
  SseServer,
} from './sse-server.js';
export { SseStream, type WriteOptions } from './sse-stream.js';

/** Options of the `create*` helpers: stream options plus the registry to use. */
export interface CreateStreamOptions extends StreamOptions {
  /** The registry (heartbeat, `closeAll`); default: one shared {@link SseServer} with default options. */
  server?: SseServer;
}

let shared: SseServer | undefined;

/** The registry used when no `server` is passed. Its heartbeat timer runs only while streams are open. */
export function defaultServer(): SseServer {
  shared ??= new SseServer();
  return shared;
}

/**
 * Starts an event stream on a node:http / https response (or node:http2 compat): headers, opening
 * comment and `retry:` hint go out at once. Pass the same `options` object for every request of a
 * route; it is checked once.
 */
export function createStream(
  req: NodeRequest,
  res: NodeServerResponse,
  options?: CreateStreamOptions,
): SseStream {
  return (options?.server ?? defaultServer()).stream(req, res, options);
}

/** Starts an event stream on a node:http2 core-API stream. */
export function createHttp2Stream(
  h2: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  options?: CreateStreamOptions,
): SseStream {
  return (options?.server ?? defaultServer()).http2Stream(h2, headers, options);
}

/** Starts an event stream as a Fetch `Response`: `return response` from the handler, write to `stream`. */
export function createFetchStream(request: Request, options?: CreateStreamOptions): FetchStream {
  return (options?.server ?? defaultServer()).fetch(request, options);
}
