/**
 * A sink over a node `Writable`-like response: `http.ServerResponse` or `http2.ServerHttp2Stream`.
 *
 * Listeners are shared functions, not closures: each finds its stream through a symbol on the
 * response, as ws does, so a subscriber costs three listener slots and no new functions.
 *
 * On an HTTP/1.1 chunked response, once Node has sent the head and the response owns its socket,
 * body writes skip `ServerResponse.write` and go to the socket as one pre-framed chunk (see
 * chunked-frame.ts), and node:http hands the connection over to the stream (http1-handover.ts),
 * which then ends the response itself. Where the hand-over does not apply, Node's own writes keep
 * working: `res.end()` frames its last chunk and writes the `0\r\n\r\n` terminator as it would
 * after its own writes, since a chunked response keeps no count of body bytes.
 */
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { frameChunk } from './chunked-frame.js';
import { endHandedOver, type HandOverTarget, handOver, queueHandOver } from './http1-handover.js';
import type { Sink, SinkOwner } from './sink.js';

/** The part of `ServerResponse` / `ServerHttp2Stream` a sink uses. */
export interface NodeResponse {
  write(chunk: Uint8Array): boolean;
  end(chunk?: Uint8Array): unknown;
  destroy(error?: Error): unknown;
  readonly writableLength: number;
  readonly destroyed: boolean;
  on(event: 'close' | 'drain' | 'error', listener: (...args: never[]) => void): unknown;
  removeListener(event: 'close' | 'drain' | 'error', listener: (...args: never[]) => void): unknown;
}

const kOwner = Symbol('herald.sseOwner');

type Tagged = NodeResponse & { [kOwner]?: SinkOwner | undefined };

type TaggedSocket = Socket & { [kOwner]?: SinkOwner | undefined };

/**
 * The `http.ServerResponse` state (lib/_http_outgoing.js, Node 20 to 26) that says its body may go
 * straight to the socket: head sent, chunked, with a body, nothing of its own still queued or corked
 * (Node 26 corks a response's first writes until the next tick, in a buffer of its own), and the
 * socket is this response's (a pipelined response waits for the one before it). A response whose
 * `write` or `end` was replaced (compression middleware, instrumentation) keeps going through them.
 * Any field missing or of another type (another Node line) keeps the writes on the public path.
 */
interface Http1Response {
  readonly write: unknown;
  readonly end: unknown;
  readonly _headerSent?: boolean;
  readonly _hasBody?: boolean;
  readonly chunkedEncoding?: boolean;
  readonly outputData?: readonly unknown[];
  readonly socket: (Socket & { _httpMessage?: unknown }) | null;
  readonly finished?: boolean;
  readonly writableCorked?: number;
}

function ownsSocket(res: Http1Response, socket: Socket): boolean {
  return (
    res.write === ServerResponse.prototype.write &&
    res.end === ServerResponse.prototype.end &&
    res._headerSent === true &&
    res._hasBody === true &&
    res.chunkedEncoding === true &&
    res.finished !== true &&
    res.socket === socket &&
    res.socket._httpMessage === res &&
    Array.isArray(res.outputData) &&
    res.outputData.length === 0 &&
    res.writableCorked === 0
  );
}

function onClose(this: Tagged): void {
  this[kOwner]?.lost();
}

function onDrain(this: Tagged): void {
  this[kOwner]?.drained();
}

function onSocketDrain(this: TaggedSocket): void {
  // Direct socket writes do not set the response's need-drain flag, so Node does not re-emit this
  // drain on the response; `drained()` ignores a drain it was not waiting for.
  this[kOwner]?.drained();
}

function onError(this: Tagged): void {
  // A reset HTTP/2 stream or a failed socket: the stream ends like a disconnect. Listening here also
  // keeps the error from becoming an uncaught exception.
  this[kOwner]?.lost();
}

export class NodeSink implements Sink, HandOverTarget {
  readonly #res: Tagged;
  readonly #owner: SinkOwner;
  /** The HTTP/1.1 socket to write to once the response owns it; null for HTTP/2. */
  #socket: TaggedSocket | null;
  /** True once body writes go straight to `#socket`. */
  #direct = false;
  /** True once node:http let go of the connection (see http1-handover.ts): the sink ends it. */
  #handedOver = false;
  /** True while this stream has Nagle's algorithm on for its socket (see `tcpNoDelay`). */
  #nagle = false;

