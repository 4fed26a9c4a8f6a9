/**
 * Bytes on the wire per transport, both directions, as the socket counts them (`bytesRead`,
 * `bytesWritten`): request line and headers, response head, chunked or WebSocket framing,
 * heartbeats and pings, the client's pongs and close frame, and for long polling every request and
 * answer. What the demo's comparison page divides by the updates delivered, so that the three
 * transports are compared on one basis. Off by default (`mountDemo` turns it on): it costs a Map
 * entry per subscriber and a listener per request.
 *
 * A subscriber's share of its socket runs from the end of the previous response on that socket
 * (keep-alive: a poll's request follows the answer before it) to its own end; open subscribers are
 * read while open. HTTP/1.1 only: HTTP/2 streams share one socket, whose counts say nothing of one
 * stream, so they are not metered.
 */
import type { Socket } from 'node:net';
import type { Subscriber } from '../subscribers/subscriber.js';
import type { WireFormat } from '../subscribers/wire-format.js';

/** Where a metered subscriber's share of its socket starts. */
interface Start {
  socket: Socket;
  read: number;
  written: number;
}

/** The request a subscriber came with, as far as the meter needs it. */
interface MeteredRequest {
  httpVersionMajor: number;
  socket: Socket | null;
}

export class WireMeter {
  /** Off until turned on: then every subscriber opened from now on is metered. */
  enabled = false;
  readonly #open = new Map<Subscriber, Start>();
  /** Bytes of the subscribers that ended, per transport. */
  readonly #ended: Record<WireFormat, number> = { sse: 0, ws: 0, poll: 0 };
  /** Per socket: `bytesRead` when its last response ended (what the next request's bytes start after). */
  readonly #readMark = new WeakMap<Socket, number>();

  /** Notes where the bytes of the next request on `socket` start: call when a response ended. */
  responseEnded(socket: Socket | null): void {
    if (socket !== null) this.#readMark.set(socket, socket.bytesRead);
  }

  /** Starts metering `subscriber`, which came with `req` (its request head is already read). */
  open(subscriber: Subscriber, req: MeteredRequest): void {
    const socket = req.socket;
    if (!this.enabled || socket === null || req.httpVersionMajor !== 1) return;
    this.#open.set(subscriber, {
      socket,
      read: this.#readMark.get(socket) ?? 0,
      written: socket.bytesWritten,
    });
  }

  /**
   * Ends `subscriber`'s metering. A WebSocket's socket is its own until it closes (the close
   * handshake comes after): read it then. An HTTP response's bytes are all written by now.
   */
  close(subscriber: Subscriber): void {
    const start = this.#open.get(subscriber);
    if (start === undefined) return;
    const format = subscriber.format;
    const settle = () => {
      this.#open.delete(subscriber);
      this.#ended[format] += bytesSince(start);
      this.#readMark.set(start.socket, start.socket.bytesRead);
    };
    if (format === 'ws' && !start.socket.destroyed) start.socket.once('close', settle);
    else settle();
  }

  /** Bytes per transport so far: the ended subscribers', and the open ones' up to now. */
  totals(): Record<WireFormat, number> {
    const out = { ...this.#ended };
    for (const [subscriber, start] of this.#open) out[subscriber.format] += bytesSince(start);
    return out;
  }

  /** Metered subscribers open now (a WebSocket until its socket closes). */
  get openCount(): number {
    return this.#open.size;
  }
}

function bytesSince(start: Start): number {
  return start.socket.bytesRead - start.read + (start.socket.bytesWritten - start.written);
}
