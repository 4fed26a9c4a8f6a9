/**
 * A herald/server sink over an accepted WebSocket: the stream's coalesced buffers (whole frames,
 * pre-built once per update) go straight to the socket, so the byte budget, overflow policy and
 * heartbeat are herald/server's, as for an event stream. ws itself reads the client's frames
 * (pongs, close, the messages this transport refuses) and runs the closing handshake.
 *
 * Listeners are shared functions that find their sink through a symbol, as in node-sink.ts: no
 * closure per connection.
 */
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import type { Sink, SinkOwner } from '../../server/index.js';
import type { Subscriber } from '../subscribers/subscriber.js';
import { PING_FRAME } from './ws-frame.js';

/** Close codes the hub sends (RFC 6455 section 7.4.1); docs/transports.md lists when. */
export const CloseCode = {
  /** The hub ended the subscription: its token or `maxConnectionMs` expired, or the stream ended. */
  normal: 1000,
  /** No pong came back between two pings. */
  goingAway: 1001,
  /** The client sent a message: this connection only carries updates to the client. */
  unsupportedData: 1003,
  /** The client sent a frame larger than the hub reads (ws `maxPayload`). */
  tooBig: 1009,
  /** The hub is shutting down or restarting: reconnect (to another node) with lastEventID. */
  serviceRestart: 1012,
  /** The client reads slower than updates arrive (over `maxQueuedBytes`): reconnect with lastEventID. */
  tryAgainLater: 1013,
} as const;

/** Reasons are at most 123 bytes (a close frame's payload is 125 with the code). */
export const Reason = {
  noMessages: 'subscribe-only connection: clients send no messages; subscribe with query parameters',
  noPong: 'no pong received between two pings: connection presumed dead',
  slow: 'slow consumer: more than maxQueuedBytes waiting; reconnect with lastEventID',
  expired:
    'subscription expired (token exp or maxConnectionMs): reconnect with lastEventID and a valid token',
  ended: 'stream ended by the hub',
  history: 'history could not be read to the end: reconnect with lastEventID',
} as const;

/** What the sink asks of the transport that made it: the close code and reason while it shuts down. */
export interface ClosingState {
  /** Set while the hub shuts down: every stream ending then ends with it. */
  readonly shutdown: { code: number; reason: string } | null;
  /** Sockets closed by the shutdown, until they are gone (the shutdown cuts the slow ones). */
  readonly closing: Set<WebSocket>;
}

function forgetClosed(this: TaggedWs, state: ClosingState): void {
  state.closing.delete(this);
}

const kSink = Symbol('herald.wsSink');
type TaggedWs = WebSocket & { [kSink]?: WebSocketSink | undefined };
type TaggedSocket = Duplex & { [kSink]?: WebSocketSink | undefined; writableLength: number };

const OPEN = 1;

function onSocketDrain(this: TaggedSocket): void {
  this[kSink]?.owner.drained();
}

function onClose(this: TaggedWs): void {
  this[kSink]?.owner.lost();
}

function onPong(this: TaggedWs): void {
  const sink = this[kSink];
  if (sink !== undefined) sink.awaitingPong = false;
}

function onMessage(this: TaggedWs): void {
  this[kSink]?.shut(CloseCode.unsupportedData, Reason.noMessages, false);
}

function onError(this: TaggedWs): void {
  // ws has already sent the close frame its error calls for (1002, 1007, 1009); the stream ends
  // now rather than when the socket closes. Listening also keeps the error from being uncaught.
  this[kSink]?.shut(CloseCode.normal, Reason.ended, false);
}

export class WebSocketSink implements Sink {
  readonly owner: SinkOwner;
  /** True from a ping until its pong; a ping due while still true closes the connection. */
  awaitingPong = false;
  readonly #ws: TaggedWs;
  readonly #socket: TaggedSocket;
  readonly #state: ClosingState;
  readonly #subscriber: Subscriber;
  #done = false;

  constructor(ws: WebSocket, socket: Duplex, owner: SinkOwner, state: ClosingState, subscriber: Subscriber) {
    this.owner = owner;
    this.#ws = ws as TaggedWs;
    this.#socket = socket as TaggedSocket;
    this.#state = state;
    this.#subscriber = subscriber;
    this.#ws[kSink] = this;
    this.#socket[kSink] = this;
    ws.on('close', onClose);
    ws.on('pong', onPong);
    ws.on('message', onMessage);
    ws.on('error', onError);
    socket.on('drain', onSocketDrain);
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done || this.#ws.readyState !== OPEN) return false; // closing: 'close' ends the stream
    if (chunk === PING_FRAME) {
      if (this.awaitingPong) {
        this.shut(CloseCode.goingAway, Reason.noPong, true);
        return true;
      }
      this.awaitingPong = true;
    }
    if (chunk.byteLength === 0) return true;
    return this.#socket.write(chunk);
  }

  buffered(): number {
    return this.#socket.writableLength;
  }

  end(chunk: Uint8Array | null): void {
    if (this.#done) return;
    this.#done = true;
    if (chunk !== null && chunk.byteLength > 0 && this.#ws.readyState === OPEN) this.#socket.write(chunk);
    const shutdown = this.#state.shutdown;
    if (shutdown !== null) {
      // Tracked only now: in normal operation no set holds every socket.
      const ws = this.#ws;
      this.#state.closing.add(ws);
      ws.once('close', forgetClosed.bind(ws, this.#state));
      ws.close(shutdown.code, shutdown.reason);
      return;
    }
    // The reason the lifecycle ended it for (registry `end`); none when the stream itself ended.
    const why = this.#subscriber.endReason;
    if (why === 'slow') this.#ws.close(CloseCode.tryAgainLater, Reason.slow);
    else if (why === 'history') this.#ws.close(CloseCode.tryAgainLater, Reason.history);
    else if (why === 'expired' || this.#subscriber.expiresAt <= Date.now())
      this.#ws.close(CloseCode.normal, Reason.expired);
    else this.#ws.close(CloseCode.normal, Reason.ended);
  }

  destroy(): void {
    // A slow consumer: the close frame goes out if the socket still takes bytes; the connection is
    // cut at once either way, as an event stream's is.
    if (this.#done) return;
    this.#done = true;
    this.#ws.close(CloseCode.tryAgainLater, Reason.slow);
    this.#ws.terminate();
  }

  detach(): void {
    const ws = this.#ws;
    ws[kSink] = undefined;
    this.#socket[kSink] = undefined;
    ws.removeListener('close', onClose);
    ws.removeListener('pong', onPong);
    ws.removeListener('message', onMessage);
    this.#socket.removeListener('drain', onSocketDrain);
    // The error listener stays (a shared function): an error may still come during the close.
  }

  /** Closes with `code` and `reason` (cut at once when `hard`) and ends the stream now. */
  shut(code: number, reason: string, hard: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.#ws.close(code, reason);
    if (hard) this.#ws.terminate();
    this.owner.lost();
  }
}
