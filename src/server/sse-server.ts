/**
 * The registry of open streams: it makes them from requests, drives their shared heartbeat and ends
 * them all on shutdown.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Stream } from 'node:http2';
import { encodeRetry } from '../protocol/index.js';
import { HTTP1_HEADERS, HTTP10_HEADERS, STREAM_HEADERS } from './headers.js';
import { pickLastEventId } from './last-event-id.js';
import { type NodeResponse, NodeSink } from './node-sink.js';
import {
  resolveHeartbeatMs,
  resolveStreamConfig,
  type SseServerOptions,
  type StreamConfig,
  type StreamOptions,
} from './options.js';
import type { Sink, SinkOwner } from './sink.js';
import { SseStream, type StreamHolder } from './sse-stream.js';
import { WebSink } from './web-sink.js';

/**
 * The shared heartbeat timer ticks this many times per `heartbeatMs`, and a stream gets a comment
 * once it has been silent for all but one of them. Its silence is then at most 7/8 of the interval,
 * whenever its last write fell, leaving 1/8 (~1.9 s at 15 s) for a late timer; an idle stream gets a
 * comment every 7/8 of the interval. Eight passes over the streams per interval cost little: a
 * pass over 20,000 streams only increments a counter on each but the few due a comment.
 */
const TICKS_PER_INTERVAL = 8;
const IDLE_TICKS = TICKS_PER_INTERVAL - 1;

/** A stream over a Fetch `Response`: return `response` from the handler, write to `stream`. */
export interface FetchStream {
  stream: SseStream;
  response: Response;
}

/** Options of {@link SseServer.closeAll}. */
export interface CloseAllOptions {
  /** Reconnection time sent before the end, in ms, e.g. a random delay to spread reconnects. */
  retryMs?: number;
}

/** A node:http or node:http2-compat request. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;
/** A node:http or node:http2-compat response. */
export type NodeServerResponse = ServerResponse | Http2ServerResponse;

/**
 * Holds every open stream it made: one heartbeat timer for all of them (started with the first stream,
 * stopped with the last), and {@link SseServer.closeAll} for shutdown.
 *
 * @example
 * const sse = new SseServer({ heartbeatMs: 15_000 });
 * const server = http.createServer((req, res) => {
 *   const stream = sse.stream(req, res);
 *   stream.send({ data: 'hello' });
 * });
 * process.on('SIGTERM', () => {
 *   server.close();
 *   sse.closeAll({ retryMs: 1000 + Math.random() * 4000 });
 *   setTimeout(() => server.closeAllConnections(), 1000).unref(); // keep-alive connections left
 * });
 */
export class SseServer implements StreamHolder {
  /** Heartbeat interval in ms; 0 when heartbeats are off. */
  readonly heartbeatMs: number;
  /** Stream options every stream of this server starts from. */
  readonly config: StreamConfig;
  readonly #streams = new Set<SseStream>();
  readonly #configs = new WeakMap<StreamOptions, StreamConfig>();
  #timer: NodeJS.Timeout | null = null;

  constructor(options: SseServerOptions = {}) {
    this.heartbeatMs = resolveHeartbeatMs(options.heartbeatMs);
    this.config = resolveStreamConfig(options);
  }

  /** Number of open streams. */
  get size(): number {
    return this.#streams.size;
  }

  /** The open streams (live view; do not close streams while iterating it). */
  streams(): IterableIterator<SseStream> {
    return this.#streams.values();
  }