  /** Whether to take the connection over from node:http once the head is out. */
  readonly #detach: boolean;

  /**
   * `http1`: for an `http.ServerResponse` only, its socket, which lets body writes bypass
   * `ServerResponse.write` once the head is out (HTTP/1.1 chunked responses), and the stream's
   * `tcpNoDelay` (false turns Nagle's algorithm on while the stream lasts) and `detachConnections`.
   */
  constructor(
    res: NodeResponse,
    owner: SinkOwner,
    http1: { socket: Socket | null; tcpNoDelay: boolean; detachConnections: boolean } | null = null,
  ) {
    const tagged = res as Tagged;
    const socket = http1?.socket ?? null;
    this.#res = tagged;
    this.#owner = owner;
    this.#socket = socket;
    this.#detach = http1?.detachConnections === true;
    if (socket !== null && !http1!.tcpNoDelay) {
      socket.setNoDelay(false);
      this.#nagle = true;
    }
    tagged[kOwner] = owner;
    tagged.on('close', onClose);
    tagged.on('drain', onDrain);
    tagged.on('error', onError);
  }

  write(chunk: Uint8Array): boolean {
    if (this.#direct) {
      const socket = this.#socket!;
      if (!socket.writable) return false; // closing: 'close' follows and ends the stream
      if (chunk.byteLength === 0) return true; // an empty chunk would end the body
      return socket.write(frameChunk(chunk));
    }
    const ok = this.#res.write(chunk);
    const socket = this.#socket;
    if (socket === null) return ok;
    if (this.#goDirect()) {
      if (this.#detach) queueHandOver(this);
    } else if (this.#res.destroyed) {
      this.#socket = null;
    } else if (this.#detach && (this.#res as unknown as Http1Response).writableCorked !== 0) {
      // Node 26 holds the head and first writes until the next tick: look again then, or an idle
      // stream would wait for its next event to be handed over.
      queueHandOver(this);
    }
    return ok;
  }

  /** Switches body writes to the socket when the response allows it (see `ownsSocket`). */
  #goDirect(): boolean {
    const socket = this.#socket!;
    if (!ownsSocket(this.#res as unknown as Http1Response, socket)) return false;
    this.#direct = true;
    const tagged = socket as TaggedSocket;
    tagged[kOwner] = this.#owner;
    tagged.on('drain', onSocketDrain);
    return true;
  }

  /** @internal Queued by `write`; does nothing if the stream ended or was handed over meanwhile. */
  handOver(): void {
    if (this.#handedOver || this.#socket === null || this.#res.destroyed) return;
    if (!this.#direct && !this.#goDirect()) return;
    this.#handedOver = handOver(this.#res as unknown as ServerResponse, this.#socket);
  }

  buffered(): number {
    return this.#res.writableLength;
  }

  end(chunk: Uint8Array | null): void {
    if (this.#res.destroyed) return;
    if (this.#handedOver) {
      endHandedOver(this.#socket!, chunk === null || chunk.byteLength === 0 ? null : frameChunk(chunk));
      return;
    }
    if (chunk === null) this.#res.end();
    else this.#res.end(chunk);
  }

  destroy(): void {
    // No error object: the server's 'error' handling would only log it; the slow-consumer report has
    // already gone to the logger and `slow` listeners.
    this.#res.destroy();
  }

  detach(): void {
    const res = this.#res;
    res[kOwner] = undefined;
    res.removeListener('close', onClose);
    res.removeListener('drain', onDrain);
    if (this.#nagle) {
      // Back to node:http's default: the last bytes leave at once, and a keep-alive socket serves
      // its next request as it would have.
      this.#nagle = false;
      const socket = this.#socket;
      if (socket !== null && !socket.destroyed) socket.setNoDelay(true);
    }
    if (this.#direct) {
      // A keep-alive socket outlives the response; leave nothing of this stream on it.
      const socket = this.#socket!;
      socket[kOwner] = undefined;
      socket.removeListener('drain', onSocketDrain);
      this.#direct = false;
    }
    // The error listener stays: an error may still come after we let go (a reset during end), and
    // with no listener it would crash the process. It is a shared function, so it holds nothing.
  }
}
