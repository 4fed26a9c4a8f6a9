/**
 * A sink over a node `Writable`-like response: `http.ServerResponse` or `http2.ServerHttp2Stream`.
 *
 * Listeners are shared functions, not closures: each finds its stream through a symbol on the
 * response, as ws does, so a subscriber costs three listener slots and no new functions.
 */
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

function onClose(this: Tagged): void {
  this[kOwner]?.lost();
}

function onDrain(this: Tagged): void {
  this[kOwner]?.drained();
}

function onError(this: Tagged): void {
  // A reset HTTP/2 stream or a failed socket: the stream ends like a disconnect. Listening here also
  // keeps the error from becoming an uncaught exception.
  this[kOwner]?.lost();
}

export class NodeSink implements Sink {
  readonly #res: Tagged;

  constructor(res: NodeResponse, owner: SinkOwner) {
    const tagged = res as Tagged;
    this.#res = tagged;
    tagged[kOwner] = owner;
    tagged.on('close', onClose);
    tagged.on('drain', onDrain);
    tagged.on('error', onError);
  }

  write(chunk: Uint8Array): boolean {
    return this.#res.write(chunk);
  }

  buffered(): number {
    return this.#res.writableLength;
  }

  end(chunk: Uint8Array | null): void {
    if (this.#res.destroyed) return;
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
    // The error listener stays: an error may still come after we let go (a reset during end), and
    // with no listener it would crash the process. It is a shared function, so it holds nothing.
  }
}