  #configFor(options: StreamOptions | undefined): StreamConfig {
    if (options === undefined) return this.config;
    let config = this.#configs.get(options);
    if (config === undefined) {
      config = resolveStreamConfig(options, this.config);
      this.#configs.set(options, config);
    }
    return config;
  }

  /**
   * Starts an event stream on a node:http (or https) response, or a node:http2 compat response.
   * Sends the headers and the opening comment and `retry:` hint at once.
   */
  stream(req: NodeRequest, res: NodeServerResponse, options?: StreamOptions): SseStream {
    if (req.httpVersionMajor === 2 && 'stream' in res) {
      // `respond()` on the core stream bypasses the compat response: carry what was set on it
      // (CORS, cookies, a resume cursor) into that one call, as node:http's writeHead merges them.
      const compat = res as Http2ServerResponse;
      return this.#http2Stream(res.stream, req.headers, options, compat.getHeaders());
    }
    const config = this.#configFor(options);
    const stream = new SseStream(
      config,
      pickLastEventId(req.headers['last-event-id'], req.url, config.lastEventIdParams),
    );
    const http1 = res as ServerResponse;
    http1.writeHead(200, req.httpVersionMinor === 0 ? HTTP10_HEADERS : HTTP1_HEADERS);
    this.#open(
      stream,
      new NodeSink(http1 as NodeResponse, stream, {
        socket: http1.socket,
        tcpNoDelay: config.tcpNoDelay,
        detachConnections: config.detachConnections,
      }),
      http1.destroyed,
    );
    compactHeader(http1);
    return stream;
  }

  /** Starts an event stream on a node:http2 core-API stream (`server.on('stream', ...)`). */
  http2Stream(h2: ServerHttp2Stream, headers: IncomingHttpHeaders, options?: StreamOptions): SseStream {
    return this.#http2Stream(h2, headers, options, undefined);
  }

  #http2Stream(
    h2: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    options: StreamOptions | undefined,
    extra: OutgoingHttpHeaders | undefined,
  ): SseStream {
    const config = this.#configFor(options);
    const stream = new SseStream(
      config,
      pickLastEventId(
        headers['last-event-id'],
        headers[':path'] as string | undefined,
        config.lastEventIdParams,
      ),
    );
    if (h2.destroyed || h2.closed) return this.#open(stream, null, true);
    h2.respond({ ...extra, ':status': 200, ...STREAM_HEADERS });
    return this.#open(stream, new NodeSink(h2 as NodeResponse, stream), false);
  }

  /**
   * Starts an event stream as a Fetch `Response` whose body this server feeds. The stream closes when
   * the request's signal aborts or the body is cancelled.
   */
  fetch(request: Request, options?: StreamOptions): FetchStream {
    const config = this.#configFor(options);
    const stream = new SseStream(
      config,
      pickLastEventId(request.headers.get('last-event-id'), request.url, config.lastEventIdParams),
    );
    const sink = new WebSink(stream, request.signal ?? null);
    const response = new Response(sink.readable, { status: 200, headers: STREAM_HEADERS });
    this.#open(stream, sink, request.signal?.aborted === true);
    return { stream, response };
  }

  /**
   * Starts a stream over a transport of the caller's: `createSink` gets the stream (the owner its
   * sink reports drain and loss to) and returns the sink. The stream gets this server's queue bound,
   * overflow policy, heartbeat and {@link SseServer.closeAll}; pass `openBytes` and `heartbeatBytes`
   * in `options` when the transport does not carry an event stream (a WebSocket, for instance).
   */
  open(
    createSink: (owner: SinkOwner) => Sink,
    options?: StreamOptions,
    lastEventId: string | null = null,
  ): SseStream {
    const stream = new SseStream(this.#configFor(options), lastEventId);
    return this.#open(stream, createSink(stream), false);
  }

  #open(stream: SseStream, sink: Sink | null, gone: boolean): SseStream {
    if (sink !== null) stream.attach(sink);
    if (gone) {
      stream.lost();
      return stream;
    }
    this.#streams.add(stream);
    stream.hold(this);
    if (this.#timer === null && this.heartbeatMs > 0) {
      this.#timer = setInterval(beat, Math.max(1, Math.floor(this.heartbeatMs / TICKS_PER_INTERVAL)), this);
      // Open sockets keep the process alive; the heartbeat alone should not.
      this.#timer.unref();
    }
    return stream;
  }

  /** @internal A stream closed. */
  release(stream: SseStream): void {
    this.#streams.delete(stream);
    if (this.#streams.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /**
   * @internal One tick of the heartbeat over every stream (the timer ticks
   * {@link TICKS_PER_INTERVAL} times per `heartbeatMs`): a stream silent for all but one tick of an
   * interval gets a comment, so no stream is silent for longer than `heartbeatMs`.
   */
  beat(): void {
    for (const stream of this.#streams) stream.beat(stream.config.heartbeatBytes, IDLE_TICKS);
  }

  /**
   * Ends every open stream: queued events go out, then a `retry:` hint if `retryMs` is given, then
   * the response ends. Clients reconnect after that delay (to this or another instance). An HTTP/1.1
   * connection stays open for its next request (unless `detachConnections`): on shutdown, close the
   * server and, once the hints are out, its connections (see the class example).
   */
  closeAll(options: CloseAllOptions = {}): void {
    const final = options.retryMs === undefined ? undefined : encodeRetry(Math.round(options.retryMs));
    for (const stream of [...this.#streams]) stream.close(final);
  }
}

/**
 * node:http builds the response head with one `+=` per header piece and keeps the result on
 * `res._header` for the life of the response (only its truthiness is read once the head went out).
 * That rope is ~30 to 40 cons strings, 0.9 to 1.3 KB per stream: swap it for one flat copy, ~250
 * bytes. On Node 24 and 26 the head may not have gone out yet when the stream starts (the first
 * writes are corked until the next tick, `_headerSent` still false): the copy has the same bytes,
 * and node:http only reads `_header` from then on (it prepends it to the first chunk it sends), so
 * it is swapped then too.
 */
function compactHeader(res: ServerResponse): void {
  const out = res as ServerResponse & { _header?: unknown };
  const header = out._header;
  if (typeof header === 'string') {
    out._header = Buffer.from(header, 'latin1').toString('latin1');
  }
}

function beat(server: SseServer): void {
  server.beat();
}
