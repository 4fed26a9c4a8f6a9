/**
 * A set of streams that receive the same bytes: a topic, a room, "everyone". Streams leave by
 * themselves when they close.
 */
import type { SseStream, StreamHolder } from './sse-stream.js';

/**
 * @example
 * const prices = new Channel();
 * prices.add(stream);
 * prices.broadcast(encodeEvent({ event: 'price', data: '12.5' })); // encoded once, written to all
 */
export class Channel implements StreamHolder {
  readonly #streams = new Set<SseStream>();

  /** Number of streams in the channel. */
  get size(): number {
    return this.#streams.size;
  }

  /** Whether `stream` is in the channel. */
  has(stream: SseStream): boolean {
    return this.#streams.has(stream);
  }

  /** Adds an open stream (a closed one is ignored); O(1). Adding twice has no effect. */
  add(stream: SseStream): this {
    if (stream.closed || this.#streams.has(stream)) return this;
    this.#streams.add(stream);
    stream.hold(this);
    return this;
  }

  /** Removes a stream; returns whether it was there. O(1) plus the stream's channel count. */
  remove(stream: SseStream): boolean {
    if (!this.#streams.delete(stream)) return false;
    stream.unhold(this);
    return true;
  }

  /**
   * Queues the same bytes on every stream; returns how many streams took them. With a `key`, each
   * stream replaces its unsent event of that key (see {@link SseStream.write}).
   *
   * @example prices.broadcast(encodeEvent({ event: 'price', data: '12.5' }), 'EURUSD');
   */
  broadcast(chunk: Uint8Array, key?: string): number {
    let written = 0;
    for (const stream of this.#streams) if (stream.write(chunk, key)) written++;
    return written;
  }

  /** The streams (live view). */
  streams(): IterableIterator<SseStream> {
    return this.#streams.values();
  }

  /** Closes every stream in the channel. */
  closeAll(final?: Uint8Array): void {
    for (const stream of [...this.#streams]) stream.close(final);
  }

  /** @internal A member closed. */
  release(stream: SseStream): void {
    this.#streams.delete(stream);
  }
}
